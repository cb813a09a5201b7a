"""HTML pages: metadata from JSON-LD / OpenGraph / meta tags, and body extraction (hand-written pages)."""

from __future__ import annotations

from datetime import UTC, datetime

from workers.cleaning import extract_article
from workers.cleaning.webpage import parse_html, read_page_metadata

PARAGRAPHS = [
    "The regional parliament passed a law on Thursday that bans new oil heating systems from 2026 onwards.",
    "Energy minister Lena Vogt said households would receive grants of up to 8,000 euros to switch to heat pumps.",
    "“This is the most important climate decision of the decade,” Vogt told reporters after the vote.",
    "The opposition said the grants were too small and the deadline too tight for rural homeowners.",
    "Installers warned that waiting times for heat pumps could grow to a year if demand rises as expected.",
]

JSON_LD = """{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Parliament bans new oil heating from 2026",
 "datePublished": "2024-03-07T16:30:00+01:00",
 "author": [{"@type": "Person", "name": "Jonas Weber"}, {"@type": "Person", "name": "Mia Klein"}],
 "publisher": {"@type": "Organization", "name": "Nordkurier Daily"}, "inLanguage": "en"}"""


def _page(json_ld: str = JSON_LD, extra_meta: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"""<!DOCTYPE html><html lang="en"><head><title>Oil heating ban | Nordkurier Daily</title>
<script type="application/ld+json">{json_ld}</script>{extra_meta}</head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/politics">Politics</a></li>
<li><a href="/sport">Sport</a></li></ul></nav></header>
<main><article><h1>Parliament bans new oil heating from 2026</h1>
<div class="byline">By Jonas Weber and Mia Klein</div><time datetime="2024-03-07T16:30:00+01:00">7 March 2024</time>
<div class="article-body">{body}</div>
<aside class="related"><h2>Related stories</h2><ul><li><a href="/a">Heat pump sales double</a></li>
<li><a href="/b">Gas prices fall again</a></li></ul></aside></article></main>
<footer><p>© 2024 Nordkurier Daily. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""


def test_json_ld_metadata_is_used() -> None:
    result = extract_article(_page(), "text/html")
    assert result.title == "Parliament bans new oil heating from 2026"
    assert result.authors == ["Jonas Weber", "Mia Klein"]
    assert result.published_at == datetime(2024, 3, 7, 15, 30, tzinfo=UTC)
    assert result.publisher == "Nordkurier Daily"
    assert result.language == "en"


def test_body_is_the_article_paragraphs_only() -> None:
    result = extract_article(_page(), "text/html")
    assert result.body == PARAGRAPHS
    assert result.flags == []


def test_opengraph_and_meta_tags_without_json_ld() -> None:
    meta = """<meta property="og:title" content="Oil heating banned">
<meta property="og:site_name" content="Nordkurier">
<meta name="author" content="Jonas Weber">
<meta property="article:published_time" content="2024-03-07T15:30:00Z">
<meta name="description" content="A new law bans oil heating.">"""
    root = parse_html(_page(json_ld="{}", extra_meta=meta))
    assert root is not None
    found = read_page_metadata(root)
    assert found.title == "Oil heating banned"
    assert found.publisher == "Nordkurier"
    assert found.authors == ["Jonas Weber"]
    assert found.published_at == datetime(2024, 3, 7, 15, 30, tzinfo=UTC)
    assert found.description == "A new law bans oil heating."


def test_broken_json_ld_is_ignored() -> None:
    result = extract_article(_page(json_ld="{not json"), "text/html")
    assert result.body == PARAGRAPHS
