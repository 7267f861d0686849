"""Exact and near deduplication of examples, within and across sources.

Pure functions over a list of ``Example``: the earlier example wins (list order: sources in spec order,
rows in file order), later copies are dropped and reported with the id and source of the example they
duplicate. Run dedup on the loaded rows **before** any upsampling: dedup after upsampling deletes the
repeats that ``epochs`` asked for.

- **exact**: same conversation (every turn, role-tagged) after NFKC, lower-casing and collapsing whitespace;
  compared by a 128-bit blake2b hash.
- **near**: MinHash (``datasketch``) over word n-gram shingles (``ngram=5`` words by default; a text shorter
  than that is one shingle), candidates from ``datasketch.MinHashLSH`` banded a little below ``threshold``
  (0.8) so that pairs just above it are not missed, each candidate then checked on the stored signatures
  (estimated Jaccard >= threshold) so that pairs below it are not dropped. Shingles are hashed in bulk with numpy (``mixlab.data.ngrams``) and fed to
  ``MinHash.update_batch``: 100k real-length rows take well under a minute on 2 cores (benchmarks/dedup.py).

>>> from mixlab.data.example import Example
>>> rows = [Example.from_pair("a1", "a", "Hi", "Hello"), Example.from_pair("a2", "a", "hi ", "HELLO"),
...         Example.from_pair("b1", "b", "Bye", "Ciao")]
>>> res = dedup(rows, DedupSpec(near=False))
>>> [e.id for e in res.kept], [(d.id, d.reason, d.duplicate_of) for d in res.dropped]
(['a1', 'b1'], [('a2', 'exact duplicate', 'a1')])
>>> res.report["a"]["exact_duplicates"], res.report["b"]["kept"]
(1, 1)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mixlab.data.example import Example
from mixlab.data.ngrams import WordVocab, normalise
from mixlab.errors import SpecError


def example_text(ex: Example) -> str:
    """The text dedup looks at: every turn, role-tagged, one per line."""
    return "\n".join(f"{m.role}: {m.content}" for m in ex.messages)


@dataclass(frozen=True)
class DedupSpec:
    """What to deduplicate and how.

    Attributes:
        exact: drop exact duplicates (normalised text hash).
        near: drop near duplicates (MinHash-LSH).
        threshold: Jaccard similarity of shingle sets at or above which two examples are near duplicates.
        ngram: words per shingle.
        num_perm: MinHash permutations (more = a finer Jaccard estimate, slower).
        across_sources: compare examples of different sources too (else each source on its own).
        seed: MinHash permutation seed.
        lsh_threshold: the LSH index's own threshold (default ``threshold - 0.1``): set below ``threshold``
            so that pairs just above it are not missed by the banding (its S-curve is not a step); each
            candidate is then checked against ``threshold`` on the signatures.
    """

    exact: bool = True
    near: bool = True
    threshold: float = 0.8
    ngram: int = 5
    num_perm: int = 128
    across_sources: bool = True
    seed: int = 1
    lsh_threshold: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 < self.threshold <= 1.0:
            problems.append(f"threshold: {self.threshold!r} is outside (0, 1]; use e.g. 0.8")
        if self.ngram < 1:
            problems.append(f"ngram: {self.ngram!r} must be >= 1 (words per shingle), e.g. 5")
        if self.num_perm < 16:
            problems.append(f"num_perm: {self.num_perm!r} is too small; use >= 16 (default 128)")
        if self.lsh_threshold is not None and not 0.0 < self.lsh_threshold <= self.threshold:
            problems.append(f"lsh_threshold: {self.lsh_threshold!r} must be in (0, threshold={self.threshold}]")
        if problems:
            raise SpecError("dedup spec", problems)


@dataclass(frozen=True)
class Dropped:
    """One example removed as a duplicate of an earlier one."""

    id: str
    source: str
    reason: str  # "exact duplicate" or "near duplicate"
    duplicate_of: str
    duplicate_source: str
    similarity: float  # 1.0 for exact; the MinHash Jaccard estimate for near
    position: int = -1  # position of the dropped example in the input list

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "reason": self.reason, "duplicate_of": self.duplicate_of,
                "duplicate_source": self.duplicate_source, "similarity": round(self.similarity, 4)}


@dataclass
class DedupResult:
    """Kept examples (input order), what was dropped and why, and a per-source report."""

    kept: list[Example]
    dropped: list[Dropped] = field(default_factory=list)
    report: dict[str, dict[str, Any]] = field(default_factory=dict)

    def drop_mask(self) -> np.ndarray:
        """Boolean "drop" mask aligned with the input list."""
        mask = np.zeros(len(self.kept) + len(self.dropped), dtype=bool)
        mask[[d.position for d in self.dropped]] = True
        return mask


def _report(examples: Sequence[Example], dropped: Sequence[Dropped]) -> dict[str, dict[str, Any]]:
    report: dict[str, dict[str, Any]] = {}
    for ex in examples:
        r = report.setdefault(ex.source, {"input": 0, "kept": 0, "exact_duplicates": 0, "near_duplicates": 0,
                                          "duplicate_of_source": {}})
        r["input"] += 1
    for d in dropped:
        r = report[d.source]
        r["exact_duplicates" if d.reason == "exact duplicate" else "near_duplicates"] += 1
        r["duplicate_of_source"][d.duplicate_source] = r["duplicate_of_source"].get(d.duplicate_source, 0) + 1
    for r in report.values():
        r["kept"] = r["input"] - r["exact_duplicates"] - r["near_duplicates"]
    return report


def exact_duplicates(examples: Sequence[Example], across_sources: bool = True) -> list[Dropped]:
    """Examples whose normalised text equals an earlier example's (of any source, or of the same source)."""
    first: dict[tuple[str, bytes], Example] = {}
    out = []
    for pos, ex in enumerate(examples):
        digest = hashlib.blake2b(normalise(example_text(ex)).encode("utf-8", "surrogatepass"),
                                 digest_size=16).digest()
        key = ("", digest) if across_sources else (ex.source, digest)
        if key in first:
            orig = first[key]
            out.append(Dropped(ex.id, ex.source, "exact duplicate", orig.id, orig.source, 1.0, pos))
        else:
            first[key] = ex
    return out


