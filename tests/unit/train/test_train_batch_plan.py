"""The batch plan: budgets, epochs, packing, length grouping, splitting steps over processes."""

from __future__ import annotations

import numpy as np
import pytest

from mixlab.train.batch_plan import build_plan, pack_rows, split_step

RNG = np.random.default_rng(0)
LENGTHS = RNG.integers(5, 120, size=200).tolist()
TRAIN = [max(1, n // 2) for n in LENGTHS]


def plan(**kw):
    args = dict(batch_size=8, max_length=128, packing=False, group_by_length=False, seed=0)
    args.update(kw)
    return build_plan(LENGTHS, TRAIN, **args)


def flat(p):
    return [i for step in p.steps for seq in step for i in seq]


def test_one_epoch_visits_every_example_once_and_counts_tokens():
    p = plan(epochs=1)
    assert sorted(flat(p)) == list(range(200))
    assert len(p) == 25 and p.trainable_tokens == sum(TRAIN)
    assert p.step_epoch[-1] == pytest.approx(1.0)


def test_epochs_reshuffle_with_their_own_seed():
    p = plan(epochs=2)
    first, second = flat(p)[:200], flat(p)[200:]
    assert sorted(first) == sorted(second) == list(range(200))
    assert first != second  # the same order every epoch is a known trap


def test_same_seed_same_plan_other_seed_other_plan():
    assert plan(epochs=1).steps == plan(epochs=1).steps
    assert plan(epochs=1).steps != plan(epochs=1, seed=1).steps


def test_fractional_epochs_and_step_budget():
    assert len(plan(epochs=1.5)) == 25 + 13
    p = plan(max_steps=60)
    assert len(p) == 60 and p.epochs_planned == 3


def test_token_budget_stops_at_the_first_step_that_reaches_it():
    p = plan(max_tokens=3000)
    assert p.trainable_tokens >= 3000
    assert p.trainable_tokens - p.step_tokens[-1] < 3000


def test_packing_fills_rows_without_splitting_examples():
    p = plan(epochs=1, packing=True)
    rows = [seq for step in p.steps for seq in step]
    assert sorted(i for r in rows for i in r) == list(range(200))
    assert all(sum(LENGTHS[i] for i in r) <= 128 for r in rows)
    # best-fit decreasing wastes little: within 10 % of the lower bound on rows
    assert len(rows) <= 1.1 * np.ceil(sum(LENGTHS) / 128) + 1


def test_pack_rows_is_best_fit():
    assert sorted(map(sorted, pack_rows([6, 4, 5, 5], 10, [0, 1, 2, 3]))) == [[0, 1], [2, 3]]


def test_length_grouping_cuts_padding_and_keeps_every_example():
    def padding(p):
        return sum(len(step) * max(LENGTHS[i] for seq in step for i in seq) - sum(LENGTHS[i] for seq in step for i in seq)
                   for step in p.steps)

    grouped, plain = plan(epochs=1, group_by_length=True), plan(epochs=1)
    assert sorted(flat(grouped)) == list(range(200))
    assert padding(grouped) < 0.5 * padding(plain)
    # the longest batch comes first, so running out of memory happens at step 1
    assert max(LENGTHS[i] for seq in grouped.steps[0] for i in seq) == max(LENGTHS)


def test_split_step_gives_every_process_the_same_number_of_rounds():
    step = [(i,) for i in range(5)]
    parts = split_step(step, micro_batch_size=2, world_size=2, rounds=2)
    assert parts == [[[(0,), (1,)], [(4,)]], [[(2,), (3,)], []]]
    with pytest.raises(ValueError):
        split_step(step, micro_batch_size=1, world_size=2, rounds=2)
