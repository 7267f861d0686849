"""Backend-independent batching math: shared-context packing, length-sorted batches, stop strings.

Scoring the choices of a multiple-choice item the usual way runs the shared context once per choice.
``pack_by_context`` instead lays out one row per distinct context: the context tokens once, then every
continuation as its own segment. ``segment_mask`` lets each segment see the context and itself only, and
segment positions restart where the context ends, so each continuation is scored exactly as if it followed
the context alone, in a single forward pass.

    row:       c0 c1 c2 | a0 a1 | b0
    segment:    0  0  0 |  1  1 |  2
    position:   0  1  2 |  3  4 |  3

The last token of a continuation is never an input (nothing is predicted from it), so a one-token
continuation (`` A`` in a letter-format question) costs no input token at all: all four letters are read
from the logits at the context's last position.

``merge_shared_prefixes`` goes one level further: contexts that start with the same long token prefix (the
five solved examples of an MMLU subject, say) share one row, the prefix once, then each item's own context
suffix and its continuations. A token sees the prefix, its own item's suffix, and its own continuation.

>>> rows = pack_by_context([([1, 2, 3], [4, 5]), ([1, 2, 3], [6]), ([9], [7])], max_tokens=64)
>>> [(r.input_ids, r.segments, r.positions) for r in rows]
[([1, 2, 3, 4], [0, 0, 0, 1], [0, 1, 2, 3]), ([9], [0], [0])]
>>> rows[0].targets  # (request index, [(position predicting the token, token), ...])
[(0, [(2, 4), (3, 5)]), (1, [(2, 6)])]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch


@dataclass
class PackedRow:
    """One forward-pass row: a context followed by continuation segments."""

    input_ids: list[int]
    #: continuation number within its item (0: context)
    segments: list[int]
    positions: list[int]
    #: per request: its index and the (input position whose logits predict it, target token) pairs
    targets: list[tuple[int, list[tuple[int, int]]]] = field(default_factory=list)
    #: context tokens dropped from the left to fit ``max_tokens``
    truncated: int = 0
    #: item number per token: 0 for context shared by every item of the row, 1.. for an item's own tokens
    items: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.items:  # a single-context row: the context is shared, its continuations are item 1
            self.items = [0 if s == 0 else 1 for s in self.segments]

    def __len__(self) -> int:
        return len(self.input_ids)


def pack_by_context(pairs: Sequence[tuple[Sequence[int], Sequence[int]]], max_tokens: int) -> list[PackedRow]:
    """Pack ``(context_ids, continuation_ids)`` pairs into rows sharing each distinct context.

    A row never exceeds ``max_tokens`` inputs: a context with more continuations than fit is split over
    several rows, and a context too long for even one continuation is cut from the left (counted in
    ``PackedRow.truncated``). Pairs with an empty continuation are left out (their log-probability is 0).
    """
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, (ctx, cont) in enumerate(pairs):
        if cont:
            groups.setdefault(tuple(ctx), []).append(i)
    rows: list[PackedRow] = []
    for ctx, members in groups.items():
        row: PackedRow | None = None
        for i in members:
            cont = list(pairs[i][1])
            seg_len = len(cont) - 1
            if row is not None and len(row) + seg_len > max_tokens:
                rows.append(row)
                row = None
            if row is None:
                keep = max(1, min(len(ctx), max_tokens - seg_len))
                row = PackedRow(list(ctx[-keep:]), [0] * keep, list(range(keep)), truncated=len(ctx) - keep)
            n_ctx = len(row.input_ids) - sum(1 for s in row.segments if s)
            seg = 1 + len(row.targets)
            start = len(row.input_ids)
            row.input_ids.extend(cont[:-1])
            row.segments.extend([seg] * seg_len)
            row.items.extend([1] * seg_len)
            row.positions.extend(range(n_ctx, n_ctx + seg_len))
            # token 0 is predicted by the context's last position, token j by the segment's token j-1
            preds = [n_ctx - 1] + [start + j for j in range(seg_len)]
            row.targets.append((i, list(zip(preds, cont, strict=True))))
        if row is not None:
            rows.append(row)
    return rows


def segment_mask(segments: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean attention mask ``(B, 1, L, L)`` for packed rows.

    ``items`` (``(B, L)``, -1 for padding) numbers the item a token belongs to, 0 for the shared context;
    ``segments`` numbers the continuation within the item, 0 for the item's context. Query ``q`` sees key
    ``k <= q`` when ``k`` is shared context, or is in ``q``'s item and is that item's context or ``q``'s own
    continuation. A padding position sees only itself, so no row of the mask is empty (an all-masked row
    gives NaN in attention). Without ``items``, segment -1 marks padding and each row holds one item.
    """
    if items is None:
        items = torch.where(segments < 0, -1, torch.where(segments == 0, 0, 1))
    item_q, item_k = items[:, :, None], items[:, None, :]
    seg_q, seg_k = segments[:, :, None], segments[:, None, :]
    length = segments.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=segments.device).tril()
    own_item = (item_k == item_q) & ((seg_k == 0) | (seg_k == seg_q))
    allowed = causal & ((item_k == 0) | own_item) & (item_q >= 0) & (item_k >= 0)
    eye = torch.eye(length, dtype=torch.bool, device=segments.device)
    allowed = allowed | (eye & (item_q < 0))
    return allowed[:, None, :, :]


