"""The real chain-of-thought preset (configs/studies/cot_real.yaml) end to end at tiny scale: its GSM8K train
source swapped for a local file of GSM8K-format rows (the shared test split's last problems, which the tiny
evaluation never scores), one share of M, one seed, both values of the `rationale` axis, one item per task,
through `mixlab study run` on a random 2-layer Llama with SmolLM2's tokenizer. What is trained is checked in
the built mixtures: the `steps` arm's M rows carry the worked answers, the `direct` arm's only '#### N'."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
import yaml

from mixlab.cli import main

pytestmark = pytest.mark.integration

PRESET = Path(__file__).resolve().parents[3] / "configs" / "studies" / "cot_real.yaml"
TRAIN_ROWS = 6  # the last problems of the test split stand in for the train split


def _m_rows(out: Path, run: str) -> list[dict]:
    rows = [json.loads(x) for x in (out / "runs" / run / "mixture" / "train.jsonl").read_text().splitlines()]
    return [r for r in rows if r["source"] == "gsm8k_train"]


def test_the_cot_preset_trains_with_and_without_rationales(tiny_llama_dir, shared_data, tmp_path, monkeypatch,
                                                           capsys):
    monkeypatch.setenv("MIXLAB_CACHE", str(tmp_path / "cache"))
    with gzip.open(shared_data / "gsm8k" / "test.jsonl.gz", "rt") as f:
        problems = [json.loads(x) for x in f]
    train_file = tmp_path / "gsm8k_train.jsonl"
    train_file.write_text("".join(json.dumps(p) + "\n" for p in problems[-TRAIN_ROWS:]))

    spec = yaml.safe_load(PRESET.read_text())
    alpaca, math = spec["mixture"]["sources"]
    alpaca.update(path=str((PRESET.parent / alpaca["path"]).resolve()), count=2)
    math.pop("hf"), math.pop("subset"), math.pop("split")
    math.update(path=str(train_file), count=TRAIN_ROWS)
    spec.update(model=str(tiny_llama_dir), seeds=[0], design_options={"source": "M", "factors": [1]})
    spec["train"].update(batch_size=2, max_length=256, log_every=1)
    spec["eval"]["limit"] = 1
    spec["eval"]["options"].update(data_dir=str(shared_data), max_new_tokens=8)
    path = tmp_path / "cot_real_tiny.yaml"
    path.write_text(yaml.safe_dump(spec))

    out = tmp_path / "study"
    code = main(["study", "run", str(path), "--out", str(out), "--no-report"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    runs = ["mix=A+Mx1,n=8,seed=0,rationale=steps", "mix=A+Mx1,n=8,seed=0,rationale=direct"]
    assert "2 runs: 2 done, 0 already complete, 0 failed" in printed

    steps, direct = (_m_rows(out, r) for r in runs)
    assert len(steps) == len(direct) == TRAIN_ROWS
    answers = {p["answer"].split("####")[-1].strip() for p in problems[-TRAIN_ROWS:]}
    assert all(r["messages"][-1]["content"].startswith("#### ") for r in direct)
    assert {r["messages"][-1]["content"][5:] for r in direct} == answers
    assert all("\n#### " in r["messages"][-1]["content"] for r in steps)  # the worked answer, then the final line
    assert all("<<" not in r["messages"][-1]["content"] for r in steps)  # calculator annotations removed
    scored = {r["messages"][0]["content"] for r in steps}
    assert not scored & {p["question"] for p in problems[:20]}  # training never sees a scored problem

    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {r["run_id"] for r in rows} == set(runs)
    assert {r["rationale"] for r in rows} == {"steps", "direct"}
    tasks = {r["task"] for r in rows}
    assert {"gsm8k", "arc_easy"} <= tasks and {t for t in tasks if t.startswith("bbh")} == {
        "bbh_multistep_arithmetic_two", "bbh_object_counting"}
