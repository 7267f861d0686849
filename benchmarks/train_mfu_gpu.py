"""GPU training throughput and model FLOPs utilisation (MFU) of ``mixlab.train`` on a 0.5-1B model in bf16.

Meant for a CUDA machine (H100 / H200 / A100); it was written without one and has not been run on a GPU yet.

The model is a random-init Llama (default: hidden 1536, 24 layers, 12 heads of 128, 4 KV heads, MLP 4096,
tied embeddings, SmolLM2's 49,152-token vocabulary: 0.68B parameters), trained with bf16 mixed precision,
packing into rows of ``--max-length`` tokens (flash-attention 2 varlen when ``flash_attn`` is installed, else
sdpa with a block-diagonal mask) on the shared Alpaca-format data, repeated as needed for ``--steps`` steps.

MFU = achieved model FLOP/s / the GPU's peak dense bf16 FLOP/s. Model FLOPs per step count what the step
computes: ``6 x body parameters`` per token for every token, ``6 x vocabulary x hidden`` only for the trainable
tokens (mixlab projects only those onto the vocabulary), and causal attention ``6 x layers x hidden x
sum(len_i^2)`` over the packed examples (forward 2 matmuls x 2 FLOPs x half the square for causality, x3 with
the backward). The throughput is the median over telemetry windows after the first (warm-up) window.

    python benchmarks/train_mfu_gpu.py                       # 0.68B, 40 steps of 16 x 2048 tokens
    python benchmarks/train_mfu_gpu.py --hidden 1024 --layers 16 --intermediate 2816   # ~0.3B
    python benchmarks/train_mfu_gpu.py --tiny --steps 4      # a CPU smoke test of this script
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from mixlab.paths import data_dir  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED = data_dir() or REPO.parent / "shared" / "data"
TOKENIZER = SHARED / "smollm2_135m_instruct_gguf"
DATA = SHARED / "alpaca_en_demo_1k" / "alpaca_en_demo.json.gz"

# Peak dense bf16 tensor-core FLOP/s (vendor datasheets, SXM parts, no sparsity).
PEAKS = {"H100": 989.4e12, "H200": 989.4e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


def build_model(out: Path, args: argparse.Namespace) -> int:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(TOKENIZER)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=args.hidden, intermediate_size=args.intermediate,
        num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
        max_position_embeddings=max(4096, args.max_length), tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    with torch.device("meta"):
        n = sum(p.numel() for p in LlamaForCausalLM(cfg).parameters())
    cfg.save_pretrained(out)  # init: random builds it from the config on the training device
    tok.save_pretrained(out)
    return n


def step_flops(encoded_lengths: list[tuple[int, int]], args: argparse.Namespace, vocab: int, n_params: int) -> float:
    """Model FLOPs of training on examples of (length, trainable tokens)."""
    embed = vocab * args.hidden
    body = n_params - embed  # tied: the embedding matrix is the head
    tokens = sum(n for n, _ in encoded_lengths)
    trained = sum(t for _, t in encoded_lengths)
    attention = 6 * args.layers * args.hidden * sum(n * n for n, _ in encoded_lengths)
    return 6 * body * tokens + 6 * embed * trained + attention


def peak_flops(override: float | None) -> tuple[str, float | None]:
    import torch

    if not torch.cuda.is_available():
        return "cpu", override
    name = torch.cuda.get_device_name()
    if override:
        return name, override
    return name, next((v for k, v in PEAKS.items() if k in name), None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=1536)
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=4096)
    ap.add_argument("--max-length", type=int, default=2048)
    ap.add_argument("--batch-size", type=int, default=16, help="packed rows per step")
    ap.add_argument("--micro-batch-size", type=int, default=None)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--log-every", type=int, default=5)
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--peak-tflops", type=float, default=None, help="override the GPU's peak bf16 TFLOP/s")
    ap.add_argument("--tiny", action="store_true", help="a small model on CPU: checks that the script runs")
    ap.add_argument("--out", type=Path, default=None, help="write the measurement as JSON here")
    args = ap.parse_args()
    if args.tiny:
        args.hidden, args.layers, args.heads, args.kv_heads, args.intermediate = 64, 2, 4, 2, 128
        args.max_length, args.batch_size = min(args.max_length, 256), min(args.batch_size, 2)

    from mixlab.train import TrainSpec, train

    work = Path(tempfile.mkdtemp(prefix="mixlab-mfu-"))
    n_params = build_model(work / "model", args)
    rows = json.loads(gzip.decompress(DATA.read_bytes()))
    (work / "data.json").write_text(json.dumps(rows))
    spec = TrainSpec(
        model=str(work / "model"), init="random", data=str(work / "data.json"), out=str(work / "run"),
        max_length=args.max_length, packing=True, batch_size=args.batch_size,
        micro_batch_size=args.micro_batch_size, max_steps=args.steps, lr=3e-4, schedule="constant",
        warmup_steps=0, precision="auto", gradient_checkpointing=args.gradient_checkpointing,
        log_every=args.log_every, seed=0,
    )
    result = train(spec)
    report(result, args, n_params)


def report(result, args: argparse.Namespace, n_params: int) -> None:
    from transformers import AutoTokenizer

    rows = [json.loads(x) for x in Path(result.metrics_path).read_text().splitlines()]
    windows = rows[1:] or rows
    tok_s = statistics.median(r["tokens_per_s"] for r in windows)  # trainable tokens per second
    # Per-token model FLOPs from the run's own data: all tokens vs trainable tokens, and attention spans.
    from mixlab.data.load import load_source
    from mixlab.data.tokenize import encode_examples

    tok = AutoTokenizer.from_pretrained(Path(result.out_dir).parent / "model")
    enc = encode_examples(load_source(Path(result.out_dir).parent / "data.json").examples, tok,
                          max_length=args.max_length)
    lengths = [(len(e), int((e.labels[1:] != -100).sum())) for e in enc]
    flops_per_trained_token = step_flops(lengths, args, len(tok), n_params) / sum(t for _, t in lengths)
    achieved = tok_s * flops_per_trained_token
    device, peak = peak_flops(args.peak_tflops * 1e12 if args.peak_tflops else None)
    all_tok_s = tok_s * sum(n for n, _ in lengths) / sum(t for _, t in lengths)
    out = {
        "device": device, "parameters": n_params, "max_length": args.max_length, "batch_size": args.batch_size,
        "mixed_precision": result.model["mixed_precision"], "attn": result.model["attn_implementation"],
        "trainable_tokens_per_s": round(tok_s, 1), "tokens_per_s": round(all_tok_s, 1),
        "model_tflops_per_s": round(achieved / 1e12, 2),
        "mfu": round(achieved / peak, 4) if peak else None, "peak_tflops": peak / 1e12 if peak else None,
        "windows": len(windows), "steps": result.steps, "peak_mem_mb": rows[-1]["mem_mb"],
    }
    print(json.dumps(out, indent=2))
    if args.out:
        args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
