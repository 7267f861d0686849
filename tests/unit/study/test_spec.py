"""Study specs: validation reports every problem, expansion gives the paper's arms, identities are stable."""

from __future__ import annotations

import pytest

from mixlab.errors import MixlabError, SpecError
from mixlab.study.spec import StudySpec, expand, source_types

SOURCES = [
    {"name": "chat", "alias": "A", "world": "chat", "count": 10},
    {"name": "code", "alias": "C", "world": "code", "count": 10},
    {"name": "nlp", "alias": "P", "world": "nlp", "count": 10},
]


def spec(**kw):
    return StudySpec.from_dict({"name": "t", "mixture": {"sources": SOURCES}, **kw})


def test_subsets_design_expands_to_base_once_plus_seven_arms_per_volume_and_seed():
    runs = expand(spec(volumes=[10, 40], seeds=[0, 1]))
    assert len(runs) == 1 + 7 * 2 * 2
    assert runs[0].run_id == "mix=none" and runs[0].is_base and runs[0].n_train == 0
    labels = {r.mixture_label for r in runs}
    assert labels == {"none", "A", "C", "P", "A+C", "A+P", "C+P", "A+C+P"}
    ac = next(r for r in runs if r.run_id == "mix=A+C,n=40,seed=1")
    assert [(s.name, s.count, ) for s in ac.mixture.sources] == [("chat", 40), ("code", 40)]
    assert ac.mixture.seed == 1 and ac.seed == 1


def test_run_ids_are_unique_and_identities_depend_on_what_changes_the_result():
    runs = expand(spec(volumes=[10, 40], seeds=[0, 1]))
    assert len({r.run_id for r in runs}) == len(runs)
    assert len({r.identity() for r in runs}) == len(runs)
    again = expand(spec(volumes=[10, 40], seeds=[0, 1]))
    assert [r.identity() for r in runs] == [r.identity() for r in again]
    other_lr = expand(spec(volumes=[10, 40], seeds=[0, 1], train={"lr": 1e-3}))
    assert other_lr[0].identity() == runs[0].identity()  # the base model is not trained
    assert other_lr[1].identity() != runs[1].identity()


def test_every_problem_is_reported_at_once():
    with pytest.raises(SpecError) as err:
        StudySpec.from_dict({"mixture": {"sources": SOURCES}, "volumes": [40, 10], "seeds": [],
                             "train": {"seed": 3}, "design": "everything", "colour": 1})
    text = str(err.value)
    for needle in ("volumes", "seeds", "train.seed", "design", "colour"):
        assert needle in text
    assert len(err.value.problems) == 5


