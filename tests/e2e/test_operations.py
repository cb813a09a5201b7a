"""What an operator sees: metrics, health and readiness endpoints, JSON logs, trace context end to end."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request

import orjson
import pytest

from tests.e2e.conftest import Pipeline, decode
from workers.broker import free_port
from workers.kafka import make_producer

pytestmark = pytest.mark.e2e

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback URL built by the test
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def _wait_until(check: object, what: str, pipeline: Pipeline, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        pipeline.assert_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


async def _produce_with_trace(pipeline: Pipeline) -> None:
    producer = make_producer(pipeline.settings)
    await producer.start()
    try:
        article = {"id": "traced", "content": "Ministers met in Lisbon on Monday.\nThey agreed a plan for ports."}
        await producer.send_and_wait(
            pipeline.settings.topic_raw, orjson.dumps(article), key=b"traced", headers=[("traceparent", TRACEPARENT)]
        )
        await producer.send_and_wait(pipeline.settings.topic_raw, b'{"id": "bad", "content": ', key=b"bad")
    finally:
        await producer.stop()


def test_metrics_health_readiness_json_logs_and_traceparent(pipeline: Pipeline) -> None:
    clean_port, tag_port = free_port(), free_port()
    pipeline.env.update({"WIRESTREAM_LOG_FORMAT": "json", "WIRESTREAM_METRICS_PORT": str(clean_port)})
    pipeline.start("clean")
    pipeline.env["WIRESTREAM_METRICS_PORT"] = str(tag_port)
    pipeline.start("tag")
    for port in (clean_port, tag_port):
        _wait_until(lambda p=port: _get(f"http://127.0.0.1:{p}/readyz")[0] == 200, f"readyz on {port}", pipeline)
        assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200

    asyncio.run(_produce_with_trace(pipeline))
    settings = pipeline.settings
    got = asyncio.run(pipeline.collect([settings.topic_enriched], lambda g: len(g[settings.topic_enriched]) >= 1))
    (enriched,) = got[settings.topic_enriched]
    assert decode(enriched)["id"] == "traced"
    assert ("traceparent", TRACEPARENT) in list(enriched.headers), "W3C trace context travels raw -> enriched"

    def metrics_show_counts() -> bool:
        _, text = _get(f"http://127.0.0.1:{clean_port}/metrics")
        return (
            'wirestream_records_in_total{stage="clean"} 2.0' in text
            and 'wirestream_records_dead_lettered_total{error_type="invalid_json",stage="clean"} 1.0' in text
            and 'wirestream_stage_seconds_count{phase="process",stage="clean"}' in text
        )

    _wait_until(metrics_show_counts, "clean worker counters", pipeline)
    _, tag_metrics = _get(f"http://127.0.0.1:{tag_port}/metrics")
    for name in (
        'wirestream_records_out_total{stage="tag",topic="articles.enriched"} 1.0',
        "wirestream_stage_seconds_bucket",
        "wirestream_record_latency_seconds_count",
        "wirestream_batch_size_bucket",
        "wirestream_model_load_seconds",
        'wirestream_ready{stage="tag"} 1.0',
    ):
        assert name in tag_metrics, name
    assert _get(f"http://127.0.0.1:{tag_port}/nope")[0] == 404

    lines = (pipeline.logs / "clean.log").read_text().splitlines()
    records = [orjson.loads(line) for line in lines if line.startswith("{")]
    # The batch summary ("cleaned batch of 1: 1 out, 0 dead-lettered") also names dead letters; pick the
    # dead letter's own line.
    dead = [record for record in records if str(record.get("message", "")).startswith("dead-lettered record")]
    assert dead, "the dead letter is logged as a JSON line"
    assert dead[0]["topic"] == settings.topic_raw
    assert {"partition", "offset", "error_type"} <= set(dead[0])
    assert pipeline.stop_all() == {"clean": 0, "tag": 0}
