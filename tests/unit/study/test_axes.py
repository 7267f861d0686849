"""Study axes: validation, the cross product, base-row sharing, run identities and the stores' axis columns."""

from __future__ import annotations

import csv
import json

import pytest

from mixlab.errors import SpecError
from mixlab.study import fingerprint
from mixlab.study.run_one import COMPLETE, run_dir
from mixlab.study.run_study import collect
from mixlab.study.spec import StudySpec, base_variants, expand

SOURCES = [
    {"name": "chat", "alias": "A", "world": "chat", "count": 10},
    {"name": "code", "alias": "C", "world": "code", "count": 10},
    {"name": "nlp", "alias": "P", "world": "nlp", "count": 10},
]
LR = {"lr": {"field": "train.lr", "values": [1.0e-4, 3.0e-4]}}


def spec(**kw):
    return StudySpec.from_dict({"name": "t", "mixture": {"sources": SOURCES}, "volumes": [10, 40], "seeds": [0, 1],
                                **kw})


def problems(**kw) -> list[str]:
    with pytest.raises(SpecError) as err:
        spec(**kw)
    return err.value.problems


# ----------------------------------------------------------------------------------------- validation
def test_an_unknown_field_is_refused_with_the_valid_ones():
    (p,) = problems(axes={"x": {"field": "train.lrate", "values": [1, 2]}})
    assert p.startswith("axes.x.field: train.lrate: not a TrainSpec field; valid fields: model; ")
    assert "train.lr," in p and "train.lora," in p and "world.hidden_size" in p
    assert "mixture.sources.<A|C|P>.<path|hf|world|format|split|subset|upsample|rationale>" in p


def test_eval_fields_and_fields_that_do_not_change_the_trained_run_are_refused():
    p = problems(axes={"a": {"field": "eval.limit", "values": [10, 20]},
                       "b": {"field": "train.log_every", "values": [1, 2]},
                       "c": {"field": "train.seed", "values": [1, 2]},
                       "d": {"field": "seeds", "values": [[0], [1]]}})
    assert len(p) == 4
    assert "an axis must change the trained run; evaluation options are the study's" in p[0]
    assert "train.log_every: does not change what is learned" in p[1]
    assert "train.seed: set per run by the study" in p[2]
    assert "seeds: not a field an axis can set" in p[3]


def test_each_value_is_validated_as_the_base_spec_would_be():
    p = problems(axes={"lr": {"field": "train.lr", "values": [1e-4, -1.0]},
                       "data": {"field": "mixture.sources.Q.path", "values": ["a.jsonl", "b.jsonl"]},
                       "kind": {"field": "mixture.sources.A.world", "values": ["chat", 3]}})
    assert any(x.startswith("axes.lr.values[1] (-1.0): train.lr: -1.0 is not positive") for x in p)
    assert any("mixture.sources.Q.path: no source 'Q'; sources: A, C, P" in x for x in p)
    assert any(x.startswith("axes.kind.values[1] (3): ") for x in p)


def test_names_values_and_labels_are_checked():
    p = problems(axes={"model": {"field": "model", "values": ["a", "b"]},
                       "one": {"field": "train.epochs", "values": [1]},
                       "files": {"field": "mixture.sources.A.path", "values": ["x/a.jsonl", "y/a.jsonl"]}})
    assert "axes.model: 'model' is a column of the results store" in p[0]
    assert "axes.one.values: [1] must be a list of at least two values" in p[1]
    assert "give repeated labels ['a', 'a']" in p[2]
    ok = spec(axes={"files": {"field": "mixture.sources.A.path", "values": ["x/a.jsonl", "y/a.jsonl"],
                              "labels": ["curated", "generated"]}})
    assert [r.run_id for r in expand(ok)][1:3] == ["mix=A,n=10,seed=0,files=curated", "mix=C,n=10,seed=0,files=curated"]


