"""Designs: one base spec expanded into the list of mixtures a study compares.

Every design returns ``DesignPoint`` objects, which unpack as ``(label, spec)`` and also carry ``coords``
(what varies, for the results table). Labels are built from source aliases (``alias``, default the name),
joined by ``+``; the empty mixture is ``none``.

=================  ==================================================  =======================
design             points                                              label examples
=================  ==================================================  =======================
``subsets``        every subset of the sources (2^k, with ``none``)    ``none``, ``A``, ``A+C``
``simplex``        every share vector on a grid of step 1/steps        ``A50+C25+P25``
``leave_one_out``  the full mixture and each source left out           ``A+C+P``, ``C+P``
``scale_one``      one source's amount times each factor, others fixed ``Ax2+C+P``, ``C+P``
``ladder``         the mixture at total sizes growing x``factor``      ``A+C+P@40``
``dirichlet``      random share vectors from a Dirichlet (seeded)      ``dir00``, ``dir01``
``single``         the mixture as written                              ``A+C+P``
=================  ==================================================  =======================

``DESIGNS`` registers each under that one name, for the mix CLI (``mixlab mix design NAME``), study specs
(``design: NAME``) and the docs; the functions below (``simplex_grid``, ``volume_ladder``, ...) are the
same designs with their arguments spelled out.

>>> base = MixtureSpec.model_validate({"sources": [
...     {"name": "alpaca", "alias": "A", "path": "a.json", "fraction": 1.0},
...     {"name": "code", "alias": "C", "path": "c.json", "fraction": 1.0},
...     {"name": "p3", "alias": "P", "path": "p3", "count": 2000}]})
>>> [label for label, spec in subsets(base)]
['none', 'A', 'C', 'P', 'A+C', 'A+P', 'C+P', 'A+C+P']
>>> [p.label for p in volume_ladder(base.replace(sources=base.sources[2:]), start=10, steps=4)]
['P@10', 'P@40', 'P@160', 'P@640']
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mixlab.errors import MixlabError, SpecError
from mixlab.mix.amounts import apportion, round_half_up
from mixlab.mix.spec import MixtureSpec, SourceSpec
from mixlab.registry import Registry


@dataclass(frozen=True)
class DesignPoint:
    """One mixture of a design: ``label``, ``spec`` and the design ``coords`` of this point."""

    label: str
    spec: MixtureSpec
    coords: Mapping[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:  # ``for label, spec in design`` reads naturally
        yield self.label
        yield self.spec


def label_of(sources: Sequence[SourceSpec]) -> str:
    """``A+C`` from the sources' aliases; ``none`` for no source."""
    return "+".join(s.label for s in sources) or "none"


def _with_sources(spec: MixtureSpec, sources: Sequence[SourceSpec], **update: Any) -> MixtureSpec:
    return spec.replace(sources=list(sources), **update)


def _renormalised_shares(sources: Sequence[SourceSpec]) -> list[SourceSpec]:
    """Keep shares summing to 1 when only some of the share sources remain."""
    shares = [s.share for s in sources if s.share is not None]
    if not shares or len(shares) != len(sources):
        return list(sources)
    s = math.fsum(shares)
    return [src.with_amount("share", src.share / s) for src in sources]  # type: ignore[operator]


# -------------------------------------------------------------------------------------------- designs
def subsets(spec: MixtureSpec, *, sizes: Sequence[int] | None = None) -> list[DesignPoint]:
    """Every subset of the spec's sources, smallest first (``none``, ``A``, ..., ``A+C+P``).

    Each source keeps its own amount (the instruction-mixture paper's 8 arms use each source whole). When every
    source uses ``share``, the shares of a subset are rescaled to sum to 1, so each arm keeps ``total`` rows.
    """
    out = []
    k = len(spec.sources)
    for size in range(k + 1):
        if sizes is not None and size not in sizes:
            continue
        for combo in itertools.combinations(spec.sources, size):
            chosen = _renormalised_shares(combo)
            out.append(DesignPoint(label_of(chosen), _with_sources(spec, chosen),
                                   {"sources": [s.label for s in chosen]}))
    return out


