"""The tagging stage as pure functions: clean records in, ``article.enriched`` records (or failures) out."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spacy.language import Language

from workers.dlq import Failure, SourceMessage, run_guarded
from workers.records import SCHEMA_VERSION, decode_versioned, rfc3339, utcnow
from workers.tagging.entities import ArticleText, SpanMap, find_spans, merge_mentions

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
    """The clean record plus entities and model provenance (``article.enriched``).

    Not validated here: the input was validated on the way in, and validating dozens of entity mentions per
    article costs more than the rest of the record handling; the tests validate every output shape instead.
    """
    record = dict(clean)
    record["schema_version"] = SCHEMA_VERSION
    record["entities"] = entities
    record["model"] = {"name": model.name, "version": model.version, "spacy": model.spacy}
    record["tagged_at"] = rfc3339(utcnow())
    return record


#: Flag set on an enriched record whose language the model does not speak (entities left empty, not guessed).
LANGUAGE_FLAG = "entities_skipped_language"


def model_speaks(nlp: Language, record: Mapping[str, Any]) -> bool:
    """True unless the record's detected language differs from the pipeline's (an English model on Spanish
    text finds verbs and articles as entities: better none than noise). Undetected language is tagged."""
    language = record.get("language")
    return not language or nlp.lang in ("xx", language)


def with_flag(record: Mapping[str, Any], flag: str) -> dict[str, Any]:
    """A copy of ``record`` with ``flag`` added to its ``flags``."""
    flags = list(record.get("flags") or [])
    if flag not in flags:
        flags.append(flag)
    return {**record, "flags": flags}


@dataclass(frozen=True, slots=True)
class Recognised:
    """The model's answer for one clean record: spans to merge, or ``spans=None`` when not tagged (language)."""

    record: Mapping[str, Any]
    spans: SpanMap | None


def recognise_records(
    nlp: Language, records: Sequence[Mapping[str, Any]], *, batch_size: int = 64
) -> list[Recognised | Failure]:
    """Run the model over a batch of clean records (one ``nlp.pipe`` pass): the CPU-heavy half of tagging.

    Records in a language the model does not speak are not run (``spans=None``, :data:`LANGUAGE_FLAG` set). If
    the batch as a whole fails, each record is retried alone so that one bad record fails, not the batch.
    """
    prepared = [
        (record, True) if model_speaks(nlp, record) else (with_flag(record, LANGUAGE_FLAG), False)
        for record in records
    ]
    texts = [article_text(r) for r, taggable in prepared if taggable]
    batch = run_guarded(lambda: find_spans(nlp, texts, batch_size=batch_size)) if texts else []
    if isinstance(batch, Failure):
        log.warning("batch of %d failed (%s); retrying records one by one", len(texts), batch.error)
    found = iter(batch) if not isinstance(batch, Failure) else None
    out: list[Recognised | Failure] = []
    for record, taggable in prepared:
        if not taggable:
            out.append(Recognised(record, None))
        elif found is not None:
            out.append(Recognised(record, next(found)))
        else:

            def alone(r: Mapping[str, Any] = record) -> SpanMap:
                return find_spans(nlp, [article_text(r)], batch_size=batch_size)[0]

            single = run_guarded(alone)
            if isinstance(single, Failure):
                out.append(Failure(single.error, article_id=str(record.get("id"))))
            else:
                out.append(Recognised(record, single))
    return out


def assemble_records(items: Sequence[Recognised | Failure], model: ModelInfo) -> list[dict[str, Any] | Failure]:
    """Merge mentions into entities and build the enriched records: the pure-Python half of tagging."""
    out: list[dict[str, Any] | Failure] = []
    for item in items:
        if isinstance(item, Failure):
            out.append(item)
            continue

        def enrich(it: Recognised = item) -> dict[str, Any]:
            spans = it.spans
            entities = merge_mentions(article_text(it.record), spans) if spans is not None else []
            return build_enriched_record(it.record, entities, model)

        result = run_guarded(enrich)
        if isinstance(result, Failure):
            result = Failure(result.error, article_id=str(item.record.get("id")))
        out.append(result)
    return out


def tag_records(
    nlp: Language, records: Sequence[Mapping[str, Any]], model: ModelInfo, *, batch_size: int = 64
) -> list[dict[str, Any] | Failure]:
    """Tag a batch of clean records in this process: :func:`recognise_records` then :func:`assemble_records`."""
    return assemble_records(recognise_records(nlp, records, batch_size=batch_size), model)


def entity_key(entity: Mapping[str, Any]) -> str:
    """The key of an entity across articles: ``<label>:<canonical name>``."""
    return f"{entity['label']}:{entity['name']}"


def entity_records(enriched: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One ``article.entity`` record per entity of an enriched article, for ``articles.entities``."""
    article = {name: enriched.get(name) for name in ("url", "source", "title", "published_at", "language")}
    return [
        {
            "schema_version": SCHEMA_VERSION,
            "key": entity_key(entity),
            "article_id": enriched["id"],
            "entity": entity,
            "article": article,
            "tagged_at": enriched["tagged_at"],
        }
        for entity in enriched["entities"]
    ]