# ------------------------------------------------------------------------------------------ expansion
def test_the_cross_product_shares_the_base_row_across_an_lr_axis():
    runs = expand(spec(axes=LR))
    assert len(runs) == 1 + 7 * 2 * 2 * 2
    assert [r.run_id for r in runs if r.is_base] == ["mix=none"] and runs[0].axes == {}
    trained = [r for r in runs if not r.is_base]
    assert sum(r.axes == {"lr": "0.0001"} for r in trained) == sum(r.axes == {"lr": "0.0003"} for r in trained) == 28
    ac = next(r for r in runs if r.run_id == "mix=A+C,n=40,seed=1,lr=0.0003")
    assert ac.train == {"lr": 3e-4} and ac.mixture_label == "A+C" and ac.n_train == 40 and ac.seed == 1


def test_a_model_axis_has_one_base_row_per_value_and_crosses_other_axes():
    s = spec(axes={"size": {"field": "model", "values": ["org/small", "org/large-7b"]},
                   "lora": {"field": "train.lora", "values": [False, True]}}, volumes=[10], seeds=[0])
    runs = expand(s)
    bases = [r for r in runs if r.is_base]
    assert [(r.run_id, r.model) for r in bases] == [("mix=none,size=small", "org/small"),
                                                    ("mix=none,size=large-7b", "org/large-7b")]
    assert len(runs) == 2 + 7 * 2 * 2
    r = next(r for r in runs if r.run_id == "mix=C,n=10,seed=0,size=large-7b,lora=true")
    assert r.model == "org/large-7b" and r.train == {"lora": True}
    assert [v.model for v in base_variants(s)] == ["org/small", "org/large-7b"]
    resolved = expand(s, {"org/small": "/models/small", "org/large-7b": "/models/large"})
    assert {r.model for r in resolved} == {"/models/small", "/models/large"}


def test_a_source_axis_swaps_how_the_source_is_made(tmp_path):
    for name in ("curated", "generated"):
        (tmp_path / f"a_{name}.jsonl").write_text('{"instruction": "hi", "output": "yo"}\n')
    (tmp_path / "s.yaml").write_text(
        "name: y\nmodel: some/model\nmixture:\n  sources:\n    - {name: a, alias: A, path: a_curated.jsonl, count: 1}\n"
        "    - {name: code, alias: C, world: code, count: 1}\n"
        "axes:\n  A_data: {field: mixture.sources.A.path, values: [a_curated.jsonl, a_generated.jsonl]}\n")
    runs = expand(StudySpec.from_yaml(tmp_path / "s.yaml"))
    a = {r.axes["A_data"]: r for r in runs if r.mixture_label == "A"}
    assert set(a) == {"a_curated", "a_generated"}
    assert a["a_generated"].mixture.resolve_path(a["a_generated"].mixture.sources[0]) == tmp_path / "a_generated.jsonl"
    assert a["a_curated"].identity() != a["a_generated"].identity()
    c = {r.axes["A_data"]: r for r in runs if r.mixture_label == "C"}  # C's data is the same: only the axis differs
    assert c["a_curated"].mixture == c["a_generated"].mixture and c["a_curated"].identity() != c["a_generated"].identity()


def test_model_axis_paths_are_relative_to_the_study_file(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "name: y\nmodel: world\nmixture:\n  sources:\n    - {name: code, alias: C, world: code, count: 1}\n"
        "axes:\n  size: {field: model, values: [world, ./models/other]}\n")
    s = StudySpec.from_yaml(tmp_path / "s.yaml")
    assert s.axes["size"].values == ("world", str(tmp_path / "models" / "other"))
    assert [r.run_id for r in expand(s) if r.is_base] == ["mix=none,size=world", "mix=none,size=other"]


# ----------------------------------------------------------------------------------------- identities
#: identities of an axis-free spec computed on the code before axes existed (code and library versions held
#: fixed): finished studies must be reused after the change
PINNED = {"mix=none": "274e99b5afc9db67", "mix=A,n=10,seed=0": "bdfe20703539f3cc",
          "mix=C,n=10,seed=0": "dffffa21351df477", "mix=A+C,n=10,seed=0": "745a71fec10d79a1",
          "mix=A,n=40,seed=0": "286f5fd0ec596105"}