def leave_one_out(spec: MixtureSpec, *, include_full: bool = True) -> list[DesignPoint]:
    """The full mixture (optional) and, for each source, the mixture without it."""
    out = [DesignPoint(label_of(spec.sources), spec, {"left_out": None})] if include_full else []
    for s in spec.sources:
        rest = _renormalised_shares([x for x in spec.sources if x.name != s.name])
        out.append(DesignPoint(label_of(rest), _with_sources(spec, rest), {"left_out": s.label}))
    return out


def simplex_grid(spec: MixtureSpec, steps: int, *, total: int | None = None) -> list[DesignPoint]:
    """Every share vector whose shares are multiples of ``1/steps`` (sources at share 0 are left out).

    ``steps=4`` over 3 sources gives the 15 points of the grid, from ``A100`` to ``A25+C25+P50``.
    """
    total = total or spec.total
    _need_total(total, "simplex_grid")
    if steps < 1:
        raise SpecError("simplex grid", [f"steps: {steps} is not a whole number >= 1"])
    k = len(spec.sources)
    out = []
    for parts in sorted(_compositions(steps, k), reverse=True):
        chosen = [s.with_amount("share", p / steps) for s, p in zip(spec.sources, parts, strict=True) if p]
        label = "+".join(f"{s.label}{_pct(s.share)}" for s in chosen)
        shares = {s.label: p / steps for s, p in zip(spec.sources, parts, strict=True)}
        out.append(DesignPoint(label, _with_sources(spec, chosen, total=total), {"shares": shares}))
    return out


def _compositions(n: int, k: int) -> Iterator[tuple[int, ...]]:
    """All k-tuples of integers >= 0 summing to n (stars and bars)."""
    for bars in itertools.combinations(range(n + k - 1), k - 1):
        cuts = (-1, *bars, n + k - 1)
        yield tuple(cuts[i + 1] - cuts[i] - 1 for i in range(k))


def _pct(share: float | None) -> str:
    x = round(100 * float(share or 0), 1)
    return f"{x:g}"


def scale_one(spec: MixtureSpec, source: str, factors: Sequence[float] = (0.25, 0.5, 2, 4)) -> list[DesignPoint]:
    """One source's amount times each factor, the others fixed (factor 0 leaves the source out).

    Shares are first turned into row counts of ``total`` (so the others stay fixed in rows, and the mixture
    grows or shrinks with the scaled source). Counts and tokens are rounded; a fraction scaled past 1 becomes
    ``epochs`` (rows then repeat, explicitly).
    """
    target = spec.source(source)
    base = _shares_to_counts(spec)
    out = []
    for f in factors:
        if f < 0:
            raise SpecError("scale_one", [f"factors: {f} is negative; use factors >= 0"])
        chosen = []
        for s in base:
            if s.name != target.name:
                chosen.append(s)
            elif f > 0:
                chosen.append(_scaled(s, f))
        label = "+".join(f"{s.label}x{f:g}" if s.name == target.name else s.label for s in chosen) or "none"
        out.append(DesignPoint(label, _with_sources(spec, chosen), {"source": target.label, "factor": f}))
    return out


def _shares_to_counts(spec: MixtureSpec) -> list[SourceSpec]:
    shares = [s for s in spec.sources if s.share is not None]
    if not shares:
        return list(spec.sources)
    _need_total(spec.total, "scale_one")
    total = spec.total or 0
    rows = apportion([s.share for s in shares], round_half_up(total * math.fsum(s.share for s in shares)))  # type: ignore[misc]
    counts = {s.name: r for s, r in zip(shares, rows, strict=True)}
    return [s.with_amount("count", counts[s.name]) if s.name in counts else s for s in spec.sources]


def _scaled(s: SourceSpec, f: float) -> SourceSpec:
    key, value = s.amount
    if key in ("count", "tokens"):
        return s.with_amount(key, max(1, round_half_up(value * f)))
    if key == "fraction" and value * f > 1:
        return s.with_amount("epochs", value * f)
    return s.with_amount(key, value * f)


