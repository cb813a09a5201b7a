"""Loading the spaCy pipeline once per process, with only the components named-entity recognition needs.

``en_core_web_sm`` ships ``tok2vec, tagger, parser, attribute_ruler, lemmatizer, ner``. Its ``ner`` has its own
embedded ``Tok2Vec`` (the shared ``tok2vec`` only feeds ``tagger`` and ``parser``), so for NER alone every other
component can be excluded: measured on the reference seed, the entities are identical and throughput doubles
(~8.8k -> ~17k tokens/s on one core). Other pipelines (``_md``/``_lg``/``_trf``) may wire ``ner`` to a shared
``tok2vec``/``transformer`` through a listener; :func:`ner_components` reads the pipeline config and keeps
whatever ``ner`` listens to, so the same code serves them all.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language

logger = logging.getLogger(__name__)

#: Components that add or shape entities and are cheap: kept when a pipeline has them.
_ENTITY_FACTORIES = frozenset({"ner", "entity_ruler", "span_ruler", "entity_linker", "merge_entities"})


def _listener_upstreams(node: Any) -> Iterator[str]:
    """Yield the ``upstream`` names of every ``*Listener*`` architecture nested in a config block."""
    if isinstance(node, Mapping):
        arch = node.get("@architectures", "")
        if isinstance(arch, str) and "Listener" in arch:
            yield str(node.get("upstream", "*"))
        for value in node.values():
            yield from _listener_upstreams(value)


def ner_components(config: Mapping[str, Any]) -> set[str]:
    """Return the names of the pipeline components NER needs, from a pipeline config.

    That is every entity-producing component plus any embedding component (``tok2vec``/``transformer``) one of
    them listens to. ``upstream = "*"`` in a listener means "the nearest embedding component", so every
    embedding component is kept in that case.
    """
    components: Mapping[str, Any] = config.get("components", {})
    pipeline: list[str] = list(config.get("nlp", {}).get("pipeline", components.keys()))
    needed = {name for name in pipeline if components.get(name, {}).get("factory") in _ENTITY_FACTORIES}
    embedders = [name for name in pipeline if components.get(name, {}).get("factory") in {"tok2vec", "transformer"}]
    for name in sorted(needed):
        for upstream in _listener_upstreams(components.get(name, {})):
            needed.update(embedders if upstream == "*" else [upstream])
    return needed


def _pipeline_config(name: str) -> Mapping[str, Any] | None:
    """Read the config of an installed pipeline package or a pipeline directory without loading weights."""
    try:
        path = spacy.util.get_package_path(name) if spacy.util.is_package(name) else Path(name)
        candidates = sorted(path.glob("*/config.cfg")) + sorted(path.glob("config.cfg"))
        if not candidates:
            return None
        return spacy.util.load_config(candidates[-1], interpolate=False)
    except (OSError, ValueError, ImportError):
        logger.warning("could not read the config of %s; loading every component", name, exc_info=True)
        return None


@functools.cache
def load_model(name: str) -> Language:
    """Load the spaCy pipeline ``name`` once per process, with only the components NER needs.

    Later calls with the same name return the same object. Raises ``OSError`` when the pipeline is not
    installed, and ``ValueError`` when it has no ``ner`` component.
    """
    config = _pipeline_config(name)
    exclude: list[str] = []
    if config is not None:
        needed = ner_components(config)
        exclude = [c for c in config.get("nlp", {}).get("pipeline", []) if c not in needed]
        # ``senter`` and others may be listed as disabled components outside the pipeline order.
        exclude += [c for c in config.get("components", {}) if c not in needed and c not in exclude]
    nlp = spacy.load(name, exclude=exclude)
    if "ner" not in nlp.pipe_names:
        raise ValueError(f"spaCy pipeline {name!r} has no 'ner' component (pipes: {nlp.pipe_names})")
    logger.info(
        "loaded spaCy pipeline %s %s with components %s (excluded %s)",
        name,
        nlp.meta.get("version", "?"),
        nlp.pipe_names,
        exclude,
    )
    return nlp


def model_version(nlp: Language) -> str:
    """Return ``"<lang>_<name>-<version>"`` of a loaded pipeline, for the enriched record."""
    meta = nlp.meta
    return f"{meta.get('lang', '?')}_{meta.get('name', '?')}-{meta.get('version', '?')}"
