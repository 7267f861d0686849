"""A cache of generations and log-likelihoods, so that a re-run is instant and a crashed run resumes.

``CachedLM(lm, path)`` wraps any ``LM``. Every request is keyed by (the model's identity hash, the request
kind, every request field: prompt, continuation, max_new_tokens, stop, temperature, top_p, n, seed). Hits
are answered from an SQLite file; misses go to the model in chunks, and each chunk is committed as soon as it
is done, so an evaluation killed half way keeps every finished chunk and the next run computes only the
rest. Identity fields that cannot change a score (batch size, progress bars) are not part of the key;
everything else is (weights hash, adapter, GGUF file, dtype, chat template), so a cache is never reused
across models, tokenizers or templates.

>>> from mixlab.eval.backends.dummy import DummyLM
>>> from mixlab.eval.lm import GenerationRequest
>>> inner = DummyLM(replies={"2+2=": "4"})
>>> lm = CachedLM(inner, ":memory:")
>>> lm.generate([GenerationRequest("2+2=")]) == lm.generate([GenerationRequest("2+2=")])
True
>>> inner.calls["generate"], lm.stats
(1, {'hits': 1, 'misses': 1})

SQLite (one file, WAL journal) rather than JSON lines: several processes evaluating at once can share one
cache safely, and a lookup does not read the whole file.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mixlab.artifacts import content_hash
from mixlab.eval.backends.identity import identity_key
from mixlab.eval.lm import LM, GenerationRequest, LoglikelihoodRequest, LoglikelihoodResult


class LMCacheStore:
    """Key -> JSON value in an SQLite table; writes are batched in transactions."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(unique), 500):  # SQLite caps the number of bound parameters
                part = unique[start:start + 500]
                marks = ",".join("?" * len(part))
                for key, value in self._conn.execute(f"SELECT key, value FROM entries WHERE key IN ({marks})", part):
                    found[key] = json.loads(value)
        return found

    def put_many(self, items: dict[str, Any]) -> None:
        if not items:
            return
        rows = [(k, json.dumps(v)) for k, v in items.items()]
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class CachedLM:
    """An ``LM`` that answers repeated requests from a cache and stores new answers as it goes."""

    def __init__(self, lm: LM, path: str | Path, *, chunk_size: int = 512,
                 on_chunk: Callable[[int, int], None] | None = None):
        self.lm = lm
        self.store = LMCacheStore(path)
        self.chunk_size = chunk_size
        self.on_chunk = on_chunk
        self._key = identity_key(lm.identity())
        self.stats = {"hits": 0, "misses": 0}

    @property
    def counts(self) -> Any:
        """The wrapped backend's degradation counters (see ``tasks.sampling.counts_since``)."""
        return getattr(self.lm, "counts", {})

    def identity(self) -> dict[str, Any]:
        return self.lm.identity()

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        values = self._cached("loglikelihood", requests, self.lm.loglikelihood, _ll_to_json)
        return [LoglikelihoodResult(*v) for v in values]

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[str]]:
        return self._cached("generate", requests, self.lm.generate, list)

    def request_key(self, kind: str, request: Any) -> str:
        return content_hash({"model": self._key, "kind": kind, "request": dataclasses.asdict(request)}, 64)

    def _cached(self, kind: str, requests: Sequence[Any], compute: Callable, to_json: Callable) -> list[Any]:
        keys = [self.request_key(kind, r) for r in requests]
        found = self.store.get_many(keys)
        todo: dict[str, Any] = {}
        for key, req in zip(keys, requests, strict=True):
            if key not in found and key not in todo:
                todo[key] = req
        self.stats["hits"] += len(requests) - sum(1 for k in keys if k in todo)
        self.stats["misses"] += len(todo)
        # similar lengths in one chunk let the backend batch them tightly
        pending = sorted(todo.items(), key=lambda kv: -len(repr(kv[1])))
        done = 0
        for start in range(0, len(pending), self.chunk_size):
            part = pending[start:start + self.chunk_size]
            results = compute([req for _, req in part])
            fresh = {key: to_json(res) for (key, _), res in zip(part, results, strict=True)}
            self.store.put_many(fresh)  # committed now: a crash later loses nothing of this chunk
            found.update(fresh)
            done += len(part)
            if self.on_chunk is not None:
                self.on_chunk(done, len(pending))
        return [found[k] for k in keys]


def _ll_to_json(result: LoglikelihoodResult) -> list[Any]:
    return [result.logprob, result.is_greedy, result.n_tokens]