class MinHashDedup:
    """Streaming near-duplicate finder: ``seen(ex)`` returns the earlier example it duplicates, or None.

    >>> from mixlab.data.example import Example
    >>> finder = MinHashDedup(DedupSpec())
    >>> text = "the quick brown fox jumps over the lazy dog " * 5
    >>> finder.seen(Example.from_pair("1", "s", "Tell me", text)) is None
    True
    >>> finder.seen(Example.from_pair("2", "s", "Tell me", text + "again")).id
    '1'
    """

    def __init__(self, spec: DedupSpec):
        from mixlab.errors import require

        datasketch = require("datasketch", purpose="near deduplication")
        self.spec = spec
        self._MinHash = datasketch.MinHash
        self._proto = datasketch.MinHash(num_perm=spec.num_perm, seed=spec.seed, hashfunc=_identity)
        self.lsh: dict[str, Any] = {}
        lsh_t = spec.lsh_threshold if spec.lsh_threshold is not None else max(0.05, spec.threshold - 0.1)
        self._new_lsh = lambda: datasketch.MinHashLSH(threshold=lsh_t, num_perm=spec.num_perm)
        self.vocab = WordVocab()
        self.kept: dict[int, tuple[Example, np.ndarray]] = {}

    def signature(self, text: str) -> Any:
        """The MinHash of ``text``'s shingles."""
        shingles = self.vocab.ngram_hashes(text, self.spec.ngram, whole_if_shorter=True)
        # fold 64-bit shingle hashes to the 32 bits of datasketch's default (affine32) scheme
        folded = ((shingles >> np.uint64(32)) ^ (shingles & np.uint64(0xFFFFFFFF))).astype(np.uint32)
        m = self.minhash()
        if len(folded):
            m.update_batch(np.unique(folded).tolist())
        return m

    def minhash(self, hashvalues: np.ndarray | None = None) -> Any:
        return self._MinHash(num_perm=self.spec.num_perm, hashfunc=_identity, permutations=self._proto.permutations,
                             scheme=self._proto.scheme, hashvalues=hashvalues)

    def seen(self, ex: Example) -> Example | None:
        m = self.signature(example_text(ex))
        return self.check_and_add(ex, m)

    def check_and_add(self, ex: Example, m: Any) -> Example | None:
        """Return the earlier example ``m`` duplicates (and remember its similarity), else index ``ex``."""
        key = "" if self.spec.across_sources else ex.source
        lsh = self.lsh.get(key)
        if lsh is None:
            lsh = self.lsh[key] = self._new_lsh()
        best, best_sim = None, 0.0
        for cand in lsh.query(m):
            other, sig = self.kept[cand]
            sim = float(np.count_nonzero(sig == m.hashvalues)) / len(sig)
            if sim >= self.spec.threshold and sim > best_sim:
                best, best_sim = other, sim
        if best is not None:
            self.last_similarity = best_sim
            return best
        k = len(self.kept)
        self.kept[k] = (ex, m.hashvalues)
        lsh.insert(k, m, check_duplication=False)
        return None


