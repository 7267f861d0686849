"""Tokenize once, compose many: a per-source token cache, and a mixture's tokens read from it.

Each source is tokenized once per (tokenizer, template, max length) into flat numpy arrays under
``cache_dir``; the key is the source's *content* hash plus the tokenizer fingerprint (vocabulary, merges,
special tokens: never its name or path), the template id and the max length. A mixture is an index array
(``selection.npz``: source number and row number per mixture row) over those caches, so a new ratio or a new
amount costs no tokenization at all, and a different tokenizer can never reuse a cache (Axolotl #1265).

Cache folder ``<cache_dir>/<content>-<tokenizer>-<template>-L<max_length>/``:

- ``input_ids.npy`` (int32, all rows back to back), ``trained.npy`` (bool, the token carries loss),
- ``offsets.npy`` (int64, ``n + 1``: row ``i`` is ``offsets[i]:offsets[i+1]``),
- ``trainable.npy`` / ``full_length.npy`` (int32 per row), ``truncated.npy`` (bool per row), ``meta.json``.

For the trainer: ``load_mixture_tokens(mixture_dir, tokenizer, template)`` returns the encoded rows of a
built mixture, in mixture order, without re-tokenizing when the caches exist (and tokenizing only the
mixture's own rows when they do not):

>>> tokens = load_mixture_tokens("runs/mix-ac", tokenizer, "chat", cache_dir="cache")  # doctest: +SKIP
>>> len(tokens), tokens.source_names, tokens[0].n_trainable                            # doctest: +SKIP
(3000, ('chat', 'code'), 57)
>>> batch = tokens.to_encoded()            # list of mixlab.data.tokenize.EncodedExample  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mixlab.artifacts import atomic_write_json, read_jsonl
from mixlab.data.example import Example
from mixlab.data.tokenize import EncodedExample, encode_examples, template_id, tokenizer_fingerprint
from mixlab.errors import MixlabError
from mixlab.paths import token_cache_dir

DEFAULT_MAX_LENGTH = 2048
DEFAULT_TEMPLATE = "chat"
IGNORE_INDEX = -100
_CHUNK = 256  # examples per tokenizer call: big enough for the Rust batch path, small enough for a smooth bar


def default_cache_dir() -> Path:
    """``$MIXLAB_CACHE/tokens`` (default ``~/.cache/mixlab/tokens``; see ``mixlab.paths``)."""
    return token_cache_dir()


def tokenizer_record(tokenizer: Any, template: str | None) -> dict[str, str]:
    """What the manifest records about tokenization: fingerprint, template name and template id."""
    template = template or DEFAULT_TEMPLATE
    return {
        "fingerprint": tokenizer_fingerprint(tokenizer),
        "name": str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__),
        "template": template,
        "template_id": template_id(tokenizer, template),
    }


def cache_key(content_hash: str, fingerprint: str, template_id: str, max_length: int,
              source_name: str | None = None) -> str:
    """Folder name of a source's cache. ``source_name`` only matters for the ``dataset-name`` template,
    which writes the source's name into every prompt."""
    tag = f"-{source_name}" if source_name and template_id.startswith("dataset-name") else ""
    return f"{content_hash[:20]}-{fingerprint}-{template_id}-L{max_length}{tag}"


