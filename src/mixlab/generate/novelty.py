"""ROUGE-L between instructions: Self-Instruct keeps a new instruction only if its ROUGE-L F-measure with every
instruction already kept is below 0.7 (Wang et al. 2022, section 2.3).

Tokens are those of ``rouge-score`` (which Self-Instruct used, without stemming): lower-cased runs of ``a-z0-9``,
everything else a separator. The score is the F-measure of the longest common subsequence of tokens, so the
numbers are the paper's; ``tests/unit/generate/test_novelty.py`` checks them against ``rouge-score`` itself.

>>> round(rouge_l("Give three tips for staying healthy.", "Give three tips for sleeping well."), 3)
0.667
>>> index = NoveltyIndex()
>>> index.add("seed-1", "Give three tips for staying healthy.")
>>> index.nearest("give THREE tips, for staying healthy!")
(1.0, 'seed-1')
"""

from __future__ import annotations

import re
from collections import Counter

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def rouge_tokens(text: str) -> list[str]:
    """``rouge-score``'s default tokens: lower case, ``a-z0-9`` runs (other characters separate words)."""
    return _NON_ALNUM.sub(" ", text.lower()).split()


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (one row of the dynamic programme at a time)."""
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _f(lcs: int, m: int, n: int) -> float:
    return 0.0 if lcs == 0 else 2 * lcs / (m + n)  # 2PR/(P+R) with P = lcs/m, R = lcs/n


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F-measure of two texts (symmetric; 0 when either has no token)."""
    ta, tb = rouge_tokens(a), rouge_tokens(b)
    return _f(lcs_length(ta, tb), len(ta), len(tb)) if ta and tb else 0.0


class NoveltyIndex:
    """The instructions kept so far, and the most similar one to a new text by ROUGE-L.

    ``nearest`` is exact but prunes: the LCS is at most the tokens two texts share (counted with
    multiplicity), so F <= 2 * shared / (m + n); candidates are visited by that bound, best first, and the
    search stops when the bound falls below the best score found. With the 175 seed tasks and a few thousand
    generated ones, most pairs are never aligned.
    """

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.tokens: list[list[str]] = []
        self.bags: list[Counter[str]] = []

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, id: str, text: str) -> None:
        toks = rouge_tokens(text)
        self.ids.append(id)
        self.tokens.append(toks)
        self.bags.append(Counter(toks))

    def nearest(self, text: str) -> tuple[float, str | None]:
        """``(score, id)`` of the most similar instruction kept; ``(0.0, None)`` when none shares a token."""
        toks = rouge_tokens(text)
        if not toks:
            return 0.0, None
        bag = Counter(toks)
        bounds = []
        for i, other in enumerate(self.bags):
            shared = sum((bag & other).values())
            if shared:
                bounds.append((_f(shared, len(toks), len(self.tokens[i])), i))
        bounds.sort(key=lambda b: (-b[0], b[1]))
        best, best_id = 0.0, None
        for bound, i in bounds:
            if bound <= best:
                break
            score = _f(lcs_length(toks, self.tokens[i]), len(toks), len(self.tokens[i]))
            if score > best:
                best, best_id = score, self.ids[i]
        return best, best_id
