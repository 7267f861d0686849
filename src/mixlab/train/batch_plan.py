"""The batch plan: which examples go into which optimizer step, decided up front from the seed.

A *sequence* is one example, or (with packing) one row of several examples up to ``max_length`` tokens. A
*step* holds ``batch_size`` sequences (the last step of an epoch may hold fewer). The whole plan is a pure
function of (lengths, spec, seed), so every process of a distributed run, and a resumed run, computes the same
plan without talking to the others, and the number of trainable tokens in every step is known before it runs
(which is what makes the per-token loss exact across micro-batches and processes).

>>> lengths = [5, 3, 8, 2]
>>> rows = pack_rows(lengths, max_length=10, order=[0, 1, 2, 3])
>>> sorted(sorted(lengths[i] for i in r) for r in rows)
[[2, 8], [3, 5]]

Each epoch shuffles with its own seed ``(seed, epoch)``, so epochs see different orders (the same order every
epoch is a known trap). Length grouping sorts examples by length inside windows of ``64 * batch_size`` and then
shuffles the batches, as in transformers' ``group_by_length``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence as Seq
from dataclasses import dataclass

import numpy as np

GROUP_WINDOW = 64  # batches per length-sorting window: big enough to cut padding, small enough to stay random


@dataclass(frozen=True)
class Plan:
    """Steps of sequences of example indices, with what each step costs in trainable tokens."""

    steps: list[list[tuple[int, ...]]]
    step_tokens: list[int]
    step_epoch: list[float]
    sequences_per_epoch: int
    epochs_planned: int

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def trainable_tokens(self) -> int:
        return int(sum(self.step_tokens))


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(epoch), 0x6D69786C])  # "mixl": keeps streams apart


def pack_rows(lengths: Seq[int], max_length: int, order: Seq[int]) -> list[tuple[int, ...]]:
    """Best-fit decreasing: place each example (longest first) into the fullest row it still fits.

    Ties between equal lengths follow ``order`` (the epoch's shuffle), so rows differ across epochs.
    """
    rank = {ex: k for k, ex in enumerate(order)}
    items = sorted(order, key=lambda i: (-lengths[i], rank[i]))
    rows: list[list[int]] = []
    free: list[tuple[int, int]] = []  # sorted (space left, row index)
    for i in items:
        need = lengths[i]
        k = bisect.bisect_left(free, (need, -1))
        if k < len(free):
            space, row = free.pop(k)
            rows[row].append(i)
            if space - need > 0:
                bisect.insort(free, (space - need, row))
        else:
            rows.append([i])
            if max_length - need > 0:
                bisect.insort(free, (max_length - need, len(rows) - 1))
    return [tuple(r) for r in rows]


def _epoch_sequences(
    lengths: np.ndarray, batch_size: int, max_length: int, packing: bool, group_by_length: bool,
    seed: int, epoch: int,
) -> list[tuple[int, ...]]:
    rng = epoch_rng(seed, epoch)
    order = rng.permutation(len(lengths))
    if packing:
        rows = pack_rows(lengths.tolist(), max_length, order.tolist())
        perm = rng.permutation(len(rows))
        return [rows[k] for k in perm]
    if not group_by_length:
        return [(int(i),) for i in order]
    window = batch_size * GROUP_WINDOW
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches += [chunk[k : k + batch_size].tolist() for k in range(0, len(chunk), batch_size)]
    # The batch holding the longest examples goes first: the worst-case memory shows up at step 1, not hours in.
    first = int(np.argmax([lengths[b].max() for b in batches]))
    rest = [b for k, b in enumerate(batches) if k != first]
    perm = rng.permutation(len(rest))
    ordered = [batches[first]] + [rest[k] for k in perm]
    return [(int(i),) for b in ordered for i in b]


def build_plan(
    lengths: Seq[int],
    trainable: Seq[int],
    *,
    batch_size: int,
    max_length: int,
    packing: bool,
    group_by_length: bool,
    seed: int,
    epochs: float | None = None,
    max_steps: int | None = None,
    max_tokens: int | None = None,
) -> Plan:
    """Plan the run for exactly one budget (``epochs``, ``max_steps`` or ``max_tokens``; default 1 epoch)."""
    lens = np.asarray(lengths, dtype=np.int64)
    train_tok = np.asarray(trainable, dtype=np.int64)
    if len(lens) == 0:
        raise ValueError("no examples to plan")
    steps: list[list[tuple[int, ...]]] = []
    tokens: list[int] = []
    where: list[float] = []
    per_epoch = 0
    epoch = 0
    seen_tokens = 0
    full_epochs = math.ceil(epochs) if epochs is not None else None
    while True:
        seqs = _epoch_sequences(lens, batch_size, max_length, packing, group_by_length, seed, epoch)
        per_epoch = len(seqs)
        epoch_steps = [seqs[k : k + batch_size] for k in range(0, len(seqs), batch_size)]
        if full_epochs is not None and epoch == full_epochs - 1 and epochs is not None:
            frac = epochs - (full_epochs - 1)
            epoch_steps = epoch_steps[: max(1, math.ceil(frac * len(epoch_steps) - 1e-9))]
        for k, step in enumerate(epoch_steps):
            n = int(sum(train_tok[list(ex)].sum() for ex in step))
            steps.append(step)
            tokens.append(n)
            where.append(epoch + (k + 1) / math.ceil(per_epoch / batch_size))
            seen_tokens += n
            if (max_steps is not None and len(steps) >= max_steps) or (
                max_tokens is not None and seen_tokens >= max_tokens
            ):
                return Plan(steps, tokens, where, per_epoch, epoch + 1)
        epoch += 1
        if full_epochs is not None and epoch >= full_epochs:
            return Plan(steps, tokens, where, per_epoch, epoch)
        if max_steps is None and max_tokens is None and full_epochs is None:
            return Plan(steps, tokens, where, per_epoch, epoch)


def split_step(
    step: list[tuple[int, ...]], micro_batch_size: int, world_size: int, rounds: int
) -> list[list[list[tuple[int, ...]]]]:
    """Split a step into micro-batches per process: ``result[rank][k]`` is rank's k-th micro-batch.

    Every process runs exactly ``rounds`` micro-batches per step (empty ones where the step runs out: they
    run as zero-loss passes), because a distributed step must run the same number of forward/backward passes on
    every process, and gradient accumulation counts them.

    >>> split_step([(0,), (1,), (2,)], micro_batch_size=1, world_size=2, rounds=2)
    [[[(0,)], [(2,)]], [[(1,)], []]]
    """
    chunks = [step[k : k + micro_batch_size] for k in range(0, len(step), micro_batch_size)]
    if len(chunks) > rounds * world_size:
        raise ValueError(f"step of {len(step)} sequences does not fit {rounds} rounds x {world_size} processes")
    out: list[list[list[tuple[int, ...]]]] = [[[] for _ in range(rounds)] for _ in range(world_size)]
    for j, chunk in enumerate(chunks):
        out[j % world_size][j // world_size] = chunk
    return out