def _identity(x: int) -> int:
    return x


def _signature_chunk(args: tuple[DedupSpec, list[str]]) -> np.ndarray:
    """Worker: MinHash hash values of a chunk of texts (one row per text)."""
    spec, texts = args
    finder = MinHashDedup(spec)
    return np.stack([finder.signature(t).hashvalues for t in texts]) if texts else np.empty((0, spec.num_perm))


def _signatures(examples: Sequence[Example], positions: list[int], spec: DedupSpec, workers: int,
                chunk: int = 1000) -> Iterable[np.ndarray]:
    """Signatures of ``examples[positions]`` in order, computed by ``workers`` processes, chunk by chunk."""
    # a generator: without workers only one chunk of texts is held at a time, not the whole input
    chunks = ((spec, [example_text(examples[p]) for p in positions[i:i + chunk]])
              for i in range(0, len(positions), chunk))
    if workers <= 1:
        for c in chunks:
            yield from _signature_chunk(c)
        return
    import multiprocessing as mp

    # fork: the workers need no state of ours beyond what they are sent, and spawn would re-run a caller's
    # unguarded script (or fail on one read from stdin)
    with mp.get_context("fork").Pool(workers) as pool:
        for sigs in pool.imap(_signature_chunk, chunks):
            yield from sigs


def default_workers(n_rows: int) -> int:
    """Worker processes for near dedup: 1 below 20k rows (start-up costs more than it saves), else up to 2
    (the 2-core budget mixlab is designed for; more cores are used when ``workers`` is passed)."""
    import multiprocessing as mp
    import os
    import threading

    if n_rows < 20_000 or "fork" not in mp.get_all_start_methods() or threading.active_count() > 1:
        return 1  # forking a threaded process can deadlock in the child: stay sequential, still correct
    return max(1, min(2, os.cpu_count() or 1))


def near_duplicates(examples: Sequence[Example], spec: DedupSpec = DedupSpec(), progress: bool = False,
                    skip: Iterable[int] = (), workers: int | None = None) -> list[Dropped]:
    """Examples whose shingle set is within ``spec.threshold`` Jaccard of an earlier example's.

    Positions in ``skip`` (already dropped, e.g. as exact duplicates) are neither checked nor indexed.
    Signatures are computed by ``workers`` processes (default: ``default_workers``); the LSH index is
    queried and filled in input order in this process, so the result does not depend on ``workers``.
    """
    finder = MinHashDedup(spec)
    skipped = set(skip)
    todo = [p for p in range(len(examples)) if p not in skipped]
    workers = default_workers(len(todo)) if workers is None else workers
    sigs = _signatures(examples, todo, spec, workers)
    out = []
    for pos, hv in zip(_progress(todo, progress, "near-dedup"), sigs, strict=True):
        ex = examples[pos]
        orig = finder.check_and_add(ex, finder.minhash(hv))
        if orig is not None:
            out.append(Dropped(ex.id, ex.source, "near duplicate", orig.id, orig.source, finder.last_similarity,
                               pos))
    return out


def _progress(items: Sequence[Any], on: bool, desc: str) -> Iterable[Any]:
    if not on or len(items) < 2000:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="row", mininterval=1.0)


def dedup(examples: Iterable[Example], spec: DedupSpec = DedupSpec(), *, progress: bool = False,
          workers: int | None = None) -> DedupResult:
    """Drop exact, then near duplicates; return kept examples, what was dropped and a per-source report.

    The report, per source: ``input``, ``kept``, ``exact_duplicates``, ``near_duplicates`` and
    ``duplicate_of_source`` (how many of its dropped rows duplicate a row of each source, itself included).
    """
    examples = list(examples)
    dropped: list[Dropped] = exact_duplicates(examples, spec.across_sources) if spec.exact else []
    if spec.near:
        dropped += near_duplicates(examples, spec, progress=progress, skip=[d.position for d in dropped],
                                   workers=workers)
    dropped.sort(key=lambda d: d.position)
    gone = {d.position for d in dropped}
    kept = [ex for pos, ex in enumerate(examples) if pos not in gone]
    return DedupResult(kept, dropped, _report(examples, dropped))
