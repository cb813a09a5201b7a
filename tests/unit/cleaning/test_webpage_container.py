"""HTML main-container choice and DOM roles (hand-written synthetic pages), and refitting one track's
weights without touching the other's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workers.cleaning import extract_article
from workers.cleaning.training import write_weights
from workers.cleaning.webpage import DOM_FEATURE_NAMES, analyse_html, best_container_lines, parse_html, render_lines

STORY = [
    "The city council voted on Tuesday to close the old bus depot, which has stood empty since 2019.",
    "Residents had asked for years that the site, close to the river, be turned into a park with a playground.",
    "The mayor, speaking after the vote, said the demolition would start in the spring and take about six months.",
    "Opponents said the land should instead be sold to a developer, and the money spent on repairing the roads.",
    "A consultation on the design of the park, including the playground and a small café, will open next month.",
    "The council expects the park, which will cost about two million euros, to open in the summer of 2026.",
]
TEASERS = [
    "Harbour ferry to run every half hour from May, operator says, after years of complaints about delays",
    "School meals to include more vegetables, the education board says, after a survey of 2,000 parents",
    "Library opening hours extended on weekends, with more staff, new reading rooms and a children's corner",
    "Cycle lanes planned for the ring road, the transport office says, with work starting next autumn",
    "New swimming pool to open in the east of the city, with a sauna, a gym and lessons for beginners",
    "Tram fares to rise by ten cents in January, the operator says, the first increase in five years",
    "Market square to be closed to cars on Saturdays, the council says, after a trial in the summer",
    "Museum of local history to reopen after a two-year renovation, with a new wing and a rooftop café",
]


def _lines_in_container(html: str) -> list[str]:
    root = parse_html(html)
    assert root is not None
    rendered = render_lines(root)
    inside, _ = best_container_lines(rendered)
    return [line for line, flag in zip(rendered.lines, inside, strict=True) if flag]


def test_a_long_teaser_list_does_not_win_over_the_article_paragraphs() -> None:
    # Each teaser: a linked headline and a line of text, as on a "latest news" rail.
    teasers = "".join(f'<li><a href="/news/{k}">{t.split(",")[0]}</a>,{t.split(",", 1)[1]}</li>'
                      for k, t in enumerate(TEASERS))
    story = "".join(f"<p>{p}</p>" for p in STORY)
    html = f"""<html><body><div class="top"><ul>{teasers}</ul></div>
<div class="story"><h1>Council votes to close the old bus depot</h1>{story}</div></body></html>"""
    inside = _lines_in_container(html)
    assert set(STORY) <= set(inside)
    assert not any(line.startswith(t.split(",")[0]) for line in inside for t in TEASERS)


def test_a_story_split_into_repeated_chunks_is_one_container() -> None:
    chunks = "".join(
        f'<div class="story-chunk"><div class="inner"><p>{STORY[k]}</p><p>{STORY[k + 1]}</p></div></div>'
        for k in range(0, len(STORY), 2)
    )
    html = f"""<html><body><div class="page"><section class="story">{chunks}</section>
<div class="promo"><p>Subscribe to our newsletter for a daily digest of the most important local news.</p></div>
</div></body></html>"""
    assert _lines_in_container(html) == STORY


def test_photo_captions_and_credits_are_marked_as_captions() -> None:
    story = "".join(f"<p>{p}</p>" for p in STORY[:3])
    html = f"""<html><body class="single-post has-image"><article><div class="article-body">{story}
<div class="wp-caption"><img src="depot.jpg"><p class="wp-caption-text">The bus depot, empty since 2019,
seen from the river bank on Tuesday morning</p></div>
<div class="photo-credit">Photo: City Archive</div>
<figure><img src="park.jpg"><figcaption>A drawing of the planned park</figcaption></figure>
<p>{STORY[3]}</p><p class="sr-only">Advertisement</p></div></article></body></html>"""
    analysed = analyse_html(html)
    assert analysed is not None
    lines = analysed.page.lines
    column = analysed.page.features.shape[1] - len(DOM_FEATURE_NAMES)
    caption = analysed.page.features[:, column + DOM_FEATURE_NAMES.index("in_caption_class")]
    hidden = analysed.page.features[:, column + DOM_FEATURE_NAMES.index("in_hidden_class")]
    marked = {line for line, flag in zip(lines, caption, strict=True) if flag}
    assert marked == {
        "The bus depot, empty since 2019, seen from the river bank on Tuesday morning",
        "Photo: City Archive",
        "A drawing of the planned park",
    }
    # Template classes on <body> ("has-image") mark nothing; the story paragraphs are no captions.
    assert not any(flag for line, flag in zip(lines, caption, strict=True) if line in STORY)
    assert [line for line, flag in zip(lines, hidden, strict=True) if flag] == ["Advertisement"]


def test_captions_are_left_out_of_the_body() -> None:
    story = "".join(f"<p>{p}</p>" for p in STORY)
    html = f"""<html><body><article><h1>Council votes to close the old bus depot</h1>
<div class="article-body">{story[:len(story) // 2]}<figure><img src="depot.jpg">
<figcaption>The empty bus depot seen from the river bank (Photo: City Archive)</figcaption></figure>
{story[len(story) // 2:]}</div></article></body></html>"""
    result = extract_article(html, "text/html")
    assert "\n".join(result.body).count("Photo: City Archive") == 0
    assert sum(1 for p in STORY if p in result.body) >= len(STORY) - 1


def test_refitting_one_track_keeps_the_other_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "line_weights.py"
    text = (np.array([0.5, -1.25]), np.array([0.25, 2.0, -3.0]), 0.45, 0.9)
    html = (np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0]), 0.35, 0.95)
    write_weights(path, {"text": text, "html": html})
    before = path.read_text(encoding="utf-8")
    text_block = before[before.index("\nBODY_THRESHOLD"):]
    write_weights(path, {"html": (np.array([9.0, 8.0]), np.array([7.0, 6.0, 5.0]), 0.5, 0.97)})
    after = path.read_text(encoding="utf-8")
    assert after[after.index("\nBODY_THRESHOLD"):] == text_block
    assert "text: page-grouped cross-validated token F1 0.9000 when generated." in after
    assert "html: page-grouped cross-validated token F1 0.9700 when generated." in after
    assert "HTML_BODY_THRESHOLD = 0.5\n" in after
    namespace: dict[str, object] = {}
    exec(compile(after, str(path), "exec"), namespace)  # noqa: S102 - our own generated module
    assert np.array_equal(namespace["HTML_LAYER1_WEIGHTS"], np.array([9.0, 8.0]))  # type: ignore[arg-type]
    assert np.array_equal(namespace["LAYER2_WEIGHTS"], np.array([0.25, 2.0, -3.0]))  # type: ignore[arg-type]
