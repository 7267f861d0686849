"""`mixlab train`: fine-tune a model on a built mixture or any data file.

    mixlab train --model PATH --data FILE.jsonl --out DIR --max-steps 200 --batch-size 8 --max-length 512
    mixlab train configs/train/smollm2_lora.yaml --seed 1 --out runs/seed1     # flags override the file

Writes ``DIR/final`` (model or LoRA adapter, with tokenizer), ``DIR/metrics.jsonl`` (telemetry) and
``DIR/result.json``, and prints trainable tokens per second at the end.
"""

from __future__ import annotations

import argparse
from typing import Any

EPILOG = """\
examples:
  mixlab train --model ../shared/data/smollm2_135m_instruct_gguf --data runs/mix-ac --out runs/ac \\
      --lora --max-steps 100 --batch-size 8 --max-length 512
  mixlab train configs/train/smollm2_lora.yaml --seed 2 --out runs/ac-s2
  accelerate launch --num_processes 2 -m mixlab train configs/train/smollm2_full.yaml

The budget is exactly one of --epochs, --max-steps, --max-tokens (default: 1 epoch); the run records which,
so runs in a study are compute-matched. A finished run folder is returned as is when the spec is the same; an
interrupted one resumes from its newest checkpoint (--save-every N). See docs/training.md.
"""


def _csv_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="fine-tune a model on a mixture or data file (SFT, LoRA, packing, resume)",
        description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", nargs="?", help="YAML/JSON file with TrainSpec fields (flags override it)")
    g = p.add_argument_group("what to train")
    g.add_argument("--model", help="model folder, hub id (org/name) or .gguf file")
    g.add_argument("--data", help="built mixture folder, train.jsonl, or any file `mixlab data` reads")
    g.add_argument("--out", help="run folder (final/, metrics.jsonl, checkpoints/, result.json)")
    g.add_argument("--tokenizer", help="tokenizer folder or id (default: the model's)")
    g.add_argument("--gguf-file", dest="gguf_file", help="GGUF file inside --model")
    g.add_argument("--init", choices=["pretrained", "random"], help="random: fresh weights, same architecture")
    g.add_argument("--template", help="chat|instruction|chatml|alpaca|dataset-name|none (default chat)")
    g.add_argument("--loss-on", dest="loss_on", choices=["all_assistant", "last_assistant"])
    g = p.add_argument_group("budget (one of)")
    g.add_argument("--epochs", type=float)
    g.add_argument("--max-steps", dest="max_steps", type=int)
    g.add_argument("--max-tokens", dest="max_tokens", type=int, help="trainable (response) tokens")
    g = p.add_argument_group("batching and optimisation")
    g.add_argument("--batch-size", dest="batch_size", type=int, help="sequences per step, all processes (8)")
    g.add_argument("--micro-batch-size", dest="micro_batch_size", type=int, help="per forward pass")
    g.add_argument("--max-length", dest="max_length", type=int,
                   help="tokens per example / packed row (default 1024, or the model's limit if lower)")
    g.add_argument("--packing", action=argparse.BooleanOptionalAction, default=None)
    g.add_argument("--group-by-length", dest="group_by_length", action=argparse.BooleanOptionalAction,
                   default=None)
    g.add_argument("--lr", type=float, help="peak learning rate (2e-5 full, 2e-4 LoRA)")
    g.add_argument("--schedule", choices=["constant", "linear", "cosine", "wsd"])
    g.add_argument("--warmup-ratio", dest="warmup_ratio", type=float)
    g.add_argument("--seed", type=int)
    g.add_argument("--lora", action=argparse.BooleanOptionalAction, default=None)
    g.add_argument("--qlora", action=argparse.BooleanOptionalAction, default=None, help="4-bit base (GPU)")
    g.add_argument("--lora-r", dest="lora_r", type=int)
    g.add_argument("--precision", choices=["auto", "fp32", "bf16"])
    g.add_argument("--gradient-checkpointing", dest="gradient_checkpointing",
                   action=argparse.BooleanOptionalAction, default=None)
    g.add_argument("--cpu-threads", dest="cpu_threads", type=int, help="torch CPU threads for this run")
    g = p.add_argument_group("telemetry and checkpoints")
    g.add_argument("--log-every", dest="log_every", type=int, help="telemetry row every N steps (10)")
    g.add_argument("--report-to", dest="report_to", help="comma list: tensorboard,mlflow")
    g.add_argument("--save-every", dest="save_every", type=int, help="resumable checkpoint every N steps")
    g.add_argument("--save-at-steps", dest="save_at_steps", type=_csv_ints, help="e.g. 100,400,1600")
    g.add_argument("--save-at-tokens", dest="save_at_tokens", type=_csv_ints, help="trainable-token counts")
    g.add_argument("--no-resume", dest="resume", action="store_false", default=None,
                   help="start over instead of continuing from a checkpoint")
    g.add_argument("--overwrite", action="store_true", default=None, help="replace a finished/different run")
    p.set_defaults(func=run)


FIELDS = ("model", "data", "out", "tokenizer", "gguf_file", "init", "template", "loss_on", "epochs",
          "max_steps", "max_tokens", "batch_size", "micro_batch_size", "max_length", "packing", "group_by_length",
          "lr", "schedule", "warmup_ratio", "seed", "lora", "qlora", "lora_r", "precision",
          "gradient_checkpointing", "cpu_threads", "log_every", "save_every", "save_at_steps", "save_at_tokens",
          "resume", "overwrite")


def spec_from_args(args: argparse.Namespace) -> Any:
    from mixlab.train.spec import TrainSpec

    flags = {k: getattr(args, k) for k in FIELDS if getattr(args, k, None) is not None}
    if args.report_to:
        flags["report_to"] = [x.strip() for x in args.report_to.split(",") if x.strip()]
    if args.config:
        return TrainSpec.from_file(args.config, **flags)
    return TrainSpec.from_dict({}, **flags)


def run(args: argparse.Namespace) -> int:
    from mixlab.train.run import launcher_rank, train

    spec = spec_from_args(args)
    # Under `accelerate launch` every process runs this; only the first one draws and prints.
    if launcher_rank() != 0:
        train(spec)
        return 0
    result = _train_with_bar(spec, train)
    d = result.data
    print(f"trained {result.steps} steps ({result.compute['matched_by']}-matched), {result.epochs:g} epochs, "
          f"{result.trainable_tokens:,} trainable tokens; final loss {result.final_loss}")
    print(f"data: {d['used']:,} examples used of {d['rows_read']:,} rows read; rejected {d['rejected']}, "
          f"truncated {d['truncated']}, dropped {d['dropped_too_long'] + d['dropped_no_trainable']}")
    print(f"wrote {result.final_dir} and {result.metrics_path}")
    print(f"trainable tokens/s: {result.tokens_per_s:,.1f}")
    return 0


def _train_with_bar(spec: Any, train: Any) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn("training"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
               TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("train", total=None, loss="-")

        def on_step(info: dict[str, Any]) -> None:
            loss = info["loss"]
            bar.update(task, completed=info["step"], total=info["total_steps"],
                       loss="-" if loss is None else f"{loss:.4f}")

        return train(spec, progress=on_step, progress_bars=True)