def merge_shared_prefixes(rows: Sequence[PackedRow], max_tokens: int, min_shared: int = 32) -> list[PackedRow]:
    """Merge single-context rows whose contexts share at least ``min_shared`` leading tokens.

    Merged rows stay within ``max_tokens``. Each item keeps at least its last context token as its own
    (the position that predicts its first continuation token), so scores are exactly those of the
    unmerged rows.

    >>> a = pack_by_context([([1, 2, 3, 4, 5], [8]), ([1, 2, 3, 4, 6], [9, 7])], max_tokens=64)
    >>> [(r.input_ids, r.items, r.segments, r.positions) for r in merge_shared_prefixes(a, 64, min_shared=3)]
    [([1, 2, 3, 4, 5, 6, 9], [0, 0, 0, 0, 1, 2, 2], [0, 0, 0, 0, 0, 0, 1], [0, 1, 2, 3, 4, 4, 5])]
    """
    ctxs = [r.input_ids[: r.segments.count(0)] for r in rows]  # a single-context row starts with its context
    order = sorted(range(len(rows)), key=lambda i: ctxs[i])
    out: list[PackedRow] = []
    group: list[int] = []
    shared = 0
    for i in order:
        if group:
            p = min(shared, _common_prefix(ctxs[group[0]], ctxs[i]), len(ctxs[i]) - 1)
            size = p + sum(len(rows[g]) - p for g in (*group, i))
            if p >= min_shared and size <= max_tokens:
                group.append(i)
                shared = p
                continue
            out.append(_merge(rows, ctxs, group, shared))
        group, shared = [i], len(ctxs[i]) - 1
    if group:
        out.append(_merge(rows, ctxs, group, shared))
    return out


