"""Merge and label rules of workers.tagging.entities, without the statistical model.

The model's output is stood in for by hand-made ``(start, end, label)`` spans (including its known mistakes)
or by ``spacy.blank("en")`` + ``EntityRuler``. Golden sentences are written for these tests, one per rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.tagging.entities import (
    ArticleText,
    find_phrase_spans,
    is_title_case,
    merge_mentions,
    name_key,
    repair_span,
    split_for_model,
    tag_articles,
)
from workers.tagging.model import ner_components

Spans = list[tuple[int, int, str]]
TagBody = Callable[..., list[dict[str, Any]]]


def sp(text: str, *pairs: tuple[str, str] | tuple[str, str, int]) -> Spans:
    """Spans for ``(surface, label[, nth occurrence])``, as the model would report them."""
    out: Spans = []
    for pair in pairs:
        surface, label = pair[0], pair[1]
        nth = pair[2] if len(pair) == 3 else 0  # type: ignore[misc]
        start = -1
        for _ in range(int(nth) + 1):
            start = text.index(surface, start + 1)
        out.append((start, start + len(surface), label))
    return out


def by_name(entities: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in entities}


# --- one entity per real thing --------------------------------------------------------------------------------


def test_surname_and_possessive_join_the_full_name_as_person(tag_body: TagBody) -> None:
    p0 = "Japanese Prime Minister Fumio Kishida met Giorgia Meloni in Rome."
    p1 = "“We agree,” Kishida said. Kishida's government and Kishida’s party backed Meloni."
    entities = by_name(
        tag_body(
            [
                (p0, sp(p0, ("Japanese", "NORP"), ("Fumio Kishida", "PERSON"), ("Giorgia Meloni", "PERSON"))),
                # The small model calls surnames ORG now and then, and sometimes keeps the "'s".
                (p1, sp(p1, ("Kishida", "ORG"), ("Kishida's", "ORG"), ("Kishida’s", "PERSON"), ("Meloni", "ORG"))),
            ]
        )
    )
    kishida = entities["Fumio Kishida"]
    assert kishida["label"] == "PERSON"
    assert kishida["forms"] == ["Fumio Kishida", "Kishida"]
    assert kishida["count"] == 4
    assert entities["Giorgia Meloni"]["forms"] == ["Giorgia Meloni", "Meloni"]
    assert entities["Giorgia Meloni"]["label"] == "PERSON"
    assert "Kishida" not in entities and "Meloni" not in entities


def test_surname_shared_by_two_full_names_stays_separate(tag_body: TagBody) -> None:
    p0 = "John Smith and Jane Smith, both lawyers, arrived together."
    p1 = "Smith said nothing. Jane Smith left early."
    entities = by_name(
        tag_body(
            [
                (p0, sp(p0, ("John Smith", "PERSON"), ("Jane Smith", "PERSON"))),
                (p1, sp(p1, ("Smith", "ORG"), ("Jane Smith", "PERSON"))),
            ]
        )
    )
    assert set(entities) == {"John Smith", "Jane Smith", "Smith"}
    assert entities["Smith"]["label"] == "PERSON"
    assert entities["Jane Smith"]["count"] == 2
    assert entities["John Smith"]["count"] == 1


def test_us_abbreviations_and_full_name_merge(tag_body: TagBody) -> None:
    p0 = "The plant is its first site in the United States, officials in the U.S. said."
    p1 = "US shares rose. The United States of America and the USA are one country."
    entities = by_name(
        tag_body(
            [
                (p0, sp(p0, ("the United States", "GPE"), ("the U.S.", "GPE"))),
                (p1, sp(p1, ("US", "GPE"), ("The United States of America", "GPE"), ("USA", "ORG"))),
            ]
        )
    )
    us = entities["United States"]
    assert us["label"] == "GPE"
    assert us["forms"] == ["U.S.", "US", "USA", "United States", "United States of America"]
    assert len(entities) == 1


def test_pronoun_us_is_not_a_country() -> None:
    assert name_key("U.S.") == name_key("US") == "us"
    text = "Give us time, said the US envoy."
    entities = merge_mentions(ArticleText(None, None, [text]), {("body", 0): sp(text, ("US", "GPE"))})
    assert [e["name"] for e in entities] == ["United States"]
    assert entities[0]["mentions"][0]["start"] == text.index("US")


def test_acronym_joins_its_long_form_in_the_same_article(tag_body: TagBody) -> None:
    p0 = "The World Health Organization warned on Monday. The WHO said cases rose."
    entities = by_name(tag_body([(p0, sp(p0, ("The World Health Organization", "ORG"), ("WHO", "ORG")))]))
    assert entities["World Health Organization"]["forms"] == ["WHO", "World Health Organization"]


def test_corporate_suffix_and_company_first_word_merge(tag_body: TagBody) -> None:
    p0 = "Nordvik Semiconductor Inc. said it would build a plant. BAE Systems PLC and BAE Systems agreed."
    p1 = "Nordvik’s shares rose 7%."
    entities = by_name(
        tag_body(
            [
                (
                    p0,
                    sp(
                        p0, ("Nordvik Semiconductor Inc.", "ORG"), ("BAE Systems PLC", "ORG"), ("BAE Systems", "ORG", 1)
                    ),
                ),
                (p1, sp(p1, ("Nordvik’s", "PERSON"))),
            ]
        )
    )
    assert entities["Nordvik Semiconductor Inc."]["forms"] == ["Nordvik", "Nordvik Semiconductor Inc."]
    assert entities["Nordvik Semiconductor Inc."]["label"] == "ORG"
    assert entities["BAE Systems PLC"]["count"] == 2


def test_public_body_does_not_swallow_its_place(tag_body: TagBody) -> None:
    title = "Bristol council approves harbour budget"
    p0 = "Bristol City Council approved the budget. Repairs to Bristol’s docks follow."
    entities = by_name(
        tag_body(
            [(p0, sp(p0, ("Bristol City Council", "ORG"), ("Bristol’s", "ORG")))],
            title=(title, sp(title, ("Bristol council", "ORG"))),
        )
    )
    assert entities["Bristol"]["label"] == "GPE"
    assert entities["Bristol City Council"]["label"] == "ORG"


# --- label repair ---------------------------------------------------------------------------------------------


def test_document_vote_decides_one_label_per_name(tag_body: TagBody) -> None:
    p0 = "Leaders of Japan met in Tokyo. Japan said so. Japan agreed."
    entities = by_name(tag_body([(p0, sp(p0, ("Japan", "GPE"), ("Japan", "ORG", 1), ("Japan", "GPE", 2)))]))
    assert entities["Japan"]["label"] == "GPE"
    assert entities["Japan"]["count"] == 3


def test_coordinated_list_relabels_the_odd_item(tag_body: TagBody) -> None:
    p0 = (
        "The joint fighter jet development involves Japan’s Mitsubishi Heavy, Britain’s BAE Systems PLC and "
        "Italy’s Leonardo."
    )
    spans = sp(
        p0,
        ("Japan", "GPE"),
        ("Mitsubishi Heavy", "ORG"),
        ("Britain", "GPE"),
        ("BAE Systems PLC", "ORG"),
        ("Italy", "GPE"),
        ("Leonardo", "GPE"),
    )
    entities = by_name(tag_body([(p0, spans)]))
    assert entities["Leonardo"]["label"] == "ORG"
    assert entities["Italy"]["label"] == "GPE"


def test_coordinated_list_adds_the_item_the_model_missed(tag_body: TagBody) -> None:
    p0 = "The deal involves Japan’s Mitsubishi Heavy, Britain’s BAE Systems PLC and Italy’s Leonardo."
    spans = sp(p0, ("Japan", "GPE"), ("Mitsubishi Heavy", "ORG"), ("Britain", "GPE"), ("BAE Systems PLC", "ORG"))
    entities = by_name(tag_body([(p0, spans)]))
    assert entities["Leonardo"]["label"] == "ORG"
    assert entities["Italy"]["label"] == "GPE"  # the possessors of the list agree too
    p1 = "Shell companies in Belgium, the Netherlands and Cyprus hid the trade."
    entities = by_name(tag_body([(p1, sp(p1, ("Belgium", "GPE"), ("the Netherlands", "GPE")))]))
    assert entities["Cyprus"]["label"] == "GPE"
    assert entities["Netherlands"]["label"] == "GPE"


def test_geographic_noun_anchors_a_list_of_places(tag_body: TagBody) -> None:
    p0 = "The warning covers Cornwall, Devon and the Pembrokeshire coast."
    entities = by_name(tag_body([(p0, sp(p0, ("Cornwall", "PERSON"), ("Devon", "PERSON")))]))
    assert entities["Cornwall"]["label"] == "GPE"
    assert entities["Devon"]["label"] == "GPE"
    assert entities["Pembrokeshire"]["label"] == "LOC"


def test_introductory_phrase_is_not_a_list_item(tag_body: TagBody) -> None:
    p0 = "In Tokyo, Kishida and Meloni shook hands."
    entities = by_name(tag_body([(p0, sp(p0, ("Tokyo", "GPE"), ("Kishida", "PERSON"), ("Meloni", "PERSON")))]))
    assert entities["Tokyo"]["label"] == "GPE"


def test_initiative_phrase_becomes_one_org() -> None:
    text = "Italy recently left China's global Belt and Road Initiative after seeing little benefit."
    assert find_phrase_spans(text) == [(text.index("Belt"), text.index(" after"), "ORG")]
    entities = merge_mentions(
        ArticleText(None, None, [text]), {("body", 0): sp(text, ("Italy", "GPE"), ("China", "GPE"), ("Belt", "PERSON"))}
    )
    names = by_name(entities)
    assert names["Belt and Road Initiative"]["label"] == "ORG"
    assert "Belt" not in names


@pytest.mark.parametrize(
    ("text", "phrase", "label"),
    [
        ("Under the Paris Agreement, emissions fall.", "Paris Agreement", "LAW"),
        ("The Inflation Reduction Act passed.", "Inflation Reduction Act", "LAW"),
        ("It joined the Trans-Pacific Partnership.", "Trans-Pacific Partnership", "ORG"),
        ("Talks on the Good Friday Agreement resumed.", "Good Friday Agreement", "LAW"),
    ],
)
def test_phrase_heads(text: str, phrase: str, label: str) -> None:
    start = text.index(phrase)
    assert find_phrase_spans(text) == [(start, start + len(phrase), label)]


def test_phrase_needs_a_modifier() -> None:
    assert find_phrase_spans("The Act was signed. This Treaty matters.") == []


def test_indo_pacific_is_a_place_not_an_org(tag_body: TagBody) -> None:
    title = "Rome seeks a greater Indo-Pacific role"
    p0 = "Tokyo welcomed a greater role in the Indo-Pacific."
    p1 = "Italy will increase its presence in the Indo-Pacific region."
    entities = by_name(
        tag_body(
            [
                (p0, sp(p0, ("Tokyo", "GPE"), ("the Indo-Pacific", "ORG"))),
                (p1, sp(p1, ("the Indo-Pacific region", "ORG"))),
            ],
            title=(title, sp(title, ("Rome", "GPE"), ("Indo-Pacific", "ORG"))),
        )
    )
    assert entities["Indo-Pacific"]["label"] == "LOC"
    assert entities["Indo-Pacific"]["forms"] == ["Indo-Pacific"]
    assert entities["Indo-Pacific"]["count"] == 3


@pytest.mark.parametrize("zone", ["GMT", "UTC", "ET", "BST", "CEST", "UTC+2"])
def test_timezones_are_not_organisations(zone: str) -> None:
    text = f"Monday 05 February 2024 13:07 {zone}"
    start = text.index(zone)
    assert repair_span(text, (start, start + len(zone), "ORG")) is None


def test_span_repair_keeps_offsets_exact() -> None:
    text = "Officials said Mr. Trump’s lawyers met the Asia-Pacific region envoys."
    (start, end, label), _ = repair_span(text, (text.index("Mr."), text.index(" lawyers"), "PERSON")) or ((0, 0, ""), 0)
    assert (text[start:end], label) == ("Trump", "PERSON")
    (start, end, label), _ = repair_span(text, (text.index("the Asia"), text.index(" envoys"), "ORG")) or (
        (0, 0, ""),
        0,
    )
    assert (text[start:end], label) == ("Asia-Pacific", "LOC")


def test_name_particles_are_kept() -> None:
    text = "They admired Charles de Gaulle."
    start = text.index("Charles")
    assert repair_span(text, (start, len(text) - 1, "PERSON")) == ((start, len(text) - 1, "PERSON"), 1.0)


# --- propagation, headlines, salience -------------------------------------------------------------------------


def test_surname_the_model_missed_is_propagated(tag_body: TagBody) -> None:
    p0 = "Opposition leader Owen Pritchard said the figures did not add up."
    p1 = "Pritchard’s amendment was defeated. Pritchard Street stays closed."
    entities = by_name(tag_body([(p0, sp(p0, ("Owen Pritchard", "PERSON"))), (p1, [])]))
    pritchard = entities["Owen Pritchard"]
    assert pritchard["forms"] == ["Owen Pritchard", "Pritchard"]
    assert [(m["paragraph"], m["start"]) for m in pritchard["mentions"]] == [(0, p0.index("Owen")), (1, 0)]


def test_title_case_headline_keeps_known_names_only(tag_body: TagBody) -> None:
    title = "Japan Will Step Up Ties With Italy As Rome Seeks A Greater Role"
    assert is_title_case(title)
    assert not is_title_case("Japan will step up ties with Italy as Rome seeks a greater role")
    p0 = "Japan and Italy will bolster their cooperation, the leaders said in Rome on Monday."
    entities = by_name(
        tag_body(
            [(p0, sp(p0, ("Japan", "GPE"), ("Italy", "GPE"), ("Rome", "GPE")))],
            title=(title, sp(title, ("Japan", "GPE"), ("Italy", "GPE"), ("Rome Seeks", "ORG"))),
        )
    )
    assert "Rome Seeks" not in entities
    assert [m["section"] for m in entities["Rome"]["mentions"]] == ["title", "body"]


def test_entities_are_found_in_title_and_standfirst_and_sorted_by_salience(tag_body: TagBody) -> None:
    title = "Japan steps up ties with Italy"
    standfirst = "The leaders of Japan and Italy will bolster cooperation with Britain"
    p0 = "Japan and Italy said Monday they will work with Britain."
    p1 = "Later, China responded."
    entities = tag_body(
        [
            (p0, sp(p0, ("Japan", "GPE"), ("Italy", "GPE"), ("Monday", "DATE"), ("Britain", "GPE"))),
            (p1, sp(p1, ("China", "GPE"))),
        ],
        title=(title, sp(title, ("Japan", "GPE"), ("Italy", "GPE"))),
        standfirst=(standfirst, sp(standfirst, ("Japan", "GPE"), ("Italy", "GPE"), ("Britain", "GPE"))),
    )
    names = [e["name"] for e in entities]
    assert names[:2] == ["Italy", "Japan"]  # equal salience: by name
    assert names.index("Britain") < names.index("China")
    saliences = [e["salience"] for e in entities]
    assert saliences == sorted(saliences, reverse=True)
    assert {m["section"] for m in by_name(entities)["Japan"]["mentions"]} == {"title", "standfirst", "body"}


# --- long texts, robustness, model loading ---------------------------------------------------------------------


def test_split_for_model_prefers_paragraph_then_sentence_boundaries() -> None:
    text = "First sentence here. Second one.\n\nNext paragraph is here. And more words follow."
    pieces = split_for_model(text, 40)
    assert "".join(p for _, p in pieces) == text
    assert all(len(p) <= 40 for _, p in pieces)
    assert pieces[1][1].startswith("Next paragraph")
    assert all(text[o : o + len(p)] == p for o, p in pieces)


@given(st.text(alphabet=st.sampled_from("ab .\n"), min_size=0, max_size=300), st.integers(min_value=1, max_value=50))
def test_split_for_model_always_reassembles(text: str, limit: int) -> None:
    pieces = split_for_model(text, limit)
    assert "".join(p for _, p in pieces) == text
    assert all(len(p) <= limit for _, p in pieces)


def test_texts_over_max_length_are_split_not_rejected(make_ruler_nlp: Callable[..., Any]) -> None:
    nlp = make_ruler_nlp([{"label": "GPE", "pattern": "Japan"}, {"label": "PERSON", "pattern": "Fumio Kishida"}])
    paragraph = " ".join(["Japan and its leader Fumio Kishida spoke."] * 30)
    nlp.max_length = 200
    [entities] = tag_articles(nlp, [ArticleText("Japan", None, [paragraph])], batch_size=4)
    names = by_name(entities)
    assert names["Japan"]["count"] == 31
    assert names["Fumio Kishida"]["count"] == 30
    for m in names["Fumio Kishida"]["mentions"]:
        assert paragraph[m["start"] : m["end"]] == "Fumio Kishida"


def test_tag_articles_keeps_article_order_and_handles_empty(make_ruler_nlp: Callable[..., Any]) -> None:
    nlp = make_ruler_nlp([{"label": "GPE", "pattern": "Japan"}, {"label": "GPE", "pattern": "Italy"}])
    articles = [ArticleText(None, None, []), ArticleText("Italy", None, ["", "Japan."]), ArticleText(None, "Japan", [])]
    result = tag_articles(nlp, articles)
    assert [[e["name"] for e in r] for r in result] == [[], ["Italy", "Japan"], ["Japan"]]
    assert result[1][1]["mentions"] == [{"section": "body", "paragraph": 1, "start": 0, "end": 5, "text": "Japan"}]
    assert tag_articles(nlp, []) == []


_LABELS = ["PERSON", "ORG", "GPE", "LOC", "NORP", "DATE", "CARDINAL", "LAW"]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_spans_give_exact_offsets(data: st.DataObject, check_offsets: Callable[..., None]) -> None:
    words = st.sampled_from(
        ["Japan", "the", "Kishida's", "Mr", "U.S.", "and", ",", "GMT", "region", "Act", "’s", "Belt"]
    )
    text = " ".join(data.draw(st.lists(words, min_size=1, max_size=25)))
    bounds = sorted(set(data.draw(st.lists(st.integers(0, len(text)), max_size=8))))
    spans = [
        (a, b, data.draw(st.sampled_from(_LABELS))) for a, b in zip(bounds[::2], bounds[1::2], strict=False) if a < b
    ]
    article = ArticleText(text, None, [text])
    check_offsets(article, merge_mentions(article, {("title", 0): spans, ("body", 0): spans}))


def test_ner_components_follow_listeners() -> None:
    own_tok2vec: dict[str, Any] = {
        "nlp": {"pipeline": ["tok2vec", "tagger", "parser", "ner"]},
        "components": {
            "tok2vec": {"factory": "tok2vec"},
            "tagger": {"factory": "tagger", "model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1"}}},
            "parser": {"factory": "parser"},
            "ner": {"factory": "ner", "model": {"tok2vec": {"@architectures": "spacy.Tok2Vec.v2"}}},
        },
    }
    assert ner_components(own_tok2vec) == {"ner"}
    listening = {
        "nlp": {"pipeline": ["transformer", "tagger", "ner", "entity_ruler"]},
        "components": {
            "transformer": {"factory": "transformer"},
            "tagger": {"factory": "tagger"},
            "ner": {
                "factory": "ner",
                "model": {"tok2vec": {"@architectures": "spacy-transformers.TransformerListener.v1", "upstream": "*"}},
            },
            "entity_ruler": {"factory": "entity_ruler"},
        },
    }
    assert ner_components(listening) == {"transformer", "ner", "entity_ruler"}
