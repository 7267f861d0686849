"""Composing a 1M-row mixture from cached sources: mixlab's index arrays vs Hugging Face ``datasets``.

Sources: three token caches built with the real SmolLM2 tokenizer (chat template, response-only labels) from
the shared Alpaca-demo (999 rows), CodeAlpaca (2,015) and a seeded sample of P3 (``--p3-rows``, default 3,000)
files, each then resampled with replacement (seeded) to ``--source-rows`` rows (default 100,000), so row
lengths are real. The same caches are wrapped as Arrow-backed ``datasets.Dataset`` objects (``input_ids``,
``labels`` list columns, ``n_tokens``), built zero-copy from the cache arrays and not timed.

The mixture (timed, both sides ask for the same rows): ``share`` 0.4 / 0.3 / 0.3 of ``--total`` rows
(default 1,000,000), so every source is upsampled (explicit repeats), then one seeded shuffle.

- ``mixlab``: ``mixlab.mix.build.compose`` (per-source seeded order, cycled prefix, one permutation) over the
  resolved row counts -> ``(source, row)`` index arrays; then the token lengths of every mixture row gathered
  from the caches' offsets (what a packing trainer reads first).
- ``datasets``: ``select`` of the same per-source row indices, ``concatenate_datasets``, ``shuffle(seed)``;
  then the ``n_tokens`` column of every mixture row read through the indices mapping (``with_format("arrow")``:
  the fastest of the reads tried).

Each repeat runs both sides back to back; the table gives medians over ``--repeats`` (default 5) and the
ratio of medians. Run: ``python benchmarks/mix_compose.py`` (about 2 minutes on 2 cores, most of it
tokenizing the sources once).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mixlab.data.load import data_files, load_source  # noqa: E402
from mixlab.mix.amounts import apportion, source_order  # noqa: E402
from mixlab.mix.build import compose  # noqa: E402
from mixlab.mix.sources import examples_hash  # noqa: E402
from mixlab.mix.token_cache import TokenCache, ensure_cache  # noqa: E402
from mixlab.paths import data_dir  # noqa: E402

SHARED = data_dir() or REPO.parent / "shared" / "data"
SHARES = {"alpaca": 0.4, "code": 0.3, "p3": 0.3}


def real_caches(tokenizer_dir: Path, cache_dir: Path, p3_rows: int) -> dict[str, TokenCache]:
    """Token caches of the three real sources (P3: a seeded sample of its rows)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    alpaca = load_source(SHARED / "alpaca_en_demo_1k/alpaca_en_demo.json.gz", name="alpaca").examples
    code = load_source(SHARED / "code_alpaca/code_alpaca_2k.json.gz", name="code").examples
    rng = np.random.default_rng(0)
    files = data_files(SHARED / "p3_t0_train_50k/data_per_template")
    picked = sorted(rng.choice(len(files), size=min(40, len(files)), replace=False).tolist())
    p3 = [ex for i in picked for ex in load_source(files[i], name="p3").examples]
    p3 = [p3[i] for i in sorted(rng.choice(len(p3), size=min(p3_rows, len(p3)), replace=False).tolist())]
    out = {}
    for name, rows in (("alpaca", alpaca), ("code", code), ("p3", p3)):
        out[name], _ = ensure_cache(rows, content_hash=examples_hash(rows), tokenizer=tok, max_length=1024,
                                    cache_dir=cache_dir, source_name=name)
    return out


def resample(cache: TokenCache, n: int, seed: int) -> TokenCache:
    """``n`` rows drawn with replacement from ``cache`` (real lengths), as a new in-memory cache."""
    from mixlab.mix.token_cache import gather

    rows = np.random.default_rng(seed).integers(0, len(cache), size=n)
    ids, trained, offsets = gather([cache], np.zeros(n, dtype=np.int64), rows)
    return TokenCache(ids, trained, offsets, np.asarray(cache.trainable)[rows], np.asarray(cache.full_length)[rows],
                      np.asarray(cache.truncated)[rows])


def as_dataset(cache: TokenCache):
    """The cache as an Arrow-backed ``datasets.Dataset`` (zero-copy list columns), as a HF user would hold it."""
    import datasets
    import pyarrow as pa

    offsets = pa.array(np.asarray(cache.offsets, dtype=np.int64).astype(np.int32))
    ids = pa.ListArray.from_arrays(offsets, pa.array(np.asarray(cache.input_ids)))
    labels_flat = np.where(np.asarray(cache.trained), np.asarray(cache.input_ids), -100).astype(np.int32)
    labels = pa.ListArray.from_arrays(offsets, pa.array(labels_flat))
    table = pa.table({"input_ids": ids, "labels": labels, "n_tokens": pa.array(np.diff(cache.offsets))})
    return datasets.Dataset(datasets.table.InMemoryTable(table))


