"""Fixtures for the training layer's unit tests: tiny data files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def write_pairs(path: Path, n: int, *, source: str | None = None, seed: int = 0) -> Path:
    """Write ``n`` alpaca rows of varied length (self-made text; nothing copied from shared data)."""
    import random

    rng = random.Random(seed)
    words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu', 'nu', 'xi', 'omicron', 'pi']
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            q = " ".join(rng.choice(words) for _ in range(rng.randint(2, 12)))
            a = " ".join(rng.choice(words) for _ in range(rng.randint(1, 30)))
            row = {"instruction": f"Repeat: {q}", "input": "", "output": a}
            if source:
                row = {"id": f"{source}-{i}", "source": source,
                       "messages": [{"role": "user", "content": row["instruction"]},
                                    {"role": "assistant", "content": a}]}
            f.write(json.dumps(row) + "\n")
    return path


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    return write_pairs(tmp_path / "pairs.jsonl", 24)


CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def build_micro_model(out: Path, *, vocab_size: int = 320, hidden: int = 32, layers: int = 2, seed: int = 0) -> Path:
    """A byte-level BPE tokenizer (own chat template, pad distinct from the end token) and a random tiny Llama."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu', 'nu', 'xi', 'omicron', 'pi', 'Repeat']
    texts = [" ".join(words[(i * 7 + j) % len(words)] for j in range(12)) for i in range(200)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|pad|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>", pad_token="<|pad|>",
                                   model_max_length=256)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    cfg = LlamaConfig(vocab_size=len(fast), hidden_size=hidden, intermediate_size=2 * hidden,
                      num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=256, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
                      bos_token_id=None, tie_word_embeddings=True)
    torch.manual_seed(seed)
    LlamaForCausalLM(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def micro_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~40k-parameter Llama with a 320-token BPE: fast enough to train dozens of steps per test."""
    return build_micro_model(tmp_path_factory.mktemp("micro_model"))


@pytest.fixture
def pairs_writer():
    """The ``write_pairs`` helper, for tests that need several files."""
    return write_pairs
