"""Simulated mixture studies with known effects and variance components: the proof of calibration.

``tests/unit/analysis/test_calibration.py`` and ``benchmarks/calibration.py`` analyse thousands of these with
mixlab's own estimator and count how often its intervals cover the truth.

A study: the base model and every subset of sources {A, C, P} at one volume, ``seeds`` seeds, each arm
scored on the items of three abilities (one per type), items grouped in content clusters. An arm's true
score on an ability is ``base + sum of its sources' effects + an A-C interaction``; what a run measures adds

- training noise per (arm, seed) (``seed``) and a hardware-like per-run perturbation (``hardware``);
- item x arm noise per cluster (``cluster``) and per item (``item``), fixed across seeds (the same items);
- per (run, item) noise (``resid``), or Bernoulli draws with ``binary=True``.

The true main effect of a source is the mean over arm pairs of the true differences (the interaction
counts half for A and C); the item population has mean zero noise, so the truth is what every interval
should cover.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

TYPES = {"A": "chat", "C": "code", "P": "nlp"}
ABILITIES = {"chat_x": "chat", "code_x": "code", "nlp_x": "nlp"}


@dataclass(frozen=True)
class Noise:
    seed: float = 0.05
    hardware: float = 0.02
    cluster: float = 0.05
    item: float = 0.03
    resid: float = 0.2
    binary: bool = False


ARMS = ["+".join(c) for k in (1, 2, 3) for c in itertools.combinations("ACP", k)]


def true_scores(effects: dict[str, dict[str, float]], interaction: float = 0.0, base: float = 0.4) -> dict[str, dict[str, float]]:
    """``{arm: {ability: true mean}}``; ``effects[source][ability]`` is a source's additive effect."""
    out = {}
    for arm in ["none", *ARMS]:
        parts = set() if arm == "none" else set(arm.split("+"))
        out[arm] = {ab: base + sum(effects.get(s, {}).get(ab, 0.0) for s in parts)
                    + (interaction if {"A", "C"} <= parts else 0.0) for ab in ABILITIES}
    return out


def true_main_effect(truth: dict[str, dict[str, float]], source: str, ability: str) -> float:
    diffs = []
    for arm in ["none", *ARMS]:
        parts = set() if arm == "none" else set(arm.split("+"))
        if source in parts:
            continue
        plus = "+".join(x for x in "ACP" if x in parts | {source})
        diffs.append(truth[plus][ability] - truth[arm][ability])
    return float(np.mean(diffs))


def simulate(rng: np.random.Generator, truth: dict[str, dict[str, float]], seeds: int, noise: Noise,
             clusters: int = 30, cluster_size: tuple[int, int] = (1, 4), n_train: int = 100) -> tuple[list[dict], list[dict]]:
    """Results rows and item rows of one simulated study (the shapes of ``results.csv`` / ``items.csv.gz``).

    >>> rows, items = simulate(np.random.default_rng(0), true_scores({"C": {"code_x": 0.3}}), 2, Noise())
    >>> len({r["run_id"] for r in rows}), len(rows), len(items) > len(rows)
    (15, 45, True)
    """
    rows: list[dict] = []
    items: list[dict] = []
    layout = {}
    for ab in ABILITIES:
        sizes = rng.integers(cluster_size[0], cluster_size[1] + 1, clusters)
        layout[ab] = np.repeat(np.arange(clusters), sizes)
    arm_item = {(arm, ab): rng.normal(0, noise.cluster, clusters)[layout[ab]] + rng.normal(0, noise.item, len(layout[ab]))
                for arm in ["none", *ARMS] for ab in ABILITIES}
    runs = [("none", 0, 0)] + [(arm, n_train, s) for s in range(seeds) for arm in ARMS]
    for arm, n, s in runs:
        run_id = f"mix={arm},n={n},seed={s}"
        shift = rng.normal(0, noise.seed) + rng.normal(0, noise.hardware) if arm != "none" else 0.0
        for ab, kind in ABILITIES.items():
            mean = truth[arm][ab] + shift + arm_item[(arm, ab)]
            if noise.binary:
                values = (rng.random(len(mean)) < np.clip(mean, 0, 1)).astype(float)
            else:
                values = mean + rng.normal(0, noise.resid, len(mean))
            base = {"run_id": run_id, "mixture": arm, "n_train": n, "seed": s}
            rows.append({**base, "model": "m", "instruction_type": kind, "ability": ab, "task": ab, "metric": "acc",
                         "value": float(values.mean()), "stderr": 0.0, "n_items": len(values), "primary": True,
                         "chance": 0.0, "template": "t"})
            items += [{**base, "task": ab, "ability": ab, "instruction_type": kind, "metric": "acc",
                       "item": f"{ab}-{i}", "cluster": f"c{c}", "value": float(v)}
                      for i, (c, v) in enumerate(zip(layout[ab], values, strict=True))]
    return rows, items
