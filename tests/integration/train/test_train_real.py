"""The training layer on real models and data: SmolLM2 from its GGUF file, LoRA, a built mixture, and launches
through ``accelerate launch`` (one process, and two DDP processes on gloo)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mixlab.train import TrainSpec, train

pytestmark = pytest.mark.integration

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def alpaca_rows(shared_data: Path, tmp_path_factory) -> Path:
    """The first 32 rows of the shared Alpaca-format file, as a temporary JSON-lines file."""
    rows = json.loads(gzip.decompress((shared_data / "alpaca_en_demo_1k" / "alpaca_en_demo.json.gz").read_bytes()))
    out = tmp_path_factory.mktemp("alpaca") / "alpaca32.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows[:32]))
    return out


@pytest.fixture(scope="session")
def smollm2_tuned(smollm2_dir: Path, alpaca_rows: Path, tmp_path_factory):
    """Two full fine-tuning steps of the real SmolLM2-135M-Instruct, loaded from its 4-bit GGUF file."""
    out = tmp_path_factory.mktemp("smollm2_full")
    spec = TrainSpec(model=str(smollm2_dir), data=str(alpaca_rows), out=str(out), max_steps=2, batch_size=2,
                     max_length=64, packing=True, lr=1e-5, log_every=1, seed=0, cpu_threads=1)
    return train(spec)


def test_gguf_model_fine_tunes_and_starts_from_pretrained_weights(smollm2_tuned):
    r = smollm2_tuned
    assert r.model["source"]["gguf_file"] == SMOLLM2_FILE
    assert r.model["parameters"] == 134_515_008
    rows = [json.loads(x) for x in Path(r.metrics_path).read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2]
    # a pretrained chat model predicts Alpaca answers far better than chance (ln 49152 = 10.8)
    assert 0.5 < rows[0]["loss"] < 4.0
    final = Path(r.final_dir)
    assert (final / "model.safetensors").exists() and (final / "tokenizer.json").exists()
    assert r.truncated > 0  # max_length 64 cuts long answers, and says so


def test_lora_on_the_fine_tuned_folder_and_the_adapter_loads_with_peft(smollm2_tuned, alpaca_rows, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = smollm2_tuned.final_dir
    r = train(TrainSpec(model=base, data=str(alpaca_rows), out=str(tmp_path / "lora"), lora=True, lora_r=4,
                        max_steps=2, batch_size=2, max_length=64, lr=1e-3, seed=0, cpu_threads=1))
    assert r.model["trainable_parameters"] < 0.02 * r.model["parameters"]
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), r.final_dir)
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and max(float(p.abs().max()) for p in lora_b) > 0  # B starts at zero: it trained


@pytest.fixture(scope="session")
def small_mixture(shared_data: Path, smollm2_dir: Path, tmp_path_factory) -> Path:
    from transformers import AutoTokenizer

    from mixlab.mix.build import build_mixture

    root = tmp_path_factory.mktemp("mixture")
    spec = {"seed": 0, "max_length": 96, "sources": [
        {"name": "alpaca", "path": str(shared_data / "alpaca_en_demo_1k" / "alpaca_en_demo.json.gz"), "count": 24},
        {"name": "code", "path": str(shared_data / "code_alpaca" / "code_alpaca_2k.json.gz"), "count": 16},
    ]}
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    build_mixture(spec, root / "mix", tokenizer=tok, cache_dir=root / "cache", progress=False, verbose=False)
    return root / "mix"


def test_built_mixture_trains_from_the_token_cache_with_per_source_telemetry(small_mixture, tiny_llama_dir,
                                                                            tmp_path):
    r = train(TrainSpec(model=str(tiny_llama_dir), data=str(small_mixture), out=str(tmp_path / "run"),
                        cache_dir=str(small_mixture.parent / "cache"), max_length=96, batch_size=8, epochs=1, log_every=5, lr=1e-3, cpu_threads=1))
    assert r.data["kind"] == "mixture" and r.data["tokenized_now"] == []
    assert r.data["examples"] == 40 and set(r.data["by_source"]) == {"alpaca", "code"}
    assert r.data["used"] == 40 - r.data["dropped_no_trainable"]  # cut before the answer: dropped, counted
    last = json.loads(Path(r.metrics_path).read_text().splitlines()[-1])
    assert set(last["per_source"]) == {"alpaca", "code"}
    assert sum(v["tokens_total"] for v in last["per_source"].values()) == r.trainable_tokens


def test_token_cache_rows_equal_fresh_encoding_of_the_mixture_rows(small_mixture, smollm2_dir):
    import numpy as np
    from transformers import AutoTokenizer

    from mixlab.mix.token_cache import load_mixture_tokens
    from mixlab.train.data import DataStats, _from_file

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    cached = load_mixture_tokens(small_mixture, tok, "chat", max_length=96, progress=False,
                                 cache_dir=small_mixture.parent / "cache")
    assert cached.tokenized_now == ()
    cached = cached.to_encoded()
    fresh = _from_file(small_mixture / "train.jsonl", tok, "chat", 96, "all_assistant", DataStats("", ""), False)
    assert len(cached) == len(fresh) == 40
    for a, b in zip(cached, fresh, strict=True):
        assert np.array_equal(a.input_ids, b.input_ids) and np.array_equal(a.labels, b.labels)
        assert a.source == b.source


def _launch(args: list[str], env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_accelerate_launch_one_and_two_processes_learn_the_same_weights(tiny_llama_dir, alpaca_rows, tmp_path,
                                                                        repo_root):
    cfg = tmp_path / "train.yaml"
    common = dict(model=str(tiny_llama_dir), data=str(alpaca_rows), max_steps=3, batch_size=4, max_length=64,
                  lr=1e-3, log_every=1, seed=0, cpu_threads=1)
    cfg.write_text(json.dumps({**common, "out": str(tmp_path / "ddp")}))
    two = _launch(["--config_file", str(repo_root / "configs/accelerate/cpu_ddp_2proc.yaml"), "-m", "mixlab",
                   "train", str(cfg)])
    assert two.returncode == 0, two.stderr[-3000:]
    one = _launch(["--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
                   "--dynamo_backend", "no", "-m", "mixlab", "train", str(cfg), "--out", str(tmp_path / "one")])
    assert one.returncode == 0, one.stderr[-3000:]
    assert one.stdout.count("trainable tokens/s:") == 1 and two.stdout.count("trainable tokens/s:") == 1
    ddp = json.loads((tmp_path / "ddp" / "result.json").read_text())
    single = json.loads((tmp_path / "one" / "result.json").read_text())
    assert ddp["model"]["processes"] == 2 and single["model"]["processes"] == 1
    assert ddp["trainable_tokens"] == single["trainable_tokens"]
    a, b = _weights(tmp_path / "ddp" / "final"), _weights(tmp_path / "one" / "final")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-5
    rows_a = [json.loads(x)["loss"] for x in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    rows_b = [json.loads(x)["loss"] for x in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    assert rows_a == pytest.approx(rows_b, abs=1e-5)


def test_models_trained_on_a_gguf_base_load_for_evaluation(smollm2_dir, smollm2_tuned, alpaca_rows, tmp_path):
    """What a study does after training: load ``final/`` with the evaluation backend. A LoRA adapter's
    config names the GGUF folder as its base, which holds no safetensors: the loader must use its .gguf."""
    from mixlab.eval.backends import load_lm
    from mixlab.eval.lm import LoglikelihoodRequest

    lora = train(TrainSpec(model=str(smollm2_dir), data=str(alpaca_rows), out=str(tmp_path / "lora"), lora=True,
                           lora_r=4, max_steps=2, batch_size=2, max_length=64, lr=5e-3, seed=0, cpu_threads=1))
    req = [LoglikelihoodRequest("The capital of France is", " Paris")]
    opts = {"num_threads": 1, "progress": False}
    adapter = load_lm(lora.final_dir, **opts)  # the adapter folder alone, as a study evaluates it
    assert adapter.identity()["gguf_file"] == SMOLLM2_FILE
    recorded = json.loads((Path(lora.final_dir) / "mixlab_train.json").read_text())
    assert recorded["base"] == {"name_or_path": str(smollm2_dir), "path": str(smollm2_dir.resolve()),
                                "gguf_file": SMOLLM2_FILE}
    explicit = load_lm(str(smollm2_dir), adapter=lora.final_dir, merge_adapter=False, **opts)
    got, want = (lm.loglikelihood(req)[0].logprob for lm in (adapter, explicit))
    with explicit.model.disable_adapter():
        before = explicit.loglikelihood(req)[0].logprob
    assert got == pytest.approx(want, abs=1e-5)
    assert abs(got - before) > 1e-4  # the adapter is applied, not silently dropped
    full = load_lm(smollm2_tuned.final_dir, **opts)  # a full fine-tune saved from the GGUF base
    assert full.identity()["gguf_file"] is None
    assert abs(full.loglikelihood(req)[0].logprob - before) < 1.0  # two small steps: near the base, not noise
