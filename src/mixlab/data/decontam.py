"""Decontamination: drop training examples that share a word n-gram with an evaluation set.

An example is contaminated by an evaluation set when any word ``ngram`` (13 by default, as in GPT-3's
analysis) of its text (every turn) appears in any text of that set. Evaluation texts shorter than
``ngram`` words but with at least ``min_words`` words (default 8) are matched whole, so that short MMLU or
ARC questions are not invisible to a 13-gram check; shorter texts (answer letters, "True") are ignored.
Words are NFKC-normalised, lower-cased ``\\w+`` runs, so punctuation and case do not hide a match.

Result per source and per evaluation set: how many examples matched (an example can match several sets)
and how many were dropped. Pure function: examples in, kept examples + report out.

>>> from mixlab.data.example import Example
>>> q = "Natalia sold clips to 48 of her friends in April and then half as many in May"
>>> train = [Example.from_pair("t1", "chat", f"Solve: {q}. How many?", "72"),
...          Example.from_pair("t2", "chat", "Name a colour.", "Blue.")]
>>> res = decontaminate(train, {"gsm8k": [q]})
>>> [e.id for e in res.kept], res.report["chat"]
(['t2'], {'input': 2, 'dropped': 1, 'kept': 1, 'by_eval_set': {'gsm8k': 1}})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mixlab.data.dedup import example_text
from mixlab.data.example import Example
from mixlab.data.ngrams import WordVocab, ngram_hashes
from mixlab.errors import SpecError


@dataclass(frozen=True)
class Contaminated:
    """One training example that overlaps evaluation data."""

    id: str
    source: str
    eval_sets: tuple[str, ...]
    position: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "eval_sets": list(self.eval_sets)}


@dataclass
class DecontamResult:
    kept: list[Example]
    dropped: list[Contaminated] = field(default_factory=list)
    report: dict[str, dict[str, Any]] = field(default_factory=dict)
    eval_sets: dict[str, dict[str, int]] = field(default_factory=dict)  # per set: texts, ngrams indexed


MAX_EVAL_SETS = 63  # one bit each in the uint64 masks of ``_EvalIndex``


class _EvalIndex:
    """Per n-gram length: the sorted unique hashes of all evaluation sets, each with a bitmask of the sets
    that contain it, so one ``searchsorted`` per length answers for every set at once (``MAX_EVAL_SETS`` at
    most)."""

    def __init__(self, eval_sets: Mapping[str, Sequence[str]], vocab: WordVocab, n: int, min_words: int):
        self.names = list(eval_sets)
        self.vocab = vocab
        self.stats: dict[str, dict[str, int]] = {}
        parts: dict[int, list[tuple[np.ndarray, int]]] = {}
        for bit, (name, texts) in enumerate(eval_sets.items()):
            used, grams = 0, 0
            for text in texts:
                ids = vocab.ids(text)
                k = n if len(ids) >= n else len(ids)
                if k < min_words:
                    continue
                h = np.unique(ngram_hashes(ids, k))
                parts.setdefault(k, []).append((h, bit))
                used += 1
                grams += len(h)
            self.stats[name] = {"texts": len(texts), "texts_used": used, "ngrams": grams}
        self.tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for k, items in parts.items():
            hashes = np.concatenate([h for h, _ in items])
            bits = np.concatenate([np.full(len(h), np.uint64(1) << np.uint64(b), dtype=np.uint64) for h, b in items])
            order = np.argsort(hashes, kind="stable")
            hashes, bits = hashes[order], bits[order]
            uniq, start = np.unique(hashes, return_index=True)
            self.tables[k] = (uniq, np.bitwise_or.reduceat(bits, start))

    def matches(self, text: str) -> list[str]:
        ids = self.vocab.ids(text)
        mask = 0
        for k, (uniq, bits) in self.tables.items():
            if len(ids) < k:
                continue
            h = ngram_hashes(ids, k)
            pos = np.searchsorted(uniq, h)
            pos[pos == len(uniq)] = 0
            hit = uniq[pos] == h
            if hit.any():
                mask |= int(np.bitwise_or.reduce(bits[pos[hit]]))
        return [name for b, name in enumerate(self.names) if mask >> b & 1]


def decontaminate(examples: Iterable[Example], eval_sets: Mapping[str, Sequence[str]], *, ngram: int = 13,
                  min_words: int = 8) -> DecontamResult:
    """Drop examples sharing an ``ngram``-word sequence with any evaluation set; report per source and set.

    Args:
        examples: training examples (every turn is checked).
        eval_sets: evaluation set name -> its texts (questions, passages, reference answers...).
        ngram: words per n-gram (13 by default).
        min_words: evaluation texts shorter than ``ngram`` but at least this long are matched whole.
    """
    problems = []
    if ngram < 1:
        problems.append(f"ngram: {ngram!r} must be >= 1 (13 is the usual choice)")
    if not 1 <= min_words <= ngram:
        problems.append(f"min_words: {min_words!r} must be between 1 and ngram ({ngram})")
    if len(eval_sets) > MAX_EVAL_SETS:
        problems.append(f"eval_sets: {len(eval_sets)} sets, at most {MAX_EVAL_SETS} per call; split them "
                        "across several calls (each drops what its sets match)")
    if problems:
        raise SpecError("decontamination settings", problems)
    examples = list(examples)
    index = _EvalIndex(eval_sets, WordVocab(), ngram, min_words)
    dropped: list[Contaminated] = []
    report: dict[str, dict[str, Any]] = {}
    for pos, ex in enumerate(examples):
        r = report.setdefault(ex.source, {"input": 0, "dropped": 0, "kept": 0,
                                          "by_eval_set": {name: 0 for name in eval_sets}})
        r["input"] += 1
        hits = index.matches(example_text(ex))
        if hits:
            dropped.append(Contaminated(ex.id, ex.source, tuple(hits), pos))
            r["dropped"] += 1
            for name in hits:
                r["by_eval_set"][name] += 1
        else:
            r["kept"] += 1
    gone = {c.position for c in dropped}
    kept = [ex for pos, ex in enumerate(examples) if pos not in gone]
    return DecontamResult(kept, dropped, report, index.stats)


def eval_texts(path: str | Path, fields: Sequence[str] | None = None) -> list[str]:
    """Texts of an evaluation file (any format ``read_records`` reads): the given ``fields`` of each record,
    or every string inside it (questions, choices, passages, reference solutions).

    >>> import json, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "ev.jsonl")
    >>> _ = open(f, "w").write(json.dumps({"question": "Q?", "choices": ["a", "b"], "gold": 1}) + "\\n")
    >>> eval_texts(f), eval_texts(f, ["question"])
    (['Q?', 'a', 'b'], ['Q?'])
    """
    from mixlab.data.load import read_records

    texts: list[str] = []
    for rec in read_records(path):
        if fields is not None and isinstance(rec, Mapping):
            for f in fields:
                texts.extend(_strings(rec.get(f)))
        else:
            texts.extend(_strings(rec))
    return texts


def _strings(obj: Any) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, Mapping):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)
