"""The world's base model: a tiny Llama (transformers, random init) pretrained briefly on the world corpus.

The pretraining stage gives the model the world's raw knowledge and skills; it is done once and cached by
the hash of its recipe (``WorldModelSpec``), so every study and every re-run starts from the same base.

Measured on 2 CPU cores (see README): the default recipe pretrains in about a minute.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from mixlab.artifacts import atomic_write_json, content_hash, source_bytes
from mixlab.paths import cache_root

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorldModelSpec:
    """The recipe of the world's base model. Its hash names the cached folder."""

    hidden_size: int = 128
    """Width of the residual stream."""
    num_layers: int = 4
    """Transformer blocks."""
    num_heads: int = 4
    """Attention heads (no grouped-query attention at this size)."""
    intermediate_size: int = 384
    """MLP width."""
    vocab_size: int = 1024
    """BPE vocabulary trained on the world corpus and instruction texts."""
    seq_len: int = 128
    """Pretraining sequence length (documents are packed)."""
    pretrain_tokens: int = 1_000_000
    """Tokens seen in pretraining."""
    batch_size: int = 8
    """Sequences per pretraining step."""
    lr: float = 3e-3
    """Peak learning rate (AdamW, warmup then cosine)."""
    seed: int = 0
    """Seed of initialisation, corpus and data order."""

    def key(self) -> str:
        """The recipe, what the world generates and the pretraining code: a change to any builds a new base."""
        code = hashlib.sha256(source_bytes(Path(__file__))).hexdigest()[:16]
        return content_hash({"world_model": asdict(self), "world": world_fingerprint(), "code": code}, 12)


def world_fingerprint() -> str:
    """A hash of what the world generates (corpus and items): a changed generator means a new base model."""
    import random

    from mixlab.world.abilities import ABILITIES
    from mixlab.world.corpus import documents

    rng = random.Random(0)
    sample = list(documents(300, seed=0)) + [
        (i.prompt, i.answer) for a in ABILITIES.values() for split in ("train", "eval")
        for i in (a.draw(rng, split) for _ in range(10))
    ]
    return content_hash(sample, 16)


def default_cache_dir() -> Path:
    return cache_root()


def ensure_base_model(
    spec: WorldModelSpec | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Return the folder of the pretrained world base model, building it first if it is not cached."""
    spec = spec or WorldModelSpec()
    folder = Path(cache_dir or default_cache_dir()) / f"world-base-{spec.key()}"
    if (folder / "COMPLETE").exists():
        return folder
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    build_base_model(spec, tmp, progress=progress)
    if folder.exists():  # another process finished first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, folder)
    return folder


def build_base_model(spec: WorldModelSpec, out_dir: Path, progress: Callable[[int, int], None] | None = None) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from mixlab.world.corpus import documents
    from mixlab.world.tokenizer import train_tokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    docs = list(documents(int(spec.pretrain_tokens / 20), seed=spec.seed))
    train_tokenizer(docs + _instruction_texts(spec.seed), spec.vocab_size, out_dir)
    tok = AutoTokenizer.from_pretrained(out_dir)
    stream = _token_stream(tok, docs)
    torch.manual_seed(spec.seed)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=spec.hidden_size, intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers, num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_heads, max_position_embeddings=512, tie_word_embeddings=True,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None,
    )  # rope theta: transformers' default, 10,000
    model = LlamaForCausalLM(cfg)
    stats = _pretrain(model, stream, spec, progress)
    model.save_pretrained(out_dir)
    model.generation_config.save_pretrained(out_dir)
    atomic_write_json(out_dir / "world_model.json", {
        "spec": asdict(spec), "key": spec.key(), "parameters": sum(p.numel() for p in model.parameters()),
        "seconds": round(time.time() - t0, 1), **stats,
    })
    (out_dir / "COMPLETE").write_text("ok\n")
    return out_dir


def _instruction_texts(seed: int, per_ability: int = 300) -> list[str]:
    """Instruction and answer texts (train split) so that instruction words get their own tokens."""
    from mixlab.world.abilities import ABILITIES

    rng = random.Random(seed + 1)
    texts = []
    for ability in ABILITIES.values():
        for _ in range(per_ability):
            item = ability.draw(rng, "train")
            texts += [item.prompt, item.answer]
    return texts


def _token_stream(tok, docs: list[str]):
    import torch

    ids: list[int] = []
    for enc in tok(docs, add_special_tokens=False).input_ids:
        ids.extend(enc)
        ids.append(tok.eos_token_id)  # documents end like responses do
    return torch.tensor(ids, dtype=torch.long)


def _pretrain(model, stream, spec: WorldModelSpec, progress) -> dict[str, float]:
    import torch

    g = torch.Generator().manual_seed(spec.seed)
    n_seq = (len(stream) - 1) // spec.seq_len
    chunks = stream[: n_seq * spec.seq_len].view(n_seq, spec.seq_len)
    steps = max(1, spec.pretrain_tokens // (spec.batch_size * spec.seq_len))
    warmup = max(1, steps // 20)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, betas=(0.9, 0.95), weight_decay=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    )
    model.train()
    order = torch.randperm(n_seq, generator=g)
    pos, loss_ema, t0 = 0, None, time.time()
    for step in range(steps):
        if pos + spec.batch_size > n_seq:
            order, pos = torch.randperm(n_seq, generator=g), 0
        batch = chunks[order[pos : pos + spec.batch_size]]
        pos += spec.batch_size
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        loss_ema = loss.item() if loss_ema is None else 0.95 * loss_ema + 0.05 * loss.item()
        if progress:
            progress(step + 1, steps)
    model.eval()
    secs = time.time() - t0
    return {"pretrain_steps": steps, "pretrain_loss": round(float(loss_ema or 0), 4),
            "pretrain_tokens_per_s": round(steps * spec.batch_size * spec.seq_len / secs)}
