"""Tiny real models for the backend tests, built once per session (see ``tiny_models.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import make_tiny_llama


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Llama with a 512-token BPE vocabulary and a ChatML template."""
    return make_tiny_llama(tmp_path_factory.mktemp("tiny_bpe_llama"))


@pytest.fixture(scope="session")
def tiny_lm(tiny_dir: Path):
    from mixlab.eval.backends import load_lm

    return load_lm(str(tiny_dir), batch_size=64, progress=False)


@pytest.fixture(scope="session")
def lora_dir(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter with random (non-zero) weights on ``tiny_dir``; its config names the base folder."""
    import torch

    peft = pytest.importorskip("peft")
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_dir)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    torch.manual_seed(1)
    model = peft.get_peft_model(base, config)
    out = tmp_path_factory.mktemp("lora")
    model.save_pretrained(out)
    return out
