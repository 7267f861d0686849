"""Training data in: a built mixture folder, its ``train.jsonl``, or any file ``mixlab data`` reads.

A built mixture (``train.jsonl`` + ``manifest.json`` + ``selection.npy``) is read through the mixture
layer's token cache (``mixlab.mix.token_cache.load_mixture_tokens``), so a study that trains many mixtures of the
same sources tokenizes each source once. Anything else is loaded with ``mixlab.data.load_source`` and
tokenized here. Rows that cannot be converted, examples cut before their response and (with
``on_overflow: drop``) over-long examples are all counted in ``DataStats``; nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixlab.data.tokenize import EncodedExample, encode_examples
from mixlab.errors import MixlabError
from mixlab.mix.token_cache import load_mixture_tokens

log = logging.getLogger(__name__)

_CHUNK = 512  # examples per tokenizer call


@dataclass
class DataStats:
    """What happened to the input rows on their way to the trainer."""

    input: str
    kind: str
    """``mixture`` (read through the token cache), ``mixture-jsonl`` (a mixture without selection arrays) or
    ``file``."""
    rows_read: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    examples: int = 0
    truncated: int = 0
    """Examples longer than ``max_length`` (cut at the end, or dropped with ``on_overflow: drop``)."""
    tokens_cut: int = 0
    """Tokens cut away by truncation, summed over truncated examples."""
    dropped_too_long: int = 0
    dropped_no_trainable: int = 0
    """Examples with no response token left after truncation (cannot teach anything; dropped)."""
    used: int = 0
    trainable_tokens: int = 0
    tokens: int = 0
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    tokenized_now: list[str] = field(default_factory=list)
    manifest_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _is_mixture_dir(p: Path) -> bool:
    return p.is_dir() and (p / "train.jsonl").is_file()


def load_encoded(
    data: str, tokenizer: Any, *, template: str, max_length: int, loss_on: str, on_overflow: str,
    progress: bool = True, cache_dir: str | None = None,
) -> tuple[list[EncodedExample], DataStats]:
    """Encode the training data named by ``data`` and return the usable examples with the statistics."""
    p = Path(data).expanduser()
    if not p.exists():
        raise MixlabError(f"data: {p} not found; give a built mixture folder, a train.jsonl, or a data file")
    if p.is_dir() and not _is_mixture_dir(p):
        raise MixlabError(f"data: folder {p} has no train.jsonl; is it a built mixture (`mixlab mix build`)?")
    encoded: list[EncodedExample] | None = None
    stats = DataStats(input=str(p), kind="file")
    mixture = p if p.is_dir() else (p.parent if p.name == "train.jsonl" and (p.parent / "manifest.json").exists()
                                    else None)
    if mixture is not None and loss_on == "all_assistant":
        encoded = _from_token_cache(mixture, tokenizer, template, max_length, stats, progress, cache_dir)
    if encoded is None:
        src = p / "train.jsonl" if p.is_dir() else p
        encoded = _from_file(src, tokenizer, template, max_length, loss_on, stats, progress)
        if mixture is not None:
            stats.kind = "mixture-jsonl"
    if mixture is not None:
        stats.manifest_id = _manifest_id(mixture)
    return _filter(encoded, on_overflow, stats), stats


def _manifest_id(folder: Path) -> str | None:
    import json

    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("id")
    except (OSError, ValueError):
        return None


def _from_token_cache(folder: Path, tokenizer: Any, template: str, max_length: int, stats: DataStats,
                      progress: bool, cache_dir: str | None) -> list[EncodedExample] | None:
    if not (folder / "selection.npy").is_file() or not (folder / "manifest.json").is_file():
        return None
    tokens = load_mixture_tokens(folder, tokenizer, template, max_length=max_length, progress=progress,
                                 cache_dir=cache_dir)
    stats.kind = "mixture"
    stats.rows_read = len(tokens)
    stats.tokenized_now = list(tokens.tokenized_now)
    return tokens.to_encoded()


def _from_file(path: Path, tokenizer: Any, template: str, max_length: int, loss_on: str, stats: DataStats,
               progress: bool) -> list[EncodedExample]:
    from mixlab.data.load import load_source

    src = load_source(path)
    counts = src.counts()
    stats.rows_read = counts["rows_read"]
    stats.rejected = counts["rejected"]
    stats.rejected_by_reason = counts["rejected_by_reason"]
    if stats.rejected:
        log.warning("%s: %d rows could not be converted (%s); they are not trained on", path, stats.rejected,
                    ", ".join(f"{k}: {v}" for k, v in stats.rejected_by_reason.items()))
    if not src.examples:
        raise MixlabError(f"data: no usable examples in {path} ({counts})")
    chunks = range(0, len(src.examples), _CHUNK)
    if progress and len(src.examples) > 4 * _CHUNK:
        from rich.progress import track

        chunks = track(chunks, description="tokenizing", transient=True)  # type: ignore[assignment]
    out: list[EncodedExample] = []
    for k in chunks:
        out += encode_examples(src.examples[k : k + _CHUNK], tokenizer, template=template,
                               max_length=max_length, loss_on=loss_on)
    return out


def _filter(encoded: list[EncodedExample], on_overflow: str, stats: DataStats) -> list[EncodedExample]:
    kept: list[EncodedExample] = []
    by_source: dict[str, Counter] = {}
    for e in encoded:
        c = by_source.setdefault(e.source, Counter())
        c["examples"] += 1
        if e.truncated:
            stats.truncated += 1
            stats.tokens_cut += e.n_tokens_full - len(e)
            c["truncated"] += 1
            if on_overflow == "drop":
                stats.dropped_too_long += 1
                c["dropped"] += 1
                continue
        if e.n_trainable == 0:
            stats.dropped_no_trainable += 1
            c["dropped"] += 1
            continue
        kept.append(e)
        c["used"] += 1
        c["trainable_tokens"] += e.n_trainable
        stats.trainable_tokens += e.n_trainable
        stats.tokens += len(e)
    stats.examples = len(encoded)
    stats.used = len(kept)
    stats.by_source = {k: dict(v) for k, v in sorted(by_source.items())}
    if stats.truncated:
        log.warning("%d of %d examples are longer than max_length (%s)", stats.truncated, len(encoded),
                    "dropped" if on_overflow == "drop" else "cut at the end")
    if stats.dropped_no_trainable:
        log.warning("%d examples have no response token within max_length and are dropped",
                    stats.dropped_no_trainable)
    if not kept:
        raise MixlabError(
            f"data: none of the {len(encoded)} examples has a response token within max_length; "
            "raise max_length"
        )
    return kept
