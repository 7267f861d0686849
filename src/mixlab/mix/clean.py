"""Dedup and decontamination as a mixture sees them: which rows of each source to drop, and why.

The mixture layer needs two answers per source: a boolean "drop" mask for duplicates and one per evaluation
set for contamination. Both are computed on the loaded rows *before* any amount is applied, so dedup never
deletes the repeats that ``epochs`` or ``upsample`` ask for (dedup after upsampling removes the intended
repeats: a reading of Axolotl's dedup code), and a source's usable rows do not depend on its amount.

Across sources, a duplicate is dropped from the later-listed source: the first-listed source keeps its rows,
so its rows in mixture ``A`` and in ``A+C`` stay the same.

The work is done by the data layer (``mixlab.data.dedup.dedup``: exact hash, then MinHash-LSH;
``mixlab.data.decontam.decontaminate``: word n-gram overlap); this module adapts its results to masks and
keeps them in ``<cache_dir>/clean/`` (``MaskStore``), keyed by the sources' content hashes and the settings:
decontaminating 50k P3 rows takes minutes on 2 cores, and a study builds dozens of mixtures of the same
sources. Dedup masks depend on every source of the mixture (in order); decontamination masks on one source
and one evaluation file (by its sha256) each.

>>> from mixlab.data.example import Example
>>> a = [Example.from_pair("a1", "a", "Hi", "Hello"), Example.from_pair("a2", "a", "hi ", "hello")]
>>> b = [Example.from_pair("b1", "b", "HI", "Hello"), Example.from_pair("b2", "b", "Bye", "Ciao")]
>>> masks = duplicate_masks([("a", a), ("b", b)], mode="exact")
>>> masks["a"].tolist(), masks["b"].tolist()
([False, True], [True, False])
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from mixlab.artifacts import atomic_write_bytes, content_hash
from mixlab.data.example import Example

Sources = Sequence[tuple[str, Sequence[Example]]]


def duplicate_masks(sources: Sources, *, mode: str = "exact", across_sources: bool = True,
                    threshold: float = 0.8) -> dict[str, np.ndarray]:
    """For each source, a mask of the rows to drop as duplicates of an earlier row.

    ``exact``: same conversation after normalisation. ``near``: exact, then MinHash-LSH at Jaccard
    ``threshold``. Earlier rows (file order, then the spec's order of sources) are kept.
    """
    if mode == "none":
        return {name: np.zeros(len(rows), dtype=bool) for name, rows in sources}
    if mode not in ("exact", "near"):
        raise ValueError(f"unknown dedup mode {mode!r}; valid: none, exact, near")
    from mixlab.data.dedup import DedupSpec, dedup

    spec = DedupSpec(exact=True, near=mode == "near", threshold=threshold, across_sources=across_sources)
    return _split(dedup(_tagged(sources), spec, progress=True).drop_mask(), sources)


def contamination_masks(sources: Sources, eval_sets: Mapping[str, Sequence[str]], *, ngram: int = 13
                        ) -> dict[str, dict[str, np.ndarray]]:
    """``{source: {eval_set: mask}}``: rows sharing a word ``ngram``-gram with the evaluation set."""
    from mixlab.data.decontam import decontaminate

    result = decontaminate(_tagged(sources), eval_sets, ngram=ngram)
    total = sum(len(rows) for _, rows in sources)
    per_eval = {e: np.zeros(total, dtype=bool) for e in eval_sets}
    for c in result.dropped:
        for e in c.eval_sets:
            per_eval[e][c.position] = True
    split = {e: _split(m, sources) for e, m in per_eval.items()}
    return {name: {e: split[e][name] for e in eval_sets} for name, _ in sources}


def eval_texts(path: str | Path) -> list[str]:
    """Every string of every record of an evaluation file (questions, choices, solutions, tests)."""
    from mixlab.data.decontam import eval_texts as read_eval_texts

    return read_eval_texts(path)


def _tagged(sources: Sources) -> list[Example]:
    """All rows in spec order, each with ``source`` set to its source's name (the data layer groups by it)."""
    return [ex if ex.source == name else dataclasses.replace(ex, source=name)
            for name, rows in sources for ex in rows]


def _split(mask: np.ndarray, sources: Sources) -> dict[str, np.ndarray]:
    out, start = {}, 0
    for name, rows in sources:
        out[name] = np.asarray(mask[start : start + len(rows)], dtype=bool)
        start += len(rows)
    return out


def _const(value: list[np.ndarray]) -> Callable[[], list[np.ndarray]]:
    return lambda: value


# ------------------------------------------------------------------------------------------- on disk
# Part of every mask key: 2 = arrays stored positionally (arr_0, arr_1, ...); files of 1 named them m0, m1, ...
MASK_FORMAT = 2


class MaskStore:
    """Boolean masks on disk (``<root>/clean/<key>.npz``); ``root=None`` keeps nothing."""

    def __init__(self, root: str | Path | None):
        self.folder = Path(root) / "clean" if root is not None else None

    def get(self, key: str, compute: Callable[[], list[np.ndarray]]) -> list[np.ndarray]:
        if self.folder is None:
            return compute()
        path = self.folder / f"{key}.npz"
        if path.is_file():
            with np.load(path) as z:
                return [z[f"arr_{i}"] for i in range(len(z.files))]
        masks = compute()
        buf = io.BytesIO()
        np.savez_compressed(buf, *masks)
        atomic_write_bytes(path, buf.getvalue())
        return masks


def cached_duplicate_masks(sources: Sources, hashes: Sequence[str], *, mode: str, across_sources: bool,
                           threshold: float, store: MaskStore) -> dict[str, np.ndarray]:
    """``duplicate_masks``, kept in ``store`` under the sources' content hashes (in order) and the settings."""
    if mode == "none":
        return duplicate_masks(sources, mode="none")
    key = "dedup-" + content_hash({"v": MASK_FORMAT, "sources": list(hashes), "mode": mode,
                                   "across": across_sources, "threshold": threshold}, length=24)

    def compute() -> list[np.ndarray]:
        masks = duplicate_masks(sources, mode=mode, across_sources=across_sources, threshold=threshold)
        return [masks[name] for name, _ in sources]

    return {name: m for (name, _), m in zip(sources, store.get(key, compute), strict=True)}


def cached_contamination_masks(sources: Sources, hashes: Sequence[str], eval_files: Mapping[str, Path], *,
                               ngram: int, store: MaskStore) -> dict[str, dict[str, np.ndarray]]:
    """``contamination_masks`` against evaluation files, one stored mask per (source, file) pair.

    ``eval_files`` maps the name used in reports (the path as written in the spec) to the file.
    """
    from mixlab.artifacts import file_sha256

    shas = {name: file_sha256(path) for name, path in eval_files.items()}
    texts: dict[str, list[str]] = {}
    out: dict[str, dict[str, np.ndarray]] = {}
    for (name, rows), h in zip(sources, hashes, strict=True):
        keys = {e: "decontam-" + content_hash({"v": MASK_FORMAT, "source": h, "eval": shas[e], "ngram": ngram},
                                              length=24)
                for e in eval_files}
        missing = [e for e in eval_files if store.folder is None or not (store.folder / f"{keys[e]}.npz").is_file()]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            for e in missing:
                if e not in texts:
                    texts[e] = eval_texts(eval_files[e])
            fresh = contamination_masks([(name, rows)], {e: texts[e] for e in missing}, ngram=ngram)[name]
        out[name] = {}
        for e in eval_files:
            out[name][e] = store.get(keys[e], _const([fresh[e]] if e in fresh else []))[0]
    return out