@dataclass(frozen=True)
class TokenCache:
    """One source's encoded rows (memory-mapped when read from disk)."""

    input_ids: np.ndarray
    trained: np.ndarray
    offsets: np.ndarray
    trainable: np.ndarray
    full_length: np.ndarray
    truncated: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    ARRAYS = ("input_ids", "trained", "offsets", "trainable", "full_length", "truncated")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(input_ids, labels)`` of row ``i``; labels are ``-100`` where no loss is taken."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        ids = np.asarray(self.input_ids[a:b])
        return ids, np.where(self.trained[a:b], ids, IGNORE_INDEX).astype(np.int32)

    @classmethod
    def from_encoded(cls, encoded: Sequence[Any], meta: dict[str, Any] | None = None) -> TokenCache:
        """Pack ``EncodedExample`` objects (``input_ids``, ``labels``, ``truncated``, ``n_tokens_full``)."""
        lens = np.fromiter((len(e.input_ids) for e in encoded), dtype=np.int64, count=len(encoded))
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        if encoded:
            ids = np.concatenate([np.asarray(e.input_ids, dtype=np.int32) for e in encoded])
            trained = np.concatenate([np.asarray(e.labels) != IGNORE_INDEX for e in encoded])
        else:
            ids, trained = np.zeros(0, np.int32), np.zeros(0, bool)
        return cls(
            input_ids=ids, trained=trained, offsets=offsets,
            trainable=np.fromiter((int(e.n_trainable) for e in encoded), np.int32, len(encoded)),
            full_length=np.fromiter((int(e.n_tokens_full) for e in encoded), np.int32, len(encoded)),
            truncated=np.fromiter((bool(e.truncated) for e in encoded), bool, len(encoded)),
            meta=dict(meta or {}),
        )

    def save(self, folder: Path) -> None:
        """Write atomically: a temp folder renamed into place (a concurrent writer's copy wins, equally)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            for name in self.ARRAYS:
                np.save(tmp / f"{name}.npy", getattr(self, name))
            atomic_write_json(tmp / "meta.json", {**self.meta, "rows": len(self)})
            try:
                os.replace(tmp, folder)
            except OSError:
                if not (folder / "meta.json").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def open(cls, folder: str | Path) -> TokenCache:
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in cls.ARRAYS}
        return cls(**arrays, meta=meta, path=folder)


def encode_rows(examples: Sequence[Example], tokenizer: Any, template: str, max_length: int,
                desc: str = "tokenizing", progress: bool = True) -> TokenCache:
    """Encode ``examples`` with the response-only encoder (``mixlab.data.tokenize``), in chunks, with a progress bar."""
    encoded: list[Any] = []
    chunks = range(0, len(examples), _CHUNK)
    if progress and len(examples) > _CHUNK:
        from rich.progress import track

        chunks = track(chunks, description=desc, transient=True)  # type: ignore[assignment]
    for start in chunks:
        encoded += encode_examples(examples[start : start + _CHUNK], tokenizer, template=template,
                                   max_length=max_length)
    return TokenCache.from_encoded(encoded)


def ensure_cache(
    examples: Sequence[Example],
    *,
    content_hash: str,
    tokenizer: Any,
    template: str | None = None,
    max_length: int | None = None,
    cache_dir: str | Path | None = None,
    source_name: str | None = None,
    progress: bool = True,
) -> tuple[TokenCache, bool]:
    """The source's cache, built if missing. Returns ``(cache, built_now)``."""
    info = tokenizer_record(tokenizer, template)
    max_length = max_length or DEFAULT_MAX_LENGTH
    key = cache_key(content_hash, info["fingerprint"], info["template_id"], max_length, source_name)
    folder = Path(cache_dir or default_cache_dir()) / key
    if (folder / "meta.json").exists():
        cache = TokenCache.open(folder)
        if len(cache) != len(examples):  # same content hash, different row count: a corrupt cache
            raise MixlabError(f"token cache {folder} has {len(cache)} rows, the source has {len(examples)}; "
                              "delete the folder to rebuild it")
        return cache, False
    built = encode_rows(examples, tokenizer, info["template"], max_length,
                        desc=f"tokenizing {source_name or content_hash[:8]}", progress=progress)
    meta = {**info, "content_hash": content_hash, "max_length": max_length, "source": source_name}
    built = TokenCache(**{n: getattr(built, n) for n in TokenCache.ARRAYS}, meta=meta)
    built.save(folder)
    return TokenCache.open(folder), True