def test_yaml_round_trip_and_relative_paths(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.jsonl").write_text('{"instruction": "hi", "output": "yo"}\n')
    (tmp_path / "s.yaml").write_text(
        "name: y\nmodel: some/model\nmixture:\n  sources:\n    - {name: a, path: data/a.jsonl, count: 1}\n"
        "seeds: [3]\nsource_types: {a: chat}\n")
    s = StudySpec.from_yaml(tmp_path / "s.yaml")
    assert s.mixture.resolve_path(s.mixture.sources[0]) == tmp_path / "data" / "a.jsonl"
    assert StudySpec.from_dict(s.to_dict()) == s
    assert source_types(s) == {"a": "chat"}
    assert [r.run_id for r in expand(s)] == ["mix=none", "mix=a,n=1,seed=3"]


def test_yaml_model_and_eval_data_paths_are_relative_to_the_study_file(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    monkeypatch.setenv("MIXLAB_TEST_DATA", str(tmp_path / "elsewhere"))
    (tmp_path / "cfg" / "s.yaml").write_text(
        "name: y\nmodel: ./models/base\nmixture:\n  sources:\n    - {name: a, world: chat, count: 1}\n"
        "eval:\n  options: {data_dir: ../data}\n")
    s = StudySpec.from_yaml(tmp_path / "cfg" / "s.yaml")
    assert s.model == str(tmp_path / "cfg" / "models" / "base")
    assert s.eval.options["data_dir"] == str(tmp_path / "data")
    (tmp_path / "cfg" / "t.yaml").write_text(
        "name: y\nmodel: org/hub-model\nmixture:\n  sources:\n    - {name: a, world: chat, count: 1}\n"
        "eval:\n  options: {data_dir: $MIXLAB_TEST_DATA/x}\n")
    t = StudySpec.from_yaml(tmp_path / "cfg" / "t.yaml")
    assert t.model == "org/hub-model"  # a hub id is not a path
    assert t.eval.options["data_dir"] == str(tmp_path / "elsewhere" / "x")


def test_world_source_types_are_known():
    assert source_types(spec()) == {"A": "chat", "C": "code", "P": "nlp"}


def test_quickstart_config_file_equals_the_quickstart_spec(repo_root):
    from mixlab.quickstart import quickstart_spec

    shipped = StudySpec.from_yaml(repo_root / "configs" / "studies" / "quickstart.yaml")
    assert shipped.to_dict() | {"mixture": None} == quickstart_spec().to_dict() | {"mixture": None}
    assert shipped.mixture.to_dict() == quickstart_spec().mixture.to_dict()
    runs = expand(shipped)
    assert len(runs) == 1 + 7 * 2 * 4  # 8 subsets incl. base, 2 volumes, 4 seeds


def test_share_designs_honour_volumes_as_the_mixtures_total():
    """Before, simplex ignored volumes: runs labelled n=100 and n=400 were the same mixture."""
    shares = [{**s, "count": None, "share": 1 / 3} for s in SOURCES]
    for s in shares:
        s.pop("count")
    runs = expand(spec(mixture={"total": 30, "sources": shares}, design="simplex", design_options={"steps": 2},
                       volumes=[100, 400]))
    trained = [r for r in runs if not r.is_base]
    assert {r.mixture.total for r in trained if r.n_train == 100} == {100}
    assert {r.mixture.total for r in trained if r.n_train == 400} == {400}
    small = next(r for r in trained if r.mixture_label == "A50+C50" and r.n_train == 100)
    large = next(r for r in trained if r.mixture_label == "A50+C50" and r.n_train == 400)
    assert small.identity() != large.identity()
    with pytest.raises(SpecError, match=r"design_options\.total"):
        spec(mixture={"total": 30, "sources": shares}, design="dirichlet", design_options={"n": 2, "total": 50},
             volumes=[100])


def test_identity_covers_the_code_and_the_model_folders_content(tmp_path, monkeypatch):
    """A scoring fix or a model folder retrained in place must redo runs, not reuse them."""
    import mixlab.study.fingerprint as fp

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"\x00" * 1000)
    run = expand(spec(model=str(model), volumes=[10], seeds=[0]))[1]
    before = run.identity()
    (model / "model.safetensors").write_bytes(b"\x01" * 1000)  # retrained in place: same names and sizes
    assert run.identity() != before
    again = run.identity()
    monkeypatch.setattr(fp, "code_fingerprint", lambda: "another version of the scoring code")
    assert run.identity() != again


def test_code_fingerprint_ignores_docstrings_and_comments_not_statements(tmp_path):
    from mixlab.artifacts import source_bytes

    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_text('def f(x):\n    """Add one."""\n    return x + 1\n')
    b.write_text('def f(x):\n    """Add 1 to x."""\n    # why: because\n    return x + 1\n')
    c.write_text('def f(x):\n    """Add one."""\n    return x + 2\n')
    assert source_bytes(a) == source_bytes(b) != source_bytes(c)


def test_per_suite_limits_score_cheap_suites_on_more_items(shared_data):
    """``eval.limits`` gives a suite its own number of items; the others keep ``limit``; the cost counts it."""
    from mixlab.eval.suites import build_limited
    from mixlab.study.cost import eval_items

    opts = {"data_dir": str(shared_data), "subjects": "high_school_biology,philosophy"}
    tasks, limits = build_limited(["arc_easy", "mmlu"], 5, {"arc_easy": 40}, **opts)
    assert limits == {"arc_easy": 40, "mmlu_stem_knowledge": 5, "mmlu_humanities": 5}
    assert {t.name for t in tasks} == set(limits)
    with pytest.raises(MixlabError, match="eval limits: arc not among the suites"):
        build_limited(["arc_easy"], 5, {"arc": 40}, **opts)
    spec = StudySpec.from_dict({"model": "world", "mixture": {"sources": [{"name": "a", "world": "chat", "count": 4}]},
                                "eval": {"suites": ["arc_easy", "mmlu"], "limit": 5, "limits": {"arc_easy": 40},
                                         "options": opts}})
    assert eval_items(spec) == {"arc_easy": 40, "mmlu": 10}
    plain = StudySpec.from_dict({**spec.to_dict(), "eval": {**spec.to_dict()["eval"], "limits": {}}})
    assert expand(spec)[0].identity() != expand(plain)[0].identity()  # the items scored are part of a run
    with pytest.raises(SpecError, match=r"limits.mmlu: 0 is not a number of items >= 1"):
        StudySpec.from_dict({"model": "world", "mixture": {"sources": [{"name": "a", "world": "chat", "count": 4}]},
                             "eval": {"suites": ["mmlu"], "limits": {"mmlu": 0}}})
