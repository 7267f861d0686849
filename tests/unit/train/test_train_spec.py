"""TrainSpec validation, config files, and every shipped train / accelerate config."""

from __future__ import annotations

from pathlib import Path

import pytest

from mixlab.errors import SpecError
from mixlab.train.schedule import lr_at
from mixlab.train.spec import TrainSpec


def test_all_problems_are_reported_at_once_with_field_value_and_fix():
    with pytest.raises(SpecError) as err:
        TrainSpec(model="m", data="d", out="o", batch_size=0, template="chatt", epochs=1, max_steps=5,
                  lr=-1.0, schedule="cosin", warmup_ratio=2.0, save_at_steps=(10, -1))
    problems = err.value.problems
    assert len(problems) == 7
    text = "\n".join(problems)
    assert "batch_size: 0 is not positive" in text
    assert "template: 'chatt' is not valid (did you mean 'chat'?)" in text
    assert "epochs and max_steps: give only one budget" in text
    assert "schedule: 'cosin' is not valid (did you mean 'cosine'?)" in text
    assert "warmup_ratio: 2.0 is outside [0, 1]" in text


def test_budget_defaults_to_one_epoch_and_lr_to_the_method():
    s = TrainSpec(model="m", data="d", out="o")
    assert s.budget() == ("epochs", 1.0) and s.peak_lr() == 2e-5
    assert s.replace(lora=True).peak_lr() == 2e-4
    assert TrainSpec(model="m", data="d", out="o", max_tokens=10).budget() == ("tokens", 10)


def test_identity_ignores_only_what_does_not_change_learning():
    a = TrainSpec(model="m", data="d", out="o1")
    assert a.identity() == a.replace(out="o2", log_every=1, save_every=5, cpu_threads=1).identity()
    assert a.identity() != a.replace(seed=1).identity()
    assert a.identity() != a.replace(packing=True).identity()


def test_yaml_config_with_overrides_and_unknown_keys(tmp_path: Path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: m\ndata: d\nout: o\nbatch_sise: 4\nlr: 1.0e-4\n")
    with pytest.raises(SpecError, match="batch_sise: unknown field; did you mean 'batch_size'"):
        TrainSpec.from_file(cfg)
    cfg.write_text("model: m\ndata: d\nout: o\nlr: 1.0e-4\nsave_at_steps: [10, 20]\nreport_to: tensorboard\n")
    s = TrainSpec.from_file(cfg, lr=3e-4, seed=7)
    assert (s.lr, s.seed, s.save_at_steps, s.report_to) == (3e-4, 7, (10, 20), ("tensorboard",))
    with pytest.raises(SpecError, match="out: required"):
        TrainSpec.from_dict({"model": "m", "data": "d"})


def test_spec_round_trips_through_a_dict():
    s = TrainSpec(model="m", data="d", out="o", lora_target=("q_proj", "v_proj"), save_at_tokens=(100,))
    assert TrainSpec.from_dict(s.to_dict()) == s


def test_schedules_warm_up_and_decay():
    peak = 1.0
    assert [lr_at(s, 10, peak, "constant", warmup=2) for s in range(3)] == [0.5, 1.0, 1.0]
    cos = [lr_at(s, 100, peak, "cosine", warmup=10, min_ratio=0.1) for s in range(100)]
    assert cos[9] == 1.0 and cos[10] == 1.0 and 0.1 < cos[-1] < 0.11 and cos == sorted(cos[:10]) + cos[10:]
    wsd = [lr_at(s, 100, peak, "wsd", warmup=10, decay_ratio=0.2) for s in range(100)]
    assert set(wsd[10:80]) == {1.0} and wsd[-1] == pytest.approx(0.05) and wsd[80] == 1.0
