"""Load the sources of a mixture spec (files, folders, Hugging Face ids, the embedded world).

A study builds dozens of mixtures from the same few sources: load them once with ``load_sources`` and pass
the result to ``build_mixture(..., loaded=...)``.

>>> loaded = load_sources(spec)                                  # doctest: +SKIP
>>> {name: len(src.examples) for name, src in loaded.items()}    # doctest: +SKIP
{'chat': 999, 'code': 2017}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence

from mixlab.data.example import Example
from mixlab.data.load import LoadedSource, load_source
from mixlab.data.rationale import drop_rationales
from mixlab.mix.spec import MixtureSpec, SourceSpec
from mixlab.registry import Registry

#: Generators of sources that are made, not read (a spec's ``world: chat``): ``(kind, seed) -> LoadedSource``.
#: The embedded world sits beside the mixture layer, not below it, so it is named here, not imported
#: (as the world's suite is in ``mixlab.eval.suites``); docs/architecture.md.
GENERATORS: Registry[Callable[[str, int], LoadedSource]] = Registry("source generator")
GENERATORS.register("world", "mixlab.world.source:load_world_source")


def load_one(spec: MixtureSpec, src: SourceSpec) -> LoadedSource:
    """Load one source of ``spec`` (its rows' ``source`` field is the spec's source name)."""
    kind, value = src.origin
    if kind == "path":
        loaded = load_source(spec.resolve_path(src), format=src.format, name=src.name)
    elif kind == "hf":
        loaded = load_source(hf=value, split=src.split, subset=src.subset, format=src.format, name=src.name)
    else:
        loaded = _load_world(value, spec.seed)
    if src.rationale == "drop":
        loaded = drop_rationales(loaded)
    return renamed(loaded, src.name)


def load_sources(spec: MixtureSpec, names: Iterable[str] | None = None) -> dict[str, LoadedSource]:
    """Load every source of ``spec`` (or only ``names``), keyed by source name."""
    wanted = set(names) if names is not None else None
    return {s.name: load_one(spec, s) for s in spec.sources if wanted is None or s.name in wanted}


def renamed(loaded: LoadedSource, name: str) -> LoadedSource:
    """``loaded`` with every example's ``source`` set to ``name`` (a no-op when it already is)."""
    if loaded.name == name and all(ex.source == name for ex in loaded.examples):
        return loaded
    examples = [ex if ex.source == name else dataclasses.replace(ex, source=name) for ex in loaded.examples]
    return dataclasses.replace(loaded, name=name, examples=examples)


def _load_world(kind: str, seed: int) -> LoadedSource:
    return GENERATORS.get("world")(kind, seed)


def examples_hash(examples: Sequence[Example]) -> str:
    """Content hash of a source's examples: what tokenization sees (messages, and the task tag).

    Two sources with the same conversations share one token cache, whatever their file names.
    """
    h = hashlib.sha256()
    for ex in examples:
        task = ex.meta.get("task") if isinstance(ex.meta, Mapping) else None
        row = [[m.role, m.content] for m in ex.messages]
        h.update(json.dumps([row, task], ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()[:32]


def origin_record(spec: MixtureSpec, src: SourceSpec, loaded: LoadedSource) -> dict[str, object]:
    """What the manifest says about where a source came from."""
    kind, value = src.origin
    rec: dict[str, object] = {"kind": kind, "value": value, "format": loaded.format, "sha256": loaded.sha256}
    if kind == "hf":
        rec.update(split=src.split, subset=src.subset)
    if kind == "world":
        rec["seed"] = spec.seed
    if src.rationale != "keep":
        rec["rationale"] = src.rationale
    return rec
