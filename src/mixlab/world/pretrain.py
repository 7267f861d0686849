"""Pretraining the world's base model: a tiny Llama (transformers, random init) trained briefly on the world
corpus. ``mixlab.world.model`` decides when to call this (a recipe that is neither shipped nor cached).

The code of this module is part of the base model's cache key: a change here builds a new base.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from mixlab.artifacts import atomic_write_json

if TYPE_CHECKING:
    from mixlab.world.model import WorldModelSpec


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