def geometric_sizes(start: int = 10, factor: float = 4, steps: int | None = None, stop: int | None = None) -> list[int]:
    """``start, start*factor, ...``: ``steps`` sizes, or every size up to ``stop``.

    >>> geometric_sizes(10, 4, stop=10_000)
    [10, 40, 160, 640, 2560]
    """
    if start < 1 or factor <= 1 or (steps is None and stop is None):
        raise SpecError("volume ladder", ["needs start >= 1, factor > 1, and steps or stop"])
    sizes: list[int] = []
    n = float(start)
    while (steps is None or len(sizes) < steps) and (stop is None or round(n) <= stop):
        sizes.append(round(n))
        n *= factor
    return sizes


def volume_ladder(
    spec: MixtureSpec,
    *,
    sizes: Sequence[int] | None = None,
    start: int = 10,
    factor: float = 4,
    steps: int | None = 6,
    per_source: bool = False,
) -> list[DesignPoint]:
    """The mixture at growing sizes (the instruction-dynamics paper's x4 ladder: 10, 40, 160, ...).

    ``per_source=False``: each rung has ``n`` rows in total, split in the spec's proportions (its shares, or
    its counts used as weights), through ``share`` + ``total``. ``per_source=True``: every source gets ``count:
    n``. Rows are nested: each rung's rows contain the previous rung's, source by source (shares are rounded
    with a house-monotone method, so no source ever loses a row when ``n`` grows).
    """
    sizes = list(sizes) if sizes is not None else geometric_sizes(start, factor, steps)
    if any(n < 1 for n in sizes) or sizes != sorted(sizes):
        raise SpecError("volume ladder", [f"sizes: {sizes} must be increasing whole numbers >= 1"])
    weights = None if per_source else _ladder_weights(spec)
    base_label = label_of(spec.sources)
    out = []
    for n in sizes:
        if per_source:
            chosen = [s.with_amount("count", n, upsample=s.upsample) for s in spec.sources]
            new = _with_sources(spec, chosen)
        else:
            chosen = [s.with_amount("share", w) for s, w in zip(spec.sources, weights, strict=True)]  # type: ignore[arg-type]
            new = _with_sources(spec, chosen, total=n)
        out.append(DesignPoint(f"{base_label}@{n}", new, {"n": n, "per_source": per_source}))
    return out


def _ladder_weights(spec: MixtureSpec) -> list[float]:
    keys = {s.amount[0] for s in spec.sources}
    if keys == {"share"}:
        return [float(s.share or 0) for s in spec.sources]
    if keys == {"count"}:
        total = sum(int(s.count or 0) for s in spec.sources)
        if total == 0:
            raise SpecError("volume ladder", ["sources[*].count: all counts are 0; no proportions to keep"])
        return [int(s.count or 0) / total for s in spec.sources]
    raise SpecError("volume ladder", [
        f"sources[*]: amounts use {', '.join(sorted(keys))}; a total-size ladder keeps proportions given as "
        "share or count on every source (or use per_source=True / --per-source for count: n on every source)"])


def dirichlet(spec: MixtureSpec, n: int, *, alpha: float | Sequence[float] = 1.0, seed: int = 0,
              total: int | None = None) -> list[DesignPoint]:
    """``n`` random share vectors drawn from a Dirichlet(``alpha``) (seeded), for regression-based search.

    ``alpha=1`` spreads points uniformly over the simplex; smaller values favour mixtures dominated by one
    source, larger values mixtures near equal shares.
    """
    total = total or spec.total
    _need_total(total, "dirichlet")
    k = len(spec.sources)
    if k == 0 or n < 1:
        raise SpecError("dirichlet design", [f"needs at least one source and n >= 1 (got {k} sources, n={n})"])
    alphas = np.asarray(alpha, dtype=float)
    if alphas.ndim == 0:  # one value for every source (also a numpy scalar such as np.float32)
        alphas = np.full(k, float(alphas))
    if alphas.shape != (k,) or (alphas <= 0).any():
        raise SpecError("dirichlet design", [f"alpha: {alpha!r} must be > 0, one value or one per source"])
    draws = np.random.default_rng(seed).dirichlet(alphas, size=n)
    width = max(2, len(str(n - 1)))
    out = []
    for i, shares in enumerate(draws.tolist()):
        chosen = [s.with_amount("share", float(x)) for s, x in zip(spec.sources, shares, strict=True) if x > 0]
        coords = {"shares": {s.label: float(x) for s, x in zip(spec.sources, shares, strict=True)}, "draw": i}
        out.append(DesignPoint(f"dir{i:0{width}d}", _with_sources(spec, chosen, total=total), coords))
    return out