def plan(sizes: dict[str, int], total: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """Per-source seeded orders and row counts of the mixture (what both sides compose)."""
    rows = apportion([SHARES[n] for n in sizes], total)
    orders = [source_order(sizes[n], seed, n) for n in sizes]
    return orders, rows


def run_mixlab(caches: list[TokenCache], orders: list[np.ndarray], rows: list[int], seed: int) -> tuple[float, float, np.ndarray]:
    t0 = time.perf_counter()
    source, row = compose(orders, rows, seed)
    t1 = time.perf_counter()
    # one gather over the sources' lengths laid end to end
    all_lengths = np.concatenate([c.lengths for c in caches])
    base = np.cumsum([0] + [len(c) for c in caches[:-1]])
    lengths = all_lengths[base[source] + row]
    t2 = time.perf_counter()
    return t1 - t0, t2 - t0, lengths


def run_datasets(dsets: list, orders: list[np.ndarray], rows: list[int], seed: int) -> tuple[float, float, np.ndarray]:
    import datasets

    from mixlab.mix.amounts import take

    t0 = time.perf_counter()
    parts = [ds.select(take(o, k)) for ds, o, k in zip(dsets, orders, rows, strict=True)]
    mixed = datasets.concatenate_datasets(parts).shuffle(seed=seed)
    t1 = time.perf_counter()
    # the fastest materialising read found (an Arrow take through the indices mapping); plain
    # np.asarray(mixed["n_tokens"]) iterates row by row and is ~40x slower still
    lengths = mixed.with_format("arrow")["n_tokens"].to_numpy()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t0, lengths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--total", type=int, default=1_000_000, help="mixture rows")
    ap.add_argument("--source-rows", type=int, default=100_000, help="rows per source after resampling")
    ap.add_argument("--p3-rows", type=int, default=3000, help="real P3 rows tokenized (sampled)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cache-dir", type=Path, default=None, help="token cache (default: a temp folder)")
    args = ap.parse_args()

    import datasets

    datasets.disable_progress_bars()
    cache_dir = args.cache_dir or Path(tempfile.mkdtemp(prefix="mixlab-bench-"))
    t = time.perf_counter()
    real = real_caches(SHARED / "smollm2_135m_instruct_gguf", cache_dir, args.p3_rows)
    print(f"tokenized sources once in {time.perf_counter() - t:.1f} s: "
          + ", ".join(f"{n} {len(c)} rows" for n, c in real.items()))
    caches = [resample(c, args.source_rows, seed=i) for i, c in enumerate(real.values())]
    dsets = [as_dataset(c) for c in caches]
    sizes = dict(zip(real, (len(c) for c in caches), strict=True))
    mix_c, mix_l, hf_c, hf_l = [], [], [], []
    for rep in range(args.repeats):
        orders, rows = plan(sizes, args.total, seed=rep)
        a_c, a_l, a_len = run_mixlab(caches, orders, rows, seed=rep)
        b_c, b_l, b_len = run_datasets(dsets, orders, rows, seed=rep)
        assert len(a_len) == len(b_len) == args.total
        assert np.array_equal(np.sort(a_len), np.sort(b_len))  # the same rows on both sides
        mix_c.append(a_c)
        mix_l.append(a_l)
        hf_c.append(b_c)
        hf_l.append(b_l)
    med = statistics.median
    tokens = int(a_len.sum())
    print(f"\nmixture: {args.total:,} rows ({tokens:,} tokens) from 3 sources of {args.source_rows:,} rows, "
          f"shares 0.4/0.3/0.3 (upsampled), median of {args.repeats} repeats, side by side\n")
    print("| step | mixlab (index arrays) | HF datasets select/concatenate/shuffle | ratio |")
    print("|---|---|---|---|")
    print(f"| compose {args.total:,}-row mixture | {med(mix_c) * 1e3:.1f} ms | {med(hf_c) * 1e3:.1f} ms | "
          f"{med(hf_c) / med(mix_c):.1f}x |")
    print(f"| compose + read every row's token length | {med(mix_l) * 1e3:.1f} ms | {med(hf_l) * 1e3:.1f} ms | "
          f"{med(hf_l) / med(mix_l):.1f}x |")
    print(f"\nall runs (s): mixlab compose {[round(x, 4) for x in mix_c]}, datasets compose "
          f"{[round(x, 4) for x in hf_c]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