def pack_rows(rows: Sequence[PackedRow], capacity: int) -> list[PackedRow]:
    """Put several short single-context rows into one row of at most ``capacity`` tokens (first fit,
    longest first), each as its own item that sees only itself: less padding, the same scores.

    Rows that already hold several items (merged by shared prefix) are kept as they are.

    >>> rows = pack_by_context([([1, 2], [5]), ([3, 4, 6], [7, 8]), ([9], [5])], max_tokens=64)
    >>> [(r.input_ids, r.items, r.positions) for r in pack_rows(rows, capacity=6)]
    [([3, 4, 6, 7, 1, 2], [1, 1, 1, 1, 2, 2], [0, 1, 2, 3, 0, 1]), ([9], [0], [0])]
    """
    singles = [i for i, r in enumerate(rows) if max(r.items, default=0) <= 1]
    kept = [r for i, r in enumerate(rows) if max(r.items, default=0) > 1]
    bins: list[list[int]] = []
    sizes: list[int] = []
    for i in sorted(singles, key=lambda i: -len(rows[i])):
        for b, size in enumerate(sizes):
            if size + len(rows[i]) <= capacity:
                bins[b].append(i)
                sizes[b] += len(rows[i])
                break
        else:
            bins.append([i])
            sizes.append(len(rows[i]))
    ctxs = [r.input_ids[: r.segments.count(0)] for r in rows]
    return kept + [_merge(rows, ctxs, b, 0) for b in bins]


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _merge(rows: Sequence[PackedRow], ctxs: list[list[int]], group: list[int], shared: int) -> PackedRow:
    if len(group) == 1:
        return rows[group[0]]
    ctx0 = ctxs[group[0]]
    merged = PackedRow(list(ctx0[:shared]), [0] * shared, list(range(shared)), items=[0] * shared,
                       truncated=max(rows[g].truncated for g in group))
    for k, g in enumerate(group, start=1):
        row, n_ctx = rows[g], len(ctxs[g])
        suffix_start = len(merged.input_ids)
        merged.input_ids.extend(ctxs[g][shared:])
        merged.positions.extend(range(shared, n_ctx))
        cont_start = len(merged.input_ids)
        merged.input_ids.extend(row.input_ids[n_ctx:])
        merged.positions.extend(row.positions[n_ctx:])
        merged.segments.extend([0] * (n_ctx - shared) + row.segments[n_ctx:])
        merged.items.extend([k] * (len(merged.input_ids) - suffix_start))

        def moved(x: int, n_ctx: int = n_ctx, suffix_start: int = suffix_start, cont_start: int = cont_start) -> int:
            return suffix_start + (x - shared) if x < n_ctx else cont_start + (x - n_ctx)

        merged.targets.extend((index, [(moved(x), t) for x, t in pairs]) for index, pairs in row.targets)
    return merged


def token_budget_batches(
    lengths: Sequence[int], max_batch_size: int, max_batch_tokens: int, *, max_batch_cells: int | None = None,
) -> list[list[int]]:
    """Indices grouped into batches after sorting by length (longest first), each within both budgets.

    A batch pads to its longest member, so its cost is ``len(batch) * longest``; sorting keeps padding
    small and puts the most expensive batch first (an out-of-memory error shows at once, not at the end).
    ``max_batch_cells`` also bounds ``len(batch) * longest**2``, the size of a full attention mask.

    >>> token_budget_batches([5, 1, 9, 3], max_batch_size=2, max_batch_tokens=100)
    [[2, 0], [3, 1]]
    >>> token_budget_batches([5, 1, 9, 3], max_batch_size=8, max_batch_tokens=12)
    [[2], [0, 3], [1]]
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        new_longest = max(longest, lengths[i])
        over_cells = max_batch_cells is not None and new_longest**2 * (len(current) + 1) > max_batch_cells
        if current and (len(current) + 1 > max_batch_size or new_longest * (len(current) + 1) > max_batch_tokens
                        or over_cells):
            batches.append(current)
            current, new_longest = [], lengths[i]
        current.append(i)
        longest = new_longest
    if current:
        batches.append(current)
    return batches


class StopChecker:
    """Finds stop strings in generated tokens without decoding the whole output at every step.

    Only the last ``window`` tokens are decoded: a stop string of ``c`` characters spans at most ``c``
    tokens, plus a partly decoded byte sequence on each side, so a window of ``c + 2`` tokens cannot miss it.

    >>> checker = StopChecker(lambda ids: "".join(chr(i) for i in ids), ["\\nQ:"])
    >>> checker.hit([ord(c) for c in "42\\nQ"]), checker.hit([ord(c) for c in "42\\nQ:"])
    (False, True)
    """

    def __init__(self, decode: Callable[[list[int]], str], stops: Sequence[str]):
        self.decode = decode
        self.stops = [s for s in stops if s]
        self.window = max((len(s) for s in self.stops), default=0) + 2

    def hit(self, tokens: Sequence[int]) -> bool:
        if not self.stops:
            return False
        text = self.decode(list(tokens[-self.window:]))
        return any(s in text for s in self.stops)
