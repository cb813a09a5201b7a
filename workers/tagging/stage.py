"""The tagging stage as pure functions: clean records in, ``article.enriched`` records (or failures) out."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spacy.language import Language

from workers.dlq import Failure, SourceMessage, run_guarded
from workers.records import SCHEMA_VERSION, decode_versioned, rfc3339, utcnow, validate
from workers.tagging.entities import ArticleText, tag_articles

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Which model tagged a record: recorded in every enriched record."""

    name: str
    version: str
    spacy: str

    @classmethod
    def of(cls, nlp: Language, package: str) -> ModelInfo:
        """Describe a loaded pipeline."""
        meta = nlp.meta
        return cls(
            name=package,
            version=str(meta.get("version", "unknown")),
            spacy=str(meta.get("spacy_version", "")),
        )


def decode_clean(message: SourceMessage) -> dict[str, Any] | Failure:
    """Parse and validate one ``articles.clean`` value."""
    return run_guarded(lambda: decode_versioned("clean", message.value))


def article_text(record: Mapping[str, Any]) -> ArticleText:
    """The parts of a clean record that entities are looked for in."""
    return ArticleText(title=record.get("title"), standfirst=record.get("standfirst"), body=list(record["body"]))


def build_enriched_record(
    clean: Mapping[str, Any], entities: list[dict[str, Any]], model: ModelInfo
) -> dict[str, Any]:
    """The clean record plus entities and model provenance, validated as ``article.enriched``."""
    record = dict(clean)
    record["schema_version"] = SCHEMA_VERSION
    record["entities"] = entities
    record["model"] = {"name": model.name, "version": model.version, "spacy": model.spacy}
    record["tagged_at"] = rfc3339(utcnow())
    validate("enriched", record)
    return record


def tag_records(
    nlp: Language, records: Sequence[Mapping[str, Any]], model: ModelInfo, *, batch_size: int = 64
) -> list[dict[str, Any] | Failure]:
    """Tag a batch of clean records in one ``nlp.pipe`` pass.

    If the batch as a whole fails, each record is retried alone so that one bad record is dead-lettered
    instead of the whole batch.
    """
    if not records:
        return []
    texts = [article_text(r) for r in records]
    batch = run_guarded(lambda: tag_articles(nlp, texts, batch_size=batch_size))
    if not isinstance(batch, Failure):
        return [
            run_guarded(lambda r=record, e=ents: build_enriched_record(r, e, model))  # type: ignore[misc]
            for record, ents in zip(records, batch, strict=True)
        ]
    log.warning("batch of %d failed (%s); retrying records one by one", len(records), batch.error)
    out: list[dict[str, Any] | Failure] = []
    for record, text in zip(records, texts, strict=True):
        single = run_guarded(
            lambda r=record, t=text: build_enriched_record(  # type: ignore[misc]
                r, tag_articles(nlp, [t], batch_size=batch_size)[0], model
            )
        )
        if isinstance(single, Failure):
            single = Failure(single.error, article_id=str(record.get("id")))
        out.append(single)
    return out
