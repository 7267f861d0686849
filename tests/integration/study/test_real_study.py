"""The real study path, end to end, at tiny scale: the CPU preset (configs/studies/paper1_smollm2_cpu.yaml)
shrunk to two arms (the base model and A+C+P), one seed, two rows per source of the real Alpaca, CodeAlpaca and P3
files, and one item of every task, run through `mixlab study run` for a GGUF base (the shared SmolLM2) and a
safetensors base (a 2-layer Llama with SmolLM2's tokenizer), each with LoRA and with full fine-tuning.
Every other setting (suites, shots, MMLU subjects, IFEval prompts, LoRA rank, packing) is the preset's."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from mixlab.cli import main

pytestmark = pytest.mark.integration

PRESET = Path(__file__).resolve().parents[3] / "configs" / "studies" / "paper1_smollm2_cpu.yaml"
TASKS = {"arc_easy", "mmlu_stem_knowledge", "mmlu_humanities", "humaneval", "mbpp", "ifeval"}


def tiny_study(path: Path, model: Path, recipe: str, lr: float, data_dir: Path, include_base: bool) -> Path:
    """The preset with only the scale changed: what the test runs is what a user runs."""
    spec = yaml.safe_load(PRESET.read_text())
    for src in spec["mixture"]["sources"]:
        src["path"] = str((PRESET.parent / src["path"]).resolve())
    spec.update(name=path.stem, model=str(model), design="single", volumes=[2], seeds=[0], include_base=include_base)
    spec["train"].update(lora=recipe == "lora", lr=lr, epochs=2, batch_size=2, max_length=160, log_every=1)
    spec["eval"]["limit"] = 1
    spec["eval"]["options"].update(data_dir=str(data_dir), max_new_tokens=16)
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture(params=[pytest.param("gguf", marks=pytest.mark.slow), "safetensors"])
def base_model(request: pytest.FixtureRequest) -> tuple[str, Path]:
    name = "smollm2_dir" if request.param == "gguf" else "tiny_llama_dir"
    return request.param, request.getfixturevalue(name)


@pytest.mark.parametrize("recipe", ["lora", "full"])
def test_the_cpu_preset_runs_end_to_end_at_tiny_scale(recipe, base_model, shared_data, tmp_path, monkeypatch,
                                                      capsys):
    kind, model = base_model
    monkeypatch.setenv("MIXLAB_CACHE", str(tmp_path / "cache"))
    # the random 2-layer model needs a large step to learn anything in a few steps; SmolLM2 takes the recipe's
    lr = 1e-3 if kind == "safetensors" else 2e-4 if recipe == "lora" else 5e-5
    include_base = recipe == "lora"  # the base row does not depend on the recipe: scored once per model
    spec = tiny_study(tmp_path / f"{kind}-{recipe}.yaml", model, recipe, lr, shared_data, include_base)
    out = tmp_path / "study"
    code = main(["study", "run", str(spec), "--out", str(out), "--no-report"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    runs = ["mix=none", "mix=A+C+P,n=2,seed=0"] if include_base else ["mix=A+C+P,n=2,seed=0"]
    assert f"{len(runs)} runs: {len(runs)} done, 0 already complete, 0 failed" in printed
    assert main(["study", "status", str(out)]) == 0
    assert f"{len(runs)} complete, 0 failed, 0 unfinished, 0 not started" in capsys.readouterr().out

    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {r["run_id"] for r in rows} == set(runs)
    for run in runs:
        mine = [r for r in rows if r["run_id"] == run]
        assert {r["task"] for r in mine} == TASKS, run  # every suite scored every run
        assert all(0.0 <= float(r["value"]) <= 1.0 for r in mine), run
        assert all(r["n_items"] == "1" for r in mine if r["primary"] == "True"), run

    trained = out / "runs" / runs[-1]
    result = json.loads((trained / "train" / "result.json").read_text())
    assert result["data"]["by_source"].keys() == {"alpaca", "code_alpaca", "p3"}
    final = trained / "train" / "final"
    assert (final / "adapter_config.json").is_file() == (recipe == "lora")
    assert (final / "model.safetensors").is_file() == (recipe == "full")
    metrics = [json.loads(x) for x in (trained / "train" / "metrics.jsonl").read_text().splitlines()]
    first = [m for m in metrics if m["epoch"] <= 1.0]
    second = [m for m in metrics if m["epoch"] > 1.0]
    assert first and second, metrics

    def mean_loss(part: list[dict]) -> float:
        return sum(m["loss"] * m["window_trainable_tokens"] for m in part) / sum(
            m["window_trainable_tokens"] for m in part)

    assert mean_loss(second) < mean_loss(first)  # the second pass over the same rows: it learned