def _need_total(total: int | None, design: str) -> None:
    if total is None:
        raise SpecError(f"{design} design", ["total: needed (the mixture size the shares refer to); set it in the "
                                             "spec or pass total="])


def single(spec: MixtureSpec) -> list[DesignPoint]:
    """The mixture as written: one point (a study of volumes and seeds of one mixture)."""
    return [DesignPoint(label_of(spec.sources), spec, {})]


# ------------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Design:
    """A design as the mix CLI, study specs and docs name it: ``points(spec, **options)`` and what it reads."""

    name: str
    points: Callable[..., list[DesignPoint]]
    summary: str
    """One line for ``mixlab mix design --help`` and the docs' tables."""
    options: tuple[str, ...] = ()
    """The keyword options ``points`` reads (a study's ``design_options``, the CLI's flags)."""
    volume_is_total: bool = False
    """A study volume is the mixture's ``total`` rows (share designs), not rows per source."""


#: every design, by its one name (``leave-one-out`` is read as ``leave_one_out``; see ``get_design``)
DESIGNS: Registry[Design] = Registry("design")


def get_design(name: str) -> Design:
    """The design called ``name``; hyphens read as underscores (``scale-one`` is ``scale_one``).

    >>> get_design("leave-one-out").name
    'leave_one_out'
    """
    return DESIGNS.get(name.replace("-", "_"))


def _simplex(spec: MixtureSpec, *, steps: int = 4, total: int | None = None) -> list[DesignPoint]:
    return simplex_grid(spec, steps, total=total)


def _scale_one(spec: MixtureSpec, *, source: str | None = None,
               factors: Sequence[float] = (0.25, 0.5, 2, 4)) -> list[DesignPoint]:
    if not source:
        raise SpecError("scale_one design", ["source: needed (the source, by name or alias, whose amount is scaled)"])
    return scale_one(spec, source, factors)


def _ladder(spec: MixtureSpec, *, total: int | None = None, sizes: Sequence[int] | None = None, start: int = 10,
            factor: float = 4, steps: int | None = 6, per_source: bool = False) -> list[DesignPoint]:
    """``total``: one rung of that size (a study's volume); else the ladder of ``sizes`` or ``start``."""
    return volume_ladder(spec, sizes=[total] if total is not None else sizes, start=start, factor=factor,
                         steps=steps, per_source=per_source)


for _design in (
    Design("subsets", subsets, "every subset of the sources, 'none' to 'A+C+P' (2^k mixtures)", ("sizes",)),
    Design("simplex", _simplex, "every share vector on a 1/steps grid (needs total)", ("steps", "total"),
           volume_is_total=True),
    Design("leave_one_out", leave_one_out, "the full mixture and each source left out", ("include_full",)),
    Design("scale_one", _scale_one, "one source's amount times each factor, the others fixed",
           ("source", "factors")),
    Design("ladder", _ladder, "the mixture at sizes start, start*factor, ... (nested rows)",
           ("total", "sizes", "start", "factor", "steps", "per_source"), volume_is_total=True),
    Design("dirichlet", dirichlet, "n random share vectors (seeded), for regression-based search",
           ("n", "alpha", "seed", "total"), volume_is_total=True),
    Design("single", single, "the mixture as written (one point)"),
):
    DESIGNS.register(_design.name, _design)


def check_unique_labels(points: Sequence[DesignPoint]) -> None:
    seen: dict[str, int] = {}
    for i, p in enumerate(points):
        if p.label in seen:
            raise MixlabError(f"design labels collide: {p.label!r} (points {seen[p.label]} and {i}); "
                              "give the sources distinct aliases")
        seen[p.label] = i