# ---------------------------------------------------------------------------------------- mixture side
def gather(caches: Sequence[TokenCache], source: np.ndarray, row: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate rows ``(source[i], row[i])`` of ``caches`` in order: ``(input_ids, trained, offsets)``.

    Vectorised (no Python loop over rows): a ragged gather through ``np.repeat``.
    """
    base = np.cumsum([0] + [len(c) for c in caches[:-1]]).astype(np.int64)
    lens = np.concatenate([c.lengths for c in caches])[base[source] + row] if caches else np.zeros(0, np.int64)
    offsets = np.zeros(len(source) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    ids = np.empty(int(offsets[-1]), dtype=np.int32)
    trained = np.empty(int(offsets[-1]), dtype=bool)
    for s, cache in enumerate(caches):
        pos = np.nonzero(source == s)[0]
        if not len(pos):
            continue
        seg = lens[pos]
        within = np.arange(int(seg.sum()), dtype=np.int64) - np.repeat(np.cumsum(seg) - seg, seg)
        src_idx = np.repeat(cache.offsets[row[pos]], seg) + within
        dst_idx = np.repeat(offsets[pos], seg) + within
        ids[dst_idx] = cache.input_ids[src_idx]
        trained[dst_idx] = cache.trained[src_idx]
    return ids, trained, offsets


@dataclass(frozen=True)
class MixtureTokens:
    """A built mixture's encoded rows, in mixture order (flat arrays; rows built on access)."""

    input_ids: np.ndarray
    trained: np.ndarray
    offsets: np.ndarray
    source: np.ndarray
    """Per row: index into ``source_names``."""
    source_names: tuple[str, ...]
    truncated: np.ndarray
    full_length: np.ndarray
    tokenized_now: tuple[str, ...] = ()
    """Sources that had no cache and were tokenized from the mixture's own rows."""

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, i: int) -> Any:
        """Row ``i`` as an ``EncodedExample``."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        ids = self.input_ids[a:b]
        labels = np.where(self.trained[a:b], ids, IGNORE_INDEX).astype(np.int32)
        return EncodedExample(
            input_ids=ids, labels=labels, n_trainable=int(self.trained[a:b].sum()),
            truncated=bool(self.truncated[i]), n_tokens_full=int(self.full_length[i]),
            source=self.source_names[int(self.source[i])],
        )

    def to_encoded(self) -> list[Any]:
        return [self[i] for i in range(len(self))]

    def trainable_by_source(self) -> dict[str, int]:
        """Trainable (loss-carrying) tokens per source."""
        cs = np.concatenate([[0], np.cumsum(self.trained, dtype=np.int64)])
        per_row = cs[self.offsets[1:]] - cs[self.offsets[:-1]]
        return {name: int(per_row[self.source == s].sum()) for s, name in enumerate(self.source_names)}


def load_mixture_tokens(
    mixture_dir: str | Path,
    tokenizer: Any,
    template: str | None = None,
    *,
    cache_dir: str | Path | None = None,
    max_length: int | None = None,
    progress: bool = True,
) -> MixtureTokens:
    """The encoded rows of the mixture built in ``mixture_dir``, in its order.

    Each source's rows come from its token cache (key: the source content hash recorded in the manifest, the
    tokenizer's fingerprint, the template and ``max_length``, default the manifest's). A source without a
    cache is tokenized from the mixture's own ``train.jsonl`` rows (each distinct row once) and named in
    ``tokenized_now``; nothing is written to the cache then, since only part of the source is at hand.
    """
    from mixlab.mix.build import read_selection

    mixture_dir = Path(mixture_dir)
    manifest = json.loads((mixture_dir / "manifest.json").read_text(encoding="utf-8"))
    source, row = read_selection(mixture_dir)
    info = tokenizer_record(tokenizer, template)
    max_length = max_length or manifest.get("max_length") or DEFAULT_MAX_LENGTH
    root = Path(cache_dir or default_cache_dir())
    caches: list[TokenCache] = []
    fresh: list[str] = []
    rows_by_pos: list[dict[str, Any]] | None = None
    row = row.copy()
    for s, entry in enumerate(manifest["sources"]):
        key = cache_key(entry["content_hash"], info["fingerprint"], info["template_id"], max_length, entry["name"])
        if (root / key / "meta.json").exists():
            caches.append(TokenCache.open(root / key))
            continue
        if rows_by_pos is None:
            rows_by_pos = read_jsonl(mixture_dir / "train.jsonl")
        pos = np.nonzero(source == s)[0]
        _uniq, first, inverse = np.unique(row[pos], return_index=True, return_inverse=True)
        examples = [Example.from_dict(rows_by_pos[int(p)]) for p in pos[first]]
        caches.append(encode_rows(examples, tokenizer, info["template"], max_length,
                                  desc=f"tokenizing {entry['name']}", progress=progress))
        row[pos] = inverse.reshape(-1)
        fresh.append(entry["name"])
    ids, trained, offsets = gather(caches, source, row)
    truncated = np.zeros(len(source), dtype=bool)
    full = np.zeros(len(source), dtype=np.int32)
    for s, cache in enumerate(caches):
        m = source == s
        truncated[m] = cache.truncated[row[m]]
        full[m] = cache.full_length[row[m]]
    names = tuple(e["name"] for e in manifest["sources"])
    return MixtureTokens(ids, trained, offsets, source, names, truncated, full, tuple(fresh))
