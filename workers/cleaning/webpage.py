"""HTML article extraction: page metadata first, then the same line classifier as plain text with
DOM context (navigation/footer/aside/comment containers, link density, paragraph tags, article
containers, JSON-LD articleBody agreement) as extra features.

Parsing is lxml's HTML parser with no network, no huge-tree mode and no entity resolution; the DOM
is walked iteratively (``iterwalk``), so neither deep nesting nor large pages recurse or blow up.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from lxml import etree
from lxml import html as lxml_html

from workers.cleaning.dates import parse_date_text, parse_iso_datetime
from workers.cleaning.linemodel import FloatArray, _DateLines, line_features, score_lines
from workers.cleaning.pagetext import page_text
from workers.cleaning.plaintext import MAX_LINES, PageLines, _find_header, _is_cjk_text, appeal_block_indices

if TYPE_CHECKING:
    from workers.cleaning.extract import Extraction

__all__ = ["DOM_FEATURE_NAMES", "PageMetadata", "analyse_html", "extract_html_article", "read_page_metadata"]

logger = logging.getLogger(__name__)

_MAX_ELEMENTS = 400_000
_MAX_LINE_CHARS = 100_000
_SKIP_TAGS = frozenset({
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "canvas",
    "audio", "video", "map", "head", "title", "select", "option", "button", "input", "textarea",
})
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul", "html", "center", "caption", "menu", "legend",
})
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SPACE_RE = re.compile(r"\s+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_NEG_CLASS_RE = re.compile(
    r"nav|menu|footer|header|masthead|breadcrumb|sidebar|widget|aside|banner|promo|newsletter|subscribe|"
    r"signup|social|share|sharing|related|recommend|more-?stories|outbrain|taboola|sponsor|advert|\bads?\b|"
    r"-ad-|cookie|consent|modal|popup|paywall|login|comment|disqus|reply|rating|tags?\b|byline|author|meta|"
    r"caption|credit|copyright|legal|toolbar|pagination|trending|popular|most-?read|teaser|card|list",
    re.IGNORECASE,
)
_COMMENT_CLASS_RE = re.compile(r"comment|disqus|reply|respond|discussion", re.IGNORECASE)
_RELATED_CLASS_RE = re.compile(r"related|recommend|more-?stories|outbrain|taboola|trending|popular|most-?read|"
                               r"teaser|card|sidebar|widget", re.IGNORECASE)
_POS_CLASS_RE = re.compile(
    r"article[-_]?body|articlebody|story[-_]?body|entry[-_]?content|post[-_]?content|post[-_]?body|"
    r"article[-_]?content|article[-_]?text|story[-_]?content|main[-_]?content|content[-_]?body|body[-_]?text|"
    r"rich[-_]?text|prose|paywall-?content|article__body|c-entry-content|td-post-content",
    re.IGNORECASE,
)
_NEG_ROLE = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "menu", "dialog"})
_CAPTION_CLASS_RE = re.compile(
    r"caption|credit|(?:^|\s)(?:photo|image|img|picture|figure|media)(?:[-_]+(?:text|desc|description|info|source))?"
    r"(?=\s|$)",
    re.IGNORECASE,
)
_HIDDEN_CLASS_RE = re.compile(
    r"(?:^|\s)(?:hide|hidden|is-hidden|d-none|invisible|sr-only|visually-?hidden|screen-reader-text|offscreen|"
    r"u-hidden)(?=\s|$)",
    re.IGNORECASE,
)
# Page-level wrappers: their classes describe the page template, not the role of a block inside it.
_WRAPPER_TAGS = frozenset({"html", "body", "article", "main"})

DOM_FEATURE_NAMES: tuple[str, ...] = (
    "in_p", "in_li", "in_heading", "in_h1", "in_a_ratio", "in_nav", "in_footer", "in_header_tag", "in_aside",
    "in_form", "in_neg_class", "in_comment_class", "in_related_class", "in_pos_class", "in_article_tag",
    "in_main_tag", "in_figure", "in_blockquote", "in_table", "in_ld_body", "page_has_ld_body",
    "in_time", "pos_container_on_page", "in_best_container", "owner_vote_share",
    "in_caption_class", "in_hidden_class", "container_link_density", "outer_link_density",
)
_N_DOM = len(DOM_FEATURE_NAMES)

# Context bits carried down the tree.
_P, _LI, _HEAD, _H1, _A, _NAV, _FOOT, _HDR, _ASIDE, _FORM, _NEG, _COMM, _REL, _POS, _ART, _MAIN, _FIG, _BQ, _TAB, \
    _TIME, _CAPT, _HID = (1 << k for k in range(22))


@dataclass(slots=True)
class PageMetadata:
    """What a page declares about itself (JSON-LD, OpenGraph, meta tags, <html lang>)."""

    title: str | None = None
    description: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    publisher: str | None = None
    language: str | None = None
    article_body: str | None = None


@dataclass(slots=True)
class HtmlPage:
    """Rendered lines of an HTML page with their features (text + DOM) and the page metadata."""

    page: PageLines
    metadata: PageMetadata
    h1_index: int | None


def _clean(text: str | None) -> str:
    return _SPACE_RE.sub(" ", text or "").strip()


def parse_html(content: str) -> etree._Element | None:
    """Parse HTML safely (no network, no huge trees, no entity expansion); None when unparseable."""
    parser = lxml_html.HTMLParser(
        remove_comments=True, remove_pis=True, no_network=True, huge_tree=False, recover=True,
        remove_blank_text=False, compact=True, default_doctype=False, encoding="utf-8",
    )
    try:
        # Encoding declarations are meaningless (and rejected by lxml) in an already-decoded str.
        root = lxml_html.document_fromstring(content.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    return root


def _json_ld_objects(root: etree._Element) -> Iterator[dict[str, Any]]:
    for script in root.iterfind(".//script[@type='application/ld+json']"):
        raw = script.text or ""
        if not raw.strip() or len(raw) > 2_000_000:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        stack: list[Any] = [data]
        seen = 0
        while stack and seen < 200:
            item = stack.pop()
            seen += 1
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if "@graph" in item:
                    stack.append(item["@graph"])
                yield item


def _names(value: Any) -> list[str]:
    out: list[str] = []
    items = value if isinstance(value, list) else [value]
    for item in items[:10]:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str):
            cleaned = _clean(name)
            if cleaned and cleaned not in out and len(cleaned) <= 80 and not cleaned.startswith("http"):
                out.append(cleaned)
    return out


_ARTICLE_TYPES = re.compile(r"Article|BlogPosting|Report|NewsArticle|WebPage|Posting", re.IGNORECASE)


def read_page_metadata(root: etree._Element) -> PageMetadata:
    """Title, description, authors, date, publisher, language and articleBody the page declares."""
    meta = PageMetadata()
    for obj in _json_ld_objects(root):
        kind = obj.get("@type")
        kinds = " ".join(k for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str))
        if not _ARTICLE_TYPES.search(kinds):
            continue
        is_article = "Article" in kinds or "Posting" in kinds or "Report" in kinds
        if isinstance(obj.get("headline"), str) and (is_article or meta.title is None):
            meta.title = _clean(obj["headline"])
        if not meta.authors and obj.get("author"):
            meta.authors = _names(obj["author"])
        if meta.published_at is None and isinstance(obj.get("datePublished"), str):
            meta.published_at = parse_iso_datetime(obj["datePublished"])
        if meta.publisher is None and obj.get("publisher"):
            names = _names(obj["publisher"])
            meta.publisher = names[0] if names else None
        if isinstance(obj.get("articleBody"), str) and len(obj["articleBody"]) > len(meta.article_body or ""):
            meta.article_body = obj["articleBody"]
        if meta.description is None and isinstance(obj.get("description"), str) and is_article:
            meta.description = _clean(obj["description"])
        if meta.language is None and isinstance(obj.get("inLanguage"), str):
            meta.language = obj["inLanguage"][:2].lower() or None
    metas: dict[str, str] = {}
    for tag in root.iterfind(".//meta"):
        key = (tag.get("property") or tag.get("name") or tag.get("itemprop") or "").strip().lower()
        value = tag.get("content")
        if key and value and key not in metas:
            metas[key] = value
    meta.title = meta.title or _clean(metas.get("og:title") or metas.get("twitter:title")) or None
    meta.description = meta.description or _clean(metas.get("og:description") or metas.get("description")) or None
    if not meta.authors:
        author = metas.get("author") or metas.get("article:author") or metas.get("parsely-author") \
            or metas.get("sailthru.author") or metas.get("dc.creator")
        if author and not author.startswith("http"):
            meta.authors = [a for a in (_clean(p) for p in re.split(r",|\band\b|;", author)) if a][:10]
    if meta.published_at is None:
        for key in ("article:published_time", "og:article:published_time", "datepublished", "pubdate",
                    "publishdate", "date", "dc.date", "dc.date.issued", "sailthru.date", "parsely-pub-date",
                    "article.published", "publish-date", "citation_publication_date"):
            if key in metas:
                meta.published_at = parse_iso_datetime(metas[key])
                if meta.published_at is not None:
                    break
    if meta.published_at is None:
        for node in root.iterfind(".//time[@datetime]"):
            meta.published_at = parse_iso_datetime(node.get("datetime") or "")
            if meta.published_at is not None:
                break
    meta.publisher = meta.publisher or _clean(metas.get("og:site_name")) or None
    if meta.language is None:
        lang = (root.get("lang") or root.get("xml:lang") or metas.get("og:locale") or "").strip()
        meta.language = lang[:2].lower() if len(lang) >= 2 and lang[:2].isalpha() else None
    if meta.title is None:
        title = root.find(".//title")
        meta.title = _clean(title.text_content()) if title is not None else None
        meta.title = meta.title or None
    return meta


def _name_bits(classes: str, ident: str, wrapper: bool) -> int:
    """Context bits an element's class and id give. Pages repeat the same names, so short ones are
    cached (long ones are not: the cache must not hold on to a hostile page's megabyte attributes)."""
    if len(classes) + len(ident) <= 200:
        return _cached_name_bits(classes, ident, wrapper)
    return _compute_name_bits(classes, ident, wrapper)


def _compute_name_bits(classes: str, ident: str, wrapper: bool) -> int:
    bits = 0
    names = classes + " " + ident
    if _POS_CLASS_RE.search(names):
        bits |= _POS
    elif not wrapper and _NEG_CLASS_RE.search(names):
        bits |= _NEG
        if _COMMENT_CLASS_RE.search(names):
            bits |= _COMM
        if _RELATED_CLASS_RE.search(names):
            bits |= _REL
    if classes and not wrapper:
        if _CAPTION_CLASS_RE.search(classes):
            bits |= _CAPT
        if _HIDDEN_CLASS_RE.search(classes):
            bits |= _HID
    return bits


_cached_name_bits = lru_cache(maxsize=8192)(_compute_name_bits)


def _own_bits(element: etree._Element, tag: str) -> int:
    bits = 0
    if tag == "p":
        bits |= _P
    elif tag in ("li", "dd", "dt"):
        bits |= _LI
    elif tag in _HEADING_TAGS:
        bits |= _HEAD | (_H1 if tag == "h1" else 0)
    elif tag == "a":
        bits |= _A
    elif tag == "nav":
        bits |= _NAV
    elif tag == "footer":
        bits |= _FOOT
    elif tag == "header":
        bits |= _HDR
    elif tag == "aside":
        bits |= _ASIDE
    elif tag == "form":
        bits |= _FORM
    elif tag == "article":
        bits |= _ART
    elif tag == "main":
        bits |= _MAIN
    elif tag in ("figure", "figcaption"):
        bits |= _FIG
    elif tag == "blockquote":
        bits |= _BQ
    elif tag in ("table", "td", "th"):
        bits |= _TAB
    elif tag == "time":
        bits |= _TIME
    if tag == "figcaption":
        bits |= _CAPT
    classes, ident = element.get("class"), element.get("id")
    if classes or ident:
        bits |= _name_bits(classes or "", ident or "", tag in _WRAPPER_TAGS)
    if element.get("itemprop") == "articleBody":
        bits |= _POS
    if element.get("aria-hidden") == "true":
        bits |= _HID
    role = element.get("role")
    if role and role.lower() in _NEG_ROLE:
        bits |= _NAV
    return bits


@dataclass(slots=True)
class _LineBuilder:
    lines: list[str] = field(default_factory=list)
    owners: list[etree._Element | None] = field(default_factory=list)
    owner: etree._Element | None = None
    bits: list[int] = field(default_factory=list)
    link_ratio: list[float] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    part_bits: int = 0
    chars: int = 0
    link_chars: int = 0

    def add(self, text: str | None, bits: int) -> None:
        if not text or self.chars > _MAX_LINE_CHARS:
            return
        self.parts.append(text)
        if not text.isspace():
            self.part_bits |= bits
            size = len(text)
            self.chars += size
            if bits & _A:
                self.link_chars += size

    def flush(self) -> None:
        if self.parts:
            line = _clean(_CONTROL_RE.sub("", "".join(self.parts)))
            if line:
                self.lines.append(line)
                self.owners.append(self.owner)
                self.bits.append(self.part_bits)
                self.link_ratio.append(self.link_chars / self.chars if self.chars else 0.0)
        self.parts = []
        self.part_bits = 0
        self.chars = 0
        self.link_chars = 0


@dataclass(slots=True)
class RenderedPage:
    """Visible lines of a page with, per line, its block element, context bits and link ratio."""

    lines: list[str]
    owners: list[etree._Element | None]
    bits: list[int]
    link_ratio: list[float]


def render_lines(root: etree._Element) -> RenderedPage:
    """Visible text of the page, one block per line, with context bits and link ratio per line."""
    body = root.find("body")
    start = body if body is not None else root
    out = _LineBuilder()
    stack: list[int] = [0]
    blocks: list[etree._Element] = [start]
    out.owner = start
    walker = etree.iterwalk(start, events=("start", "end"))
    seen = 0
    for event, element in walker:
        tag = element.tag
        if not isinstance(tag, str):
            # Comments/processing instructions: only their tail is text.
            if event == "end":
                out.add(element.tail, stack[-1])
            continue
        tag = tag.lower()
        if event == "start":
            seen += 1
            if seen > _MAX_ELEMENTS or len(out.lines) >= MAX_LINES:
                break
            if tag in _SKIP_TAGS or element.get("hidden") is not None or (
                    "display:none" in (element.get("style") or "").replace(" ", "")):
                walker.skip_subtree()
                stack.append(-1)
                continue
            if tag in _BLOCK_TAGS:
                out.flush()
                blocks.append(element)
                out.owner = element
            bits = stack[-1] | _own_bits(element, tag)
            stack.append(bits)
            out.add(element.text, bits)
        else:
            bits = stack.pop()
            if bits >= 0 and tag in _BLOCK_TAGS:
                out.flush()
                if len(blocks) > 1:
                    blocks.pop()
                out.owner = blocks[-1]
            if element is not start:
                out.add(element.tail, stack[-1] if stack else 0)
    out.flush()
    return RenderedPage(out.lines, out.owners, out.bits, out.link_ratio)


_LI_VOTE = 0.5
"""List items vote half: long <li> runs are more often teaser lists than article text."""
_SIBLING_SHARE = 0.2
"""Siblings of the best container (and repeated chunks beside its parent) scoring this share join it."""


def _signature(element: etree._Element) -> tuple[Any, str | None]:
    """Tag and class: how repeated chunks of one layout are recognised."""
    return element.tag, element.get("class")


def best_container_lines(rendered: RenderedPage) -> tuple[list[bool], list[float]]:
    """Readability-style main container: paragraphs vote for their parent (and half for the
    grandparent) by length and commas (list items half); each container's score is discounted by the
    link density of the lines it holds. The best one is the article, together with its siblings that
    score at least a fifth as much and, for articles split into consecutive chunks, the repeats (same
    tag and class) of its parent beside it. Returns per line: inside the article container, and the
    owner's vote share."""
    scores: dict[etree._Element, float] = {}
    chars: dict[etree._Element, float] = {}
    linked: dict[etree._Element, float] = {}
    for line, owner, ratio in zip(rendered.lines, rendered.owners, rendered.link_ratio, strict=True):
        if owner is None:
            continue
        parent = owner.getparent() if owner.tag in ("p", "li", "h2", "h3", "blockquote", "br") else owner
        if parent is None:
            continue
        grand = parent.getparent()
        size = float(len(line))
        for element in (parent, grand):
            if element is not None:
                chars[element] = chars.get(element, 0.0) + size
                linked[element] = linked.get(element, 0.0) + size * ratio
        if len(line) < 25 or ratio > 0.5:
            continue
        vote = 1.0 + line.count(",") + line.count("，") + min(len(line) / 100.0, 3.0)
        if owner.tag == "li":
            vote *= _LI_VOTE
        scores[parent] = scores.get(parent, 0.0) + vote
        if grand is not None:
            scores[grand] = scores.get(grand, 0.0) + vote / 2
    n = len(rendered.lines)
    if not scores:
        return [False] * n, [0.0] * n
    for element in scores:
        scores[element] *= 1.0 - linked[element] / max(chars[element], 1.0)
    best = max(scores, key=scores.__getitem__)
    total = sum(scores.values()) or 1.0
    roots = [best]
    parent = best.getparent()
    if parent is not None:
        floor = scores[best] * _SIBLING_SHARE
        roots.extend(s for s in parent if s is not best and scores.get(s, 0.0) >= floor)
        # Chunked articles: the best container's parent repeated (same tag and class) beside it.
        grand = parent.getparent()
        if grand is not None:
            signature = _signature(parent)
            floor = scores.get(parent, 0.0) * _SIBLING_SHARE
            roots.extend(s for s in grand if s is not parent and _signature(s) == signature
                         and scores.get(s, 0.0) > floor)
    inside: set[etree._Element] = set()
    for root in roots:
        for element in root.iter():
            if len(inside) > _MAX_ELEMENTS:
                break
            inside.add(element)
    share = [scores.get(o, 0.0) / total if o is not None else 0.0 for o in rendered.owners]
    return [o in inside for o in rendered.owners], share


def _container_groups(rendered: RenderedPage) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Group ids per line: lines sharing a container, and lines sharing the container's parent."""
    ids: dict[etree._Element | None, int] = {}
    parents: list[int] = []
    grands: list[int] = []
    for owner in rendered.owners:
        container = owner.getparent() if owner is not None and owner.tag in ("p", "li", "br", "h2", "h3") else owner
        grand = container.getparent() if container is not None else None
        parents.append(ids.setdefault(container, len(ids)))
        grands.append(ids.setdefault(grand, len(ids)))
    return np.asarray(parents, dtype=np.int64), np.asarray(grands, dtype=np.int64)


def _group_link_density(lengths: FloatArray, link_chars: FloatArray, groups: npt.NDArray[np.int64]) -> FloatArray:
    """Share of linked characters among all characters of the lines sharing each line's group."""
    chars = np.bincount(groups, weights=lengths)
    linked = np.bincount(groups, weights=link_chars)
    return np.asarray(linked[groups] / np.maximum(chars[groups], 1.0), dtype=np.float64)


def _dom_features(rendered: RenderedPage, ld_body: str | None,
                  groups: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]) -> FloatArray:
    lines, bits, link_ratio = rendered.lines, rendered.bits, rendered.link_ratio
    in_best, share = best_container_lines(rendered)
    n = len(lines)
    matrix = np.zeros((n, _N_DOM))
    lengths = np.fromiter((len(line) for line in lines), dtype=np.float64, count=n)
    link_chars = lengths * np.asarray(link_ratio, dtype=np.float64)
    ld = _clean(ld_body) if ld_body else ""
    any_pos = any(b & _POS for b in bits)
    for i, b in enumerate(bits):
        matrix[i] = (
            b & _P != 0, b & _LI != 0, b & _HEAD != 0, b & _H1 != 0, link_ratio[i], b & _NAV != 0,
            b & _FOOT != 0, b & _HDR != 0, b & _ASIDE != 0, b & _FORM != 0, b & _NEG != 0, b & _COMM != 0,
            b & _REL != 0, b & _POS != 0, b & _ART != 0, b & _MAIN != 0, b & _FIG != 0, b & _BQ != 0,
            b & _TAB != 0, bool(ld) and len(lines[i]) >= 15 and lines[i] in ld, bool(ld), b & _TIME != 0,
            any_pos, in_best[i], share[i], b & _CAPT != 0, b & _HID != 0, 0.0, 0.0,
        )
    if n:
        matrix[:, _N_DOM - 2] = _group_link_density(lengths, link_chars, groups[0])
        matrix[:, _N_DOM - 1] = _group_link_density(lengths, link_chars, groups[1])
    return matrix


