"""Shared fixtures: where the real data lives, and tiny real models.

Real data and the real SmolLM2 model are read from ``../shared/data`` beside the repository (or
``$MIXLAB_DATA_DIR``). Tests that need it are skipped, and the skip is reported by ``-ra``, when absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mixlab.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = data_dir() or REPO.parent / "shared" / "data"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real data files (``../shared/data``)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found ({SHARED_DATA}); set MIXLAB_DATA_DIR")
    return SHARED_DATA


@pytest.fixture(scope="session")
def smollm2_dir(shared_data: Path) -> Path:
    """Folder of the real SmolLM2-135M-Instruct (GGUF weights + HF tokenizer/config files)."""
    d = shared_data / "smollm2_135m_instruct_gguf"
    if not (d / SMOLLM2_FILE).exists():
        pytest.skip("SmolLM2 GGUF not found in shared data")
    return d


@pytest.fixture(scope="session")
def smol_tok(smollm2_dir: Path):
    """The real SmolLM2 tokenizer (with its chat template)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory, smollm2_dir: Path) -> Path:
    """A random-init 2-layer Llama with SmolLM2's real tokenizer and chat template, saved as an HF folder."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    out = tmp_path_factory.mktemp("tiny_llama")
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


# ---------------------------------------------------------------- synthetic study results with known effects
_TYPES = {"A": "chat", "C": "code", "P": "nlp"}
_ABILITIES = {"chat_x": "chat", "code_x": "code", "nlp_x": "nlp"}


def _synthetic(noise: float = 0.01, p_hurts_chat: float = -0.2) -> list[dict]:
    """Results rows where each source adds 0.5 x (n / 40) to its own type, P lowers chat by
    ``p_hurts_chat``, the base scores 0.1, and seeds add Gaussian noise."""
    import itertools
    import random

    rng = random.Random(0)
    rows = []

    def add(mix, n, seed, parts):
        for ab, kind in _ABILITIES.items():
            v = 0.1 + sum(0.5 * (n / 40) for p in parts if _TYPES[p] == kind)
            if "P" in parts and kind == "chat":
                v += p_hurts_chat
            rows.append({"run_id": f"{mix},{n},{seed}", "mixture": mix, "n_train": n, "seed": seed, "model": "m",
                         "instruction_type": kind, "ability": ab, "task": ab, "metric": "acc",
                         "value": v + rng.gauss(0, noise) * (mix != "none"), "stderr": 0.02, "n_items": 100,
                         "primary": True, "chance": 0.0, "template": "t"})

    add("none", 0, 0, ())
    for n, seed in itertools.product((10, 40), (0, 1, 2)):
        for k in (1, 2, 3):
            for parts in itertools.combinations("ACP", k):
                add("+".join(parts), n, seed, parts)
    return rows


@pytest.fixture
def synthetic():
    """A function returning results rows with planted effects (see ``_synthetic``)."""
    return _synthetic


@pytest.fixture
def synthetic_study(tmp_path):
    """A study folder whose results store holds ``_synthetic()`` rows (no training needed)."""
    from mixlab.study.store import write_results, write_sources

    write_results(tmp_path, _synthetic())
    write_sources(tmp_path, [{"alias": k, "name": k, "instruction_type": v} for k, v in _TYPES.items()])
    return tmp_path
