"""GGUF weights are dequantized once into a cached safetensors copy: the same tensors, a much faster load,
and the model's identity still names the GGUF file."""

from __future__ import annotations

import time

import pytest
import torch

from mixlab.train.gguf_cache import COMPLETE, dequantized

pytestmark = pytest.mark.integration

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_the_copy_holds_the_gguf_files_tensors_and_is_made_once(smollm2_dir, tmp_path, monkeypatch):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, GgufConfig

    monkeypatch.setenv("MIXLAB_CACHE", str(tmp_path))
    copy = dequantized(smollm2_dir, SMOLLM2_FILE)
    assert copy is not None and copy.parent == tmp_path / "gguf" and (copy / COMPLETE).is_file()
    assert not (copy / "config.json").read_text().count("quantization_config")  # a plain float model
    made = (copy / "model.safetensors").stat().st_mtime_ns
    assert dequantized(smollm2_dir, SMOLLM2_FILE) == copy  # the second call reads, it does not rebuild
    assert (copy / "model.safetensors").stat().st_mtime_ns == made
    assert dequantized("org/a-hub-id", SMOLLM2_FILE) is None  # not a local file: nothing to key a copy on

    direct = AutoModelForCausalLM.from_pretrained(smollm2_dir, gguf_file=SMOLLM2_FILE, dtype=torch.float32,
                                                  quantization_config=GgufConfig(dequantize=True)).state_dict()
    cached = load_file(str(copy / "model.safetensors"))
    shared = [k for k in direct if k in cached]
    assert len(shared) >= len(cached) - 1 and len(shared) > 100  # lm_head is tied to the embeddings
    assert all(torch.equal(direct[k], cached[k]) for k in shared)


def test_training_and_evaluation_load_the_copy_and_keep_the_gguf_identity(smollm2_dir, tmp_path, monkeypatch):
    from mixlab.eval.backends import load_lm
    from mixlab.train.model import load_causal_lm, resolve_model_source

    monkeypatch.setenv("MIXLAB_CACHE", str(tmp_path))
    dequantized(smollm2_dir, SMOLLM2_FILE)
    t0 = time.perf_counter()
    lm = load_lm(str(smollm2_dir), num_threads=1, progress=False)
    assert time.perf_counter() - t0 < 8.0  # a GGUF parse and dequantization alone took 8 to 16 s here
    ident = lm.identity()
    assert ident["gguf_file"] == SMOLLM2_FILE and ident["model"] == str(smollm2_dir)
    src = resolve_model_source(str(smollm2_dir))
    model = load_causal_lm(src, init="pretrained", seed=0, dtype=torch.float32, attn_implementation="sdpa")
    assert not getattr(model, "is_quantized", False)
    assert model.name_or_path == str(smollm2_dir)  # a LoRA adapter's config names the GGUF folder, not the cache
    for (name, a), b in zip(model.state_dict().items(), lm.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
