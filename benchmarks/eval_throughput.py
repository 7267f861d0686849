"""Multiple-choice throughput: mixlab's transformers backend vs lm-evaluation-harness's HF backend.

Both score the *same* (context, continuation) requests of the same items (ARC-Easy, cloze format, the
lm-eval ``arc_easy`` prompt) with the same model on CPU, side by side in one process, alternating which goes
first in each repeat. Reported: items per second (median of the repeats) for each, their ratio, and the
agreement of the two runners (accuracy difference in points and per-item agreement of the picked answer).

    python benchmarks/eval_throughput.py --data-dir ../shared/data --items 200 --repeats 3

Where mixlab's speed comes from: every distinct context is run once with all of its choices packed behind
it (a segment mask keeps them apart), and the vocabulary projection is computed only at the positions that
predict a choice token; lm-eval runs context + choice once per choice and projects every position.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO.parent / "shared" / "data" / "smollm2_135m_instruct_gguf"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder (default: the shared SmolLM2 GGUF)")
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"), help="benchmark data folder")
    p.add_argument("--task", default="arc_easy", choices=("arc_easy", "arc_challenge"))
    p.add_argument("--items", type=int, default=200, help="questions per repeat (a seeded random subset)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats (the median is reported)")
    p.add_argument("--batch-size", type=int, default=32, help="batch size for both backends")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads for both backends (default 1: on a shared 2-core machine the second thread "
                        "loses more to waiting than it gains)")
    p.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from lm_eval.api.instance import Instance

    from mixlab.eval.backends import load_lm
    from mixlab.eval.lm_eval_bridge import hf_model
    from mixlab.eval.tasks.arc import arc_task

    torch.set_num_threads(args.threads)
    task = arc_task(args.task, data_dir=args.data_dir)
    from mixlab.eval.tasks.sampling import select_items

    items = select_items(task.items, args.items, seed=0)
    requests = task.requests(items)
    sizes = [len(it.choices) for it in items]
    print(f"{args.task}: {len(items)} items, {len(requests)} requests; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads", file=sys.stderr)

    t = time.perf_counter()
    ours = load_lm(args.model, batch_size=args.batch_size, num_threads=args.threads, progress=False)
    theirs = hf_model(args.model, batch_size=args.batch_size)
    print(f"loaded both in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    instances = [Instance("loglikelihood", {}, (r.context, r.continuation), i) for i, r in enumerate(requests)]

    def run_ours() -> list[float]:
        return [r.logprob for r in ours.loglikelihood(requests)]

    def run_theirs() -> list[float]:
        return [float(lp) for lp, _ in theirs.loglikelihood(instances, disable_tqdm=True)]

    timings: dict[str, list[float]] = {"mixlab": [], "lm-eval": []}
    scores: dict[str, list[float]] = {}
    for rep in range(args.repeats):
        order = [("mixlab", run_ours), ("lm-eval", run_theirs)]
        for name, fn in order if rep % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            scores[name] = fn()
            timings[name].append(time.perf_counter() - start)
            print(f"repeat {rep + 1}: {name} {timings[name][-1]:.2f} s", file=sys.stderr)

    result = summarize(args, items, sizes, timings, scores)
    print(json.dumps(result, indent=2))
    print(markdown_row(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def summarize(args, items, sizes, timings, scores) -> dict:
    from mixlab.eval.tasks.multiple_choice import choice_picks

    n = len(items)
    med = {k: statistics.median(v) for k, v in timings.items()}
    picks: dict[str, list[int]] = {}
    picks_norm: dict[str, list[int]] = {}
    for name, lls in scores.items():
        cursor, p, pn = 0, [], []
        for it, k in zip(items, sizes, strict=True):
            pred, pred_norm = choice_picks(lls[cursor:cursor + k], it.choices)
            cursor += k
            p.append(pred)
            pn.append(pred_norm)
        picks[name], picks_norm[name] = p, pn
    acc = {k: sum(int(p == it.gold) for p, it in zip(v, items, strict=True)) / n for k, v in picks.items()}
    acc_norm = {k: sum(int(p == it.gold) for p, it in zip(v, items, strict=True)) / n for k, v in picks_norm.items()}
    agree = sum(a == b for a, b in zip(picks["mixlab"], picks["lm-eval"], strict=True)) / n
    max_diff = max(abs(a - b) for a, b in zip(scores["mixlab"], scores["lm-eval"], strict=True))
    return {
        "task": args.task, "model": Path(args.model).name, "items": n, "repeats": args.repeats,
        "batch_size": args.batch_size, "threads": args.threads,
        "seconds_median": med, "seconds_all": timings,
        "items_per_second": {k: n / v for k, v in med.items()},
        "speedup": med["lm-eval"] / med["mixlab"],
        "acc": acc, "acc_norm": acc_norm,
        "acc_diff_points": 100 * abs(acc["mixlab"] - acc["lm-eval"]),
        "acc_norm_diff_points": 100 * abs(acc_norm["mixlab"] - acc_norm["lm-eval"]),
        "item_agreement": agree, "max_logprob_diff": max_diff,
    }


def markdown_row(r: dict) -> str:
    ips = r["items_per_second"]
    return (f"| eval multiple choice ({r['task']}, {r['items']} items, {r['model']}, CPU) | "
            f"mixlab {ips['mixlab']:.2f} items/s vs lm-eval HF {ips['lm-eval']:.2f} items/s | "
            f"**{r['speedup']:.2f}x** (median of {r['repeats']}) | acc {100 * r['acc']['mixlab']:.1f} vs "
            f"{100 * r['acc']['lm-eval']:.1f}, acc_norm {100 * r['acc_norm']['mixlab']:.1f} vs "
            f"{100 * r['acc_norm']['lm-eval']:.1f}; same pick on {100 * r['item_agreement']:.1f} % of items |")


if __name__ == "__main__":
    raise SystemExit(main())