def analyse_html(
    content: str,
    *,
    fetched_at: datetime | None = None,
    is_known_boilerplate: Callable[[str], bool] | None = None,
) -> HtmlPage | None:
    """Parse a page, read its metadata, render its lines and compute text + DOM features."""
    root = parse_html(content)
    if root is None:
        return None
    metadata = read_page_metadata(root)
    rendered = render_lines(root)
    lines, bits = rendered.lines, rendered.bits
    signals = page_text(lines)
    word_counts = [len(line.split()) for line in lines]
    date_lines = _DateLines(lines, signals)
    header = _find_header(lines, word_counts, fetched_at, date_lines, signals.byline_starts)
    h1_index = next((i for i, b in enumerate(bits) if b & _H1), None)
    if h1_index is not None and (header.title is None or header.title < h1_index):
        header.title = h1_index
    text_features = line_features(
        lines, header_end=header.last_index(), date_index=header.date, byline_index=header.byline,
        title_index=header.title, cjk=_is_cjk_text(lines), is_known_boilerplate=is_known_boilerplate,
        signals=signals, date_lines=date_lines,
    )
    groups = _container_groups(rendered)
    features = np.hstack([text_features, _dom_features(rendered, metadata.article_body, groups)])
    page = PageLines(lines=lines, header=header, header_end=header.last_index(), features=features,
                     groups=groups, signals=signals)
    return HtmlPage(page=page, metadata=metadata, h1_index=h1_index)


