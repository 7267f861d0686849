"""Every config shipped under configs/ is read and validated by the code that reads it, and the files it names
exist. Study specs also expand into their runs. A new folder under configs/ needs a reader here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
ALL = sorted(p for p in CONFIGS.rglob("*") if p.is_file())

#: study config -> (runs, trained runs' distinct mixtures) that its comments promise
STUDIES = {
    "quickstart.yaml": (57, 7),
    "paper1_real.yaml": (15, 7),
    "paper1_smollm2_cpu.yaml": (15, 7),
    "paper1_smollm2_cpu_types.yaml": (10, 3),
    "cot_real.yaml": (18, 3),
    "paper1_gpu.yaml": (29, 7),
    "simplex_world.yaml": (132, 66),
    "simplex_smollm2_cpu.yaml": (20, 10),
    "axes_world.yaml": (29, 7),
    "dynamics_world.yaml": (408, 15),
    "cot_world.yaml": (24, 4),
    "templates_world.yaml": (19, 1),
    "synthetic_world.yaml": (19, 1),
}


@pytest.fixture
def needs_data(request: pytest.FixtureRequest) -> Path:
    """The shared data folder; the test is skipped, with the reason, where it is absent: the config's paths
    point into it."""
    return request.getfixturevalue("shared_data")


def _exists(path: str | Path, config: Path, what: str) -> None:
    assert Path(path).exists(), f"{config.relative_to(REPO)}: {what} not found: {path}"


def test_every_config_has_a_reader():
    folders = {p.relative_to(CONFIGS).parts[0] for p in ALL}
    assert folders == {"studies", "mixtures", "train", "accelerate", "lm_eval"}
    assert {p.name for p in (CONFIGS / "studies").glob("*.yaml")} == set(STUDIES)


@pytest.mark.parametrize("path", sorted((CONFIGS / "studies").glob("*.yaml")), ids=lambda p: p.name)
def test_study_config_validates_and_expands(path: Path, request: pytest.FixtureRequest):
    from mixlab.study.spec import StudySpec, expand
    from mixlab.train import TrainSpec

    spec = StudySpec.from_yaml(path)
    runs = expand(spec)
    want_runs, want_arms = STUDIES[path.name]
    assert len(runs) == want_runs and (runs[0].run_id.startswith("mix=none") or not spec.include_base)
    assert len({r.mixture_label for r in runs if not r.is_base}) == want_arms
    TrainSpec.from_dict({**spec.train, "model": "m", "data": "d", "out": "o"})  # the shared recipe is valid
    from mixlab.eval.suites import SUITES, suite_options

    assert all(SUITES.get(s) for s in spec.eval.suites)  # known suite names ("did you mean" otherwise)
    suite_options(list(spec.eval.suites), dict(spec.eval.options))  # every option read by a suite, typed
    if spec.model == "world" or spec.model.startswith("world:"):
        return
    request.getfixturevalue("needs_data")
    if spec.model.startswith("/"):  # a path (resolved beside the file), not a hub id
        _exists(spec.model, path, "model")
    for src in spec.mixture.sources:
        if src.path is not None:  # hub sources (hf:) are read where the hub is; tests swap them for files
            _exists(spec.mixture.resolve_path(src), path, f"source {src.name}")
    _exists(spec.eval.options["data_dir"], path, "eval data_dir")


@pytest.mark.parametrize("path", sorted((CONFIGS / "mixtures").glob("*.yaml")), ids=lambda p: p.name)
def test_mixture_config_validates(path: Path, request: pytest.FixtureRequest):
    from mixlab.mix.spec import MixtureSpec

    spec = MixtureSpec.from_yaml(path)
    assert spec.sources
    request.getfixturevalue("needs_data")
    for src in spec.sources:
        if src.path:
            _exists(spec.resolve_path(src), path, f"source {src.name}")
    for target in spec.decontaminate.against if spec.decontaminate else ():
        _exists(spec.resolve(target), path, "decontamination set")


@pytest.mark.parametrize("path", sorted((CONFIGS / "train").glob("*.yaml")), ids=lambda p: p.name)
def test_train_config_validates(path: Path, request: pytest.FixtureRequest):
    from mixlab.train import TrainSpec

    spec = TrainSpec.from_file(path)
    assert spec.model and spec.data and spec.out
    assert spec.budget()[0] in ("epochs", "steps", "tokens")
    if spec.model.startswith("."):  # relative to the repository root, where the commands are run
        request.getfixturevalue("needs_data")
        _exists(REPO / spec.model, path, "model")


@pytest.mark.parametrize("path", sorted((CONFIGS / "accelerate").glob("*")), ids=lambda p: p.name)
def test_accelerate_config_parses_and_leaves_accumulation_to_mixlab(path: Path):
    if path.suffix == ".json":
        cfg = json.loads(path.read_text())
        assert cfg["gradient_accumulation_steps"] == "auto" and cfg["train_micro_batch_size_per_gpu"] == "auto"
        assert cfg["zero_optimization"]["stage"] in (2, 3)
        return
    cfg = yaml.safe_load(path.read_text())
    assert cfg["distributed_type"] in ("NO", "MULTI_GPU", "MULTI_CPU", "DEEPSPEED", "FSDP")
    assert cfg["num_processes"] >= 1 and cfg["num_machines"] >= 1
    assert "gradient_accumulation_steps" not in json.dumps(cfg)
    ds_file = (cfg.get("deepspeed_config") or {}).get("deepspeed_config_file")
    if ds_file:
        _exists(REPO / ds_file, path, "deepspeed config")
    # accelerate itself reads the file (the same loader `accelerate launch --config_file` uses)
    from accelerate.commands.config.config_args import load_config_from_file

    assert load_config_from_file(str(path)).num_processes == cfg["num_processes"]


@pytest.mark.parametrize("path", sorted((CONFIGS / "lm_eval").glob("*.yaml")), ids=lambda p: p.name)
def test_lm_eval_task_config_loads_in_lm_eval(path: Path, tmp_path: Path, needs_data: Path):
    pytest.importorskip("lm_eval", reason="lm-eval is not installed (the dev extra)")
    from lm_eval.tasks import TaskManager, get_task_dict

    from mixlab.eval.lm_eval_bridge import write_task_dir

    name = yaml.safe_load(path.read_text())["task"]
    folder = write_task_dir(tmp_path, [], needs_data, include=[path.parent])
    text = (folder / path.name).read_text()
    for data_file in yaml.safe_load(text)["dataset_kwargs"]["data_files"].values():
        _exists(data_file, path, "data file")
    manager = TaskManager(include_path=str(folder), include_defaults=False)
    assert name in manager.all_tasks
    # TaskManager.load since lm-eval 0.4.12; get_task_dict before it (deprecated after)
    task = (manager.load([name])["tasks"] if hasattr(manager, "load") else get_task_dict([name], manager))[name]
    assert yaml.safe_load(text)["output_type"] == task.OUTPUT_TYPE and len(task.eval_docs) > 0
