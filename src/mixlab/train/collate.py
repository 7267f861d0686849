"""Build the tensors of one micro-batch from encoded examples.

The loss is computed only where a token has a target, so the tensors carry a boolean ``keep`` mask of the
positions whose *next* token is trained; the model projects only those positions onto the vocabulary
(transformers' ``logits_to_keep``), which skips the prompt's share of the largest matrix multiply.

Targets are shifted *inside each example*: the last token of one packed example never predicts the first token
of the next. Packed rows carry ``position_ids`` that restart at 0 for every example (and for the padding at the
end); transformers turns restarting positions into a block-diagonal causal mask on CPU (sdpa/eager) and into
variable-length flash-attention on GPU, so packed examples never attend to each other.

>>> import numpy as np
>>> from mixlab.data.tokenize import EncodedExample
>>> a = EncodedExample(np.array([5, 6, 7]), np.array([-100, 6, 7]), 2, False, 3, "s")
>>> b = EncodedExample(np.array([8, 9]), np.array([-100, 9]), 1, False, 2, "t")
>>> mb = collate([a, b], [(0, 1)], {"s": 0, "t": 1}, pad_id=0, packing=True)
>>> mb.input_ids.tolist(), mb.position_ids.tolist()
([[5, 6, 7, 8, 9]], [[0, 1, 2, 0, 1]])
>>> mb.keep.tolist(), mb.targets.tolist(), mb.target_source.tolist()
([[True, True, False, True, False]], [6, 7, 9], [0, 0, 1])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mixlab.data.tokenize import IGNORE_INDEX, EncodedExample


@dataclass
class MicroBatch:
    input_ids: torch.Tensor
    """[B, T] token ids (right-padded)."""
    position_ids: torch.Tensor | None
    """[B, T] positions restarting per example (packing), or ``None`` (0..T-1 implied)."""
    keep: torch.Tensor
    """[B, T] bool: positions whose next token carries loss."""
    targets: torch.Tensor
    """[N] the next-token ids at the ``keep`` positions, in row-major order."""
    target_source: torch.Tensor
    """[N] source index of every target (per-source telemetry)."""
    n_tokens: int
    """Real (non-padding) tokens in the batch."""

    @property
    def n_targets(self) -> int:
        return int(self.targets.numel())

    def to(self, device: torch.device | str) -> MicroBatch:
        if str(device) == "cpu":
            return self
        return MicroBatch(
            self.input_ids.to(device, non_blocking=True),
            None if self.position_ids is None else self.position_ids.to(device, non_blocking=True),
            self.keep.to(device, non_blocking=True), self.targets.to(device, non_blocking=True),
            self.target_source.to(device, non_blocking=True), self.n_tokens,
        )


def _shifted(labels: np.ndarray) -> np.ndarray:
    out = np.full(len(labels), IGNORE_INDEX, dtype=np.int64)
    out[:-1] = labels[1:]
    return out


def collate(
    encoded: Sequence[EncodedExample],
    sequences: Sequence[tuple[int, ...]],
    source_index: Mapping[str, int],
    *,
    pad_id: int,
    packing: bool,
    pad_to_multiple_of: int = 1,
) -> MicroBatch:
    """Tensors for ``sequences`` (each a tuple of example indices; one index per sequence without packing).

    An empty ``sequences`` gives a one-token batch without targets (a zero-loss pass that keeps distributed
    processes in step).
    """
    if not sequences:
        one = torch.full((1, 1), pad_id, dtype=torch.long)
        empty = torch.zeros(0, dtype=torch.long)
        return MicroBatch(one, None, torch.zeros((1, 1), dtype=torch.bool), empty, empty, 0)
    rows_ids, rows_tgt, rows_src, rows_pos = [], [], [], []
    for seq in sequences:
        exs = [encoded[i] for i in seq]
        rows_ids.append(np.concatenate([e.input_ids for e in exs]).astype(np.int64))
        rows_tgt.append(np.concatenate([_shifted(e.labels) for e in exs]))
        rows_src.append(np.concatenate([np.full(len(e), source_index[e.source], dtype=np.int64) for e in exs]))
        rows_pos.append(np.concatenate([np.arange(len(e), dtype=np.int64) for e in exs]))
    width = max(len(r) for r in rows_ids)
    width = -(-width // pad_to_multiple_of) * pad_to_multiple_of
    b = len(rows_ids)
    ids = np.full((b, width), pad_id, dtype=np.int64)
    tgt = np.full((b, width), IGNORE_INDEX, dtype=np.int64)
    src = np.zeros((b, width), dtype=np.int64)
    pos = np.zeros((b, width), dtype=np.int64)
    n_tokens = 0
    for r, (i_, t_, s_, p_) in enumerate(zip(rows_ids, rows_tgt, rows_src, rows_pos, strict=True)):
        n = len(i_)
        n_tokens += n
        ids[r, :n], tgt[r, :n], src[r, :n], pos[r, :n] = i_, t_, s_, p_
        pos[r, n:] = np.arange(width - n)  # the padding is its own segment
    keep = tgt != IGNORE_INDEX
    position_ids = torch.from_numpy(pos) if packing else None
    return MicroBatch(
        torch.from_numpy(ids), position_ids, torch.from_numpy(keep),
        torch.from_numpy(tgt[keep]), torch.from_numpy(src[keep]), n_tokens,
    )
