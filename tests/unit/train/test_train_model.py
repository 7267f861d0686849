"""Model sources (folder, GGUF, hub id) and the errors users see, each naming what to change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mixlab.data.tokenize import TemplateError
from mixlab.errors import MixlabError
from mixlab.train import TrainSpec, train
from mixlab.train.model import ModelError, resolve_model_source


def spec(model, data, out, **kw) -> TrainSpec:
    base = dict(model=str(model), data=str(data), out=str(out), batch_size=4, max_length=96, max_steps=2,
                cpu_threads=1)
    base.update(kw)
    return TrainSpec(**base)


def test_folder_without_config_or_weights_says_what_is_missing(tmp_path: Path, micro_model_dir: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(ModelError, match=r"no config.json \(files there: notes.txt\)"):
        resolve_model_source(str(empty))
    no_weights = tmp_path / "no_weights"
    shutil.copytree(micro_model_dir, no_weights)
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(ModelError, match=r"no weights .* use init: random"):
        resolve_model_source(str(no_weights))
    assert resolve_model_source(str(no_weights), need_weights=False).kind == "folder"
    with pytest.raises(ModelError, match="neither a local folder"):
        resolve_model_source(str(tmp_path / "missing" / "folder"))


def test_gguf_files_are_found_in_a_folder_or_named_directly(tmp_path: Path):
    d = tmp_path / "g"
    d.mkdir()
    (d / "config.json").write_text("{}")
    (d / "model.Q4.gguf").write_bytes(b"GGUF")
    assert resolve_model_source(str(d)).gguf_file == "model.Q4.gguf"
    direct = resolve_model_source(str(d / "model.Q4.gguf"))
    assert (direct.path, direct.gguf_file) == (str(d), "model.Q4.gguf")
    with pytest.raises(ModelError, match=r"gguf_file: 'other.gguf' is not in"):
        resolve_model_source(str(d), "other.gguf")
    assert resolve_model_source("HuggingFaceTB/SmolLM2-135M").kind == "hub"


def test_random_init_builds_the_architecture_without_weights(tmp_path, micro_model_dir, pairs_file):
    no_weights = tmp_path / "arch"
    shutil.copytree(micro_model_dir, no_weights)
    (no_weights / "model.safetensors").unlink()
    r = train(spec(no_weights, pairs_file, tmp_path / "run", init="random", seed=3))
    assert r.steps == 2 and Path(r.final_dir, "model.safetensors").exists()


def test_sequence_length_above_the_model_limit_is_refused(tmp_path, micro_model_dir, pairs_file):
    with pytest.raises(MixlabError, match="max_length: 300 is above the model's limit of 256"):
        train(spec(micro_model_dir, pairs_file, tmp_path / "run", max_length=300))


def test_no_chat_template_and_none_named_fails_before_training(tmp_path, micro_model_dir, pairs_file):
    bare = tmp_path / "bare"
    shutil.copytree(micro_model_dir, bare)
    cfg = (bare / "tokenizer_config.json").read_text()
    d = json.loads(cfg)
    d.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(d))
    (bare / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(TemplateError, match="name one instead: template='chatml'"):
        train(spec(bare, pairs_file, tmp_path / "run"))
    assert not (tmp_path / "run" / "train.json").exists()  # nothing started
    r = train(spec(bare, pairs_file, tmp_path / "run2", template="chatml"))
    # final/ carries the named template, so evaluation formats prompts the way training did
    from transformers import AutoTokenizer

    assert "<|im_start|>" in AutoTokenizer.from_pretrained(r.final_dir).chat_template


def test_missing_tokenizer_files_name_the_tokenizer_field(tmp_path, micro_model_dir, pairs_file):
    d = tmp_path / "weights_only"
    d.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy(micro_model_dir / f, d / f)
    with pytest.raises(ModelError, match="set tokenizer: to a folder"):
        train(spec(d, pairs_file, tmp_path / "run"))
    r = train(spec(d, pairs_file, tmp_path / "run2", tokenizer=str(micro_model_dir)))
    assert r.steps == 2


def test_qlora_without_a_gpu_says_to_use_lora(tmp_path, micro_model_dir, pairs_file):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ModelError, match=r"needs a CUDA GPU .* use lora: true"):
        train(spec(micro_model_dir, pairs_file, tmp_path / "run", qlora=True))


def test_out_of_memory_names_the_settings_to_change(tmp_path, micro_model_dir, pairs_file, monkeypatch):
    import mixlab.train.loop as loop

    def oom(**_):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8589934592 bytes")

    monkeypatch.setattr(loop, "run_step", oom)
    with pytest.raises(MixlabError, match=r"out of memory at step 1 .* lower micro_batch_size \(now 4;.*"
                                          r"gradient_checkpointing: true"):
        train(spec(micro_model_dir, pairs_file, tmp_path / "run"))


def test_missing_data_and_unreachable_hub_id(tmp_path, micro_model_dir, pairs_file):
    with pytest.raises(MixlabError, match=r"data: .* not found"):
        train(spec(micro_model_dir, tmp_path / "nope.jsonl", tmp_path / "run"))
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE=1 is set"):
        train(spec("mixlab-test-org/no-such-model", pairs_file, tmp_path / "run2"))


def _fake_hub_cache(root: Path, repo: str, files_from: Path) -> None:
    """The layout huggingface_hub reads offline: models--org--name/{refs/main, snapshots/<commit>/...}."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    base = root / ("models--" + repo.replace("/", "--"))
    shutil.copytree(files_from, base / "snapshots" / commit)
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(commit)


def test_hub_id_trains_from_the_local_cache_through_the_cli(tmp_path, micro_model_dir, pairs_file):
    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "mixlab-test/micro", micro_model_dir)
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "mixlab", "train", "--model", "mixlab-test/micro", "--data", str(pairs_file),
           "--out", str(out), "--max-steps", "3", "--batch-size", "4", "--max-length", "96", "--lr", "1e-3",
           "--seed", "0", "--cpu-threads", "1"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "trainable tokens/s:" in proc.stdout
    assert (out / "final" / "model.safetensors").exists() and (out / "metrics.jsonl").exists()
    result = json.loads((out / "result.json").read_text())
    assert result["model"]["source"]["kind"] == "hub" and result["steps"] == 3


def test_default_max_length_follows_a_short_model_limit(tmp_path, micro_model_dir, pairs_file):
    s = spec(micro_model_dir, pairs_file, tmp_path / "run").replace(max_length=None)
    r = train(s)  # the micro model allows 256 positions: 1024 would be refused if given explicitly
    recorded = json.loads((Path(r.out_dir) / "train.json").read_text())["spec"]["max_length"]
    assert recorded == 256