def html_body_indices(page: PageLines, probabilities: FloatArray, threshold: float) -> list[int]:
    """Lines kept as body on an HTML page: above threshold, not the headline/byline/date, no appeal."""
    header = page.header
    skip = {i for i in (header.title, header.byline, header.date) if i is not None}
    candidates = [i for i in np.flatnonzero(probabilities >= threshold).tolist() if i not in skip]
    if not candidates:
        return candidates
    appeals = appeal_block_indices(page.lines, page.signals)
    return [i for i in candidates if i not in appeals]


def extract_html_article(
    content: str,
    *,
    url: str | None = None,
    fetched_at: datetime | None = None,
    is_known_boilerplate: Callable[[str], bool] | None = None,
) -> Extraction:
    """Extract an article from an HTML page (pure; never raises on odd markup)."""
    from workers.cleaning.extract import Extraction
    from workers.cleaning.language import detect_language
    from workers.cleaning.line_weights import HTML_BODY_THRESHOLD, HTML_LAYER1_WEIGHTS, HTML_LAYER2_WEIGHTS

    analysed = analyse_html(content, fetched_at=fetched_at, is_known_boilerplate=is_known_boilerplate)
    if analysed is None or not analysed.page.lines:
        return Extraction(title=None, standfirst=None, authors=[], published_at=None, language=None,
                          publisher=None, body=[], lines_in=0, lines_removed=0,
                          flags=["unparseable_html" if analysed is None else "no_article"])
    page, meta = analysed.page, analysed.metadata
    probabilities = score_lines(page.features, HTML_LAYER1_WEIGHTS, HTML_LAYER2_WEIGHTS, page.groups)
    kept = html_body_indices(page, probabilities, HTML_BODY_THRESHOLD)
    body = [page.lines[i] for i in kept if is_known_boilerplate is None or not is_known_boilerplate(page.lines[i])]
    header = page.header
    title = meta.title or (page.lines[header.title] if header.title is not None else None)
    if header.title is not None and meta.title and page.lines[header.title] in meta.title:
        title = page.lines[header.title]
    published_at = meta.published_at or header.published_at
    if published_at is None:
        for line in page.lines[: header.last_index() + 3]:
            published_at = parse_date_text(line, fetched_at=fetched_at) if len(line) < 80 else None
            if published_at is not None:
                break
    language = meta.language or detect_language("\n".join(body) or (title or ""))
    if body:
        detected = detect_language("\n".join(body))
        language = detected or language
    return Extraction(
        title=title,
        standfirst=meta.description,
        authors=meta.authors or header.authors,
        published_at=published_at,
        language=language,
        publisher=meta.publisher,
        body=body,
        lines_in=len(page.lines),
        lines_removed=len(page.lines) - len(body),
        flags=([] if body else ["no_article"]) + (["truncated"] if len(page.lines) >= MAX_LINES else []),
    )
