"""Fine-tuning throughput on CPU: mixlab vs TRL's SFTTrainer, side by side in one run.

The same model and data for every trainer:

- model: a random-init Llama (hidden 256, 4 layers, 4 heads, MLP 688, tied embeddings) with the real SmolLM2
  tokenizer (49,152 tokens) and its chat template, saved once and loaded by every run;
- data: the first ``--examples`` rows (default 128) of the shared Alpaca-format file
  ``alpaca_en_demo_1k/alpaca_en_demo.json.gz``, one epoch, batch size ``--batch-size`` (8), max length
  ``--max-length`` (256), AdamW at 1e-4, cosine schedule, fp32, seed 0.

Trainers (each repeat runs all of them back to back, in this order):

- ``mixlab``: ``mixlab.train.train`` with its defaults (length-grouped batches, no packing);
- ``trl``: ``trl.SFTTrainer`` with its defaults (no packing), prompt-completion conversational data, so the loss
  is on the completion only, as in mixlab; note that TRL's defaults turn gradient checkpointing on;
- ``trl-nogc``: the same with ``gradient_checkpointing=False`` (TRL at its fastest without packing);
- ``mixlab-packed`` / ``trl-packed`` / ``trl-packed-nogc``: ``packing=True`` (rows of ``--max-length`` tokens).

Throughput counts the same tokens for everybody: the trainable (assistant) tokens of the examples trained on,
as mixlab's response-only encoder counts them, divided by the training loop's wall time (TRL: the
``train_runtime`` that ``Trainer.train`` reports; mixlab: ``TrainResult.wall_s``; neither includes
tokenization or model loading). The table gives medians over ``--repeats`` (default 3) and the ratios of
medians. Run: ``python benchmarks/train_throughput.py`` (about 10 minutes on 2 busy cores).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from mixlab.paths import data_dir  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

SHARED = data_dir() or REPO.parent / "shared" / "data"
TOKENIZER = SHARED / "smollm2_135m_instruct_gguf"
DATA = SHARED / "alpaca_en_demo_1k" / "alpaca_en_demo.json.gz"
LR = 1e-4


def build_model(out: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(TOKENIZER)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=4, max_position_embeddings=1024, tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def write_data(work: Path, n: int) -> tuple[Path, list[dict]]:
    """The first ``n`` rows as an Alpaca file (mixlab) and as prompt-completion records (TRL)."""
    rows = json.loads(gzip.decompress(DATA.read_bytes()))[:n]
    path = work / "alpaca.json"
    path.write_text(json.dumps(rows))
    records = []
    for r in rows:
        prompt = f"{r['instruction']}\n\n{r['input']}" if r["input"].strip() else r["instruction"]
        records.append({"prompt": [{"role": "user", "content": prompt}],
                        "completion": [{"role": "assistant", "content": r["output"]}]})
    return path, records


def trainable_tokens(model_dir: Path, data: Path, max_length: int) -> int:
    """Assistant tokens that carry loss (targets), counted by mixlab's encoder: the shared numerator."""
    from transformers import AutoTokenizer

    from mixlab.data.load import load_source
    from mixlab.data.tokenize import encode_examples

    tok = AutoTokenizer.from_pretrained(model_dir)
    enc = encode_examples(load_source(data).examples, tok, max_length=max_length)
    return sum(int((e.labels[1:] != -100).sum()) for e in enc)


def run_mixlab(model_dir: Path, data: Path, out: Path, args: argparse.Namespace, packing: bool) -> float:
    from mixlab.train import TrainSpec, train

    spec = TrainSpec(model=str(model_dir), data=str(data), out=str(out), epochs=1, batch_size=args.batch_size,
                     max_length=args.max_length, packing=packing, lr=LR, schedule="cosine", seed=0,
                     log_every=10_000, overwrite=True)
    return train(spec).wall_s


def run_trl(model_dir: Path, records: list[dict], out: Path, args: argparse.Namespace, packing: bool,
            checkpointing: bool = True) -> float:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="float32")
    cfg = SFTConfig(
        output_dir=str(out), per_device_train_batch_size=args.batch_size, max_length=args.max_length,
        num_train_epochs=1, learning_rate=LR, lr_scheduler_type="cosine", seed=0, packing=packing,
        save_strategy="no", report_to=[], logging_steps=10_000, disable_tqdm=True, use_cpu=True,
        dataloader_num_workers=0, bf16=False, fp16=False, gradient_checkpointing=checkpointing,
    )
    trainer = SFTTrainer(model=model, args=cfg, train_dataset=Dataset.from_list(records), processing_class=tok)
    return float(trainer.train().metrics["train_runtime"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--only", default="mixlab,trl,trl-nogc,mixlab-packed,trl-packed,trl-packed-nogc")
    ap.add_argument("--json", type=Path, help="also write the measurements here")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    import logging

    logging.disable(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="mixlab-bench-train-"))
    model_dir = build_model(work / "model")
    data, records = write_data(work, args.examples)
    tokens = trainable_tokens(model_dir, data, args.max_length)
    runners = {
        "mixlab": lambda o: run_mixlab(model_dir, data, o, args, False),
        "trl": lambda o: run_trl(model_dir, records, o, args, False),
        "trl-nogc": lambda o: run_trl(model_dir, records, o, args, False, checkpointing=False),
        "mixlab-packed": lambda o: run_mixlab(model_dir, data, o, args, True),
        "trl-packed": lambda o: run_trl(model_dir, records, o, args, True),
        "trl-packed-nogc": lambda o: run_trl(model_dir, records, o, args, True, checkpointing=False),
    }
    chosen = [n for n in args.only.split(",") if n]
    times: dict[str, list[float]] = {n: [] for n in chosen}
    for rep in range(args.repeats):
        for name in chosen:
            t0 = time.perf_counter()
            wall = runners[name](work / f"{name}-{rep}")
            times[name].append(wall)
            print(f"repeat {rep + 1}/{args.repeats} {name:14s} loop {wall:7.2f} s "
                  f"({tokens / wall:8.1f} trainable tokens/s; whole call {time.perf_counter() - t0:.1f} s)",
                  flush=True)
    report(times, tokens, args)


def report(times: dict[str, list[float]], tokens: int, args: argparse.Namespace) -> None:
    import torch

    med = {n: statistics.median(v) for n, v in times.items()}
    print(f"\n{args.examples} Alpaca examples, {tokens:,} trainable tokens, batch {args.batch_size}, "
          f"max length {args.max_length}, {torch.get_num_threads()} threads, median of {args.repeats}\n")
    print("| trainer | trainable tokens/s (median) | loop s (median) | runs |")
    print("|---|---:|---:|---|")
    for n, m in med.items():
        print(f"| {n} | {tokens / m:,.0f} | {m:.2f} | {', '.join(f'{t:.1f}' for t in times[n])} |")
    pairs = [("mixlab", "trl"), ("mixlab", "trl-nogc"), ("mixlab-packed", "trl-packed"),
             ("mixlab-packed", "trl-packed-nogc"), ("mixlab", "trl-packed")]
    for a, b in pairs:
        if a in med and b in med:
            print(f"{a} / {b}: {med[b] / med[a]:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"tokens": tokens, "times": times, "args": vars(args)}, default=str))


if __name__ == "__main__":
    main()