def test_a_study_without_axes_keeps_its_run_ids_and_identities(monkeypatch):
    monkeypatch.setattr(fingerprint, "code_fingerprint", lambda: "code0000")
    monkeypatch.setattr(fingerprint, "library_versions", lambda: {"torch": "0"})
    s = StudySpec.model_validate({"name": "s", "model": "hub/tiny-model", "mixture": {"sources": SOURCES[:2]},
                                  "design": "subsets", "volumes": [10, 40], "seeds": [0, 1],
                                  "train": {"lr": 1e-3, "epochs": 2}})
    runs = expand(s)[:5]
    assert {r.run_id: r.identity() for r in runs} == PINNED


def test_axis_values_enter_the_identity_and_the_shared_base_keeps_its_own():
    plain = {r.run_id: r.identity() for r in expand(spec(train={"lr": 1e-4}))}
    runs = {r.run_id: r for r in expand(spec(axes=LR))}
    assert runs["mix=none"].identity() == plain["mix=none"]  # the base is the same run: reused
    lo, hi = runs["mix=A,n=10,seed=0,lr=0.0001"], runs["mix=A,n=10,seed=0,lr=0.0003"]
    assert lo.identity() != hi.identity()
    assert lo.identity() != plain["mix=A,n=10,seed=0"]  # the axis is part of the identity
    assert len({r.identity() for r in runs.values()}) == len(runs)


# ---------------------------------------------------------------------------------------------- stores
def _fake_complete(study, run, value: float) -> None:
    folder = run_dir(study, run)
    folder.mkdir(parents=True)
    design = {"run_id": run.run_id, "mixture": run.mixture_label, "n_train": run.n_train, "seed": run.seed}
    row = {**design, "model": "m", "instruction_type": "code", "ability": "x", "task": "x", "metric": "acc",
           "value": value, "primary": True}
    (folder / "scores.jsonl").write_text(json.dumps(row) + "\n")
    (folder / "item_scores.jsonl").write_text(json.dumps({**design, "task": "x", "item": "1", "cluster": "c",
                                                          "value": value}) + "\n")
    if not run.is_base:
        (folder / "train").mkdir()
        (folder / "train" / "metrics.jsonl").write_text(json.dumps({"step": 1, "loss": 1.0, "lr": 1e-4}) + "\n")
    (folder / COMPLETE).write_text(run.identity() + "\n")


def test_results_items_and_training_stores_gain_one_column_per_axis(tmp_path):
    import gzip

    runs = expand(spec(axes=LR, volumes=[10], seeds=[0], model="hub/m"))
    for r in runs:
        _fake_complete(tmp_path, r, 0.5)
    assert collect(tmp_path, runs) == (len(runs), 0)
    with open(tmp_path / "results.csv", newline="") as f:
        results = list(csv.DictReader(f))
    assert list(results[0])[:6] == ["run_id", "mixture", "n_train", "seed", "lr", "model"]
    assert {r["run_id"]: r["lr"] for r in results}["mix=none"] == ""
    assert {r["lr"] for r in results if r["mixture"] != "none"} == {"0.0001", "0.0003"}
    with gzip.open(tmp_path / "items.csv.gz", "rt", newline="") as f:
        assert {r["lr"] for r in csv.DictReader(f)} == {"", "0.0001", "0.0003"}
    with open(tmp_path / "training.csv", newline="") as f:
        training = list(csv.DictReader(f))
    assert "axis_lr" in training[0] and "lr" in training[0]  # the axis beside the logged learning rate
    assert {r["axis_lr"] for r in training} == {"0.0001", "0.0003"}


def test_a_study_without_axes_writes_the_stores_as_before(tmp_path):
    runs = expand(spec(volumes=[10], seeds=[0], model="hub/m"))
    for r in runs:
        _fake_complete(tmp_path, r, 0.5)
    collect(tmp_path, runs)
    header = (tmp_path / "results.csv").read_text().splitlines()[0]
    assert header.startswith("run_id,mixture,n_train,seed,model,")
