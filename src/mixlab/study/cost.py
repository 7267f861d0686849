"""What a study costs before it runs: runs, training tokens, FLOPs and GPU-hours, evaluation items.

``mixlab study expand SPEC`` prints this, so that a user budgets before launching. The arithmetic is plain:

- **tokens** per run = rows of each source x tokens per row x epochs. Tokens per row are measured on a seeded
  sample of each source, rendered and cut at ``max_length`` exactly as training does, with the model's own
  tokenizer when it can be loaded (else ``chars / 4``, and the estimate says so). Rows cut before their
  response count zero (training drops them). Padding is not counted (packing leaves almost none).
- **FLOPs** = ``6 N T`` for full fine-tuning (forward 2, backward 4, per parameter and token; attention's own
  FLOPs are left out, small at these lengths) and ``4 N T`` for LoRA / QLoRA (frozen weights need no weight
  gradients, only activation gradients); gradient checkpointing adds a forward, ``+2 N T``.
- **GPU-hours** = FLOPs / (peak bf16 dense FLOP/s x MFU). The MFU is an assumption, stated with every
  estimate: 40 % for models of 1B parameters and more, 20 % below (small matrices leave a GPU underused).

>>> tokens = TokenCounts("tokenizer", {"chat": SourceTokens(available=1000, sampled=200, tokens_per_row=300.0,
...                                                         trainable_per_row=200.0)})
>>> cost = training_cost(tokens, runs=[{"chat": 500}], train={"epochs": 2}, params=7_000_000_000)
>>> cost.tokens, cost.trainable_tokens, cost.epochs
(300000.0, 200000.0, 2.0)
>>> round(cost.flops / 1e15, 1), cost.mfu, round(cost.gpu_hours, 4)   # 6 x 7e9 x 3e5 at 40 % of 989 TFLOP/s
(12.6, 0.4, 0.0088)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mixlab.errors import MixlabError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GPU:
    name: str
    #: peak dense bf16 FLOP/s (no sparsity)
    peak_flops: float


GPUS = {
    "h100": GPU("H100 SXM (bf16 dense 989 TFLOP/s)", 989e12),
    "h200": GPU("H200 (bf16 dense 989 TFLOP/s)", 989e12),
    "a100": GPU("A100 (bf16 dense 312 TFLOP/s)", 312e12),
}

#: FLOPs per parameter and trained token
FULL_FLOPS = 6
LORA_FLOPS = 4
CHECKPOINTING_FLOPS = 2


def default_mfu(params: int) -> float:
    """The assumed model FLOPs utilisation for a model size (an assumption, not a measurement)."""
    return 0.4 if params >= 1_000_000_000 else 0.2


@dataclass(frozen=True)
class SourceTokens:
    """One source, measured on a sample: rows available and mean tokens per row (after the ``max_length`` cut;
    rows without a response token within it count zero, as training drops them)."""

    available: int
    sampled: int
    tokens_per_row: float
    trainable_per_row: float


@dataclass(frozen=True)
class TokenCounts:
    #: how tokens were counted: ``tokenizer`` (the model's) or ``chars/4`` (no tokenizer could be loaded)
    method: str
    sources: dict[str, SourceTokens]
    note: str = ""


@dataclass(frozen=True)
class TrainingCost:
    runs: int
    tokens: float
    """Tokens processed by every trained run together, all epochs."""
    trainable_tokens: float
    epochs: float
    """Mean passes over each run's mixture."""
    params: int | None
    flops_per_token: int | None
    flops: float | None
    gpu: GPU
    mfu: float | None
    gpu_hours: float | None


@dataclass(frozen=True)
class StudyCost:
    runs: int
    trained_runs: int
    training: TrainingCost
    tokens: TokenCounts
    params_from: str
    method: str
    eval_items: dict[str, int | str] = field(default_factory=dict)
    """Items per run for each suite (a sentence where they could not be counted)."""

    def lines(self) -> list[str]:
        t = self.training
        base = self.runs - self.trained_runs
        out = [f"cost: {self.runs} runs ({self.trained_runs} trained, {base} base model only)"]
        how = "the model's tokenizer" if self.tokens.method == "tokenizer" else "chars/4 (no tokenizer)"
        sampled = ", ".join(f"{k} {v.sampled}" for k, v in self.tokens.sources.items())
        out.append(f"  training tokens: {_si(t.tokens)} ({_si(t.trainable_tokens)} trainable) over "
                   f"{t.epochs:.3g} epochs per run; counted with {how} on sampled rows ({sampled})"
                   + (f"; {self.tokens.note}" if self.tokens.note else ""))
        if t.params is None or t.flops is None or t.gpu_hours is None or t.mfu is None:
            out.append(f"  GPU-hours: unknown ({self.params_from})")
        else:
            out.append(f"  model: {_si(t.params)} parameters ({self.params_from}); {self.method}: "
                       f"{t.flops_per_token} x N x tokens = {t.flops:.3g} FLOPs")
            out.append(f"  GPU-hours: {t.gpu_hours:.3g} on {t.gpu.name} at an assumed {t.mfu:.0%} MFU "
                       f"(training only)")
        if self.eval_items:
            parts = [f"{k} {v}" for k, v in self.eval_items.items()]
            known = sum(v for v in self.eval_items.values() if isinstance(v, int))
            out.append(f"  evaluation: {known} items per run ({'; '.join(parts)}), {known * self.runs} in all")
        return out


def training_cost(tokens: TokenCounts, runs: Sequence[Mapping[str, int]], train: Mapping[str, Any], *,
                  params: int | None, gpu: GPU = GPUS["h100"], mfu: float | None = None) -> TrainingCost:
    """The cost of training ``runs`` (each ``{source name: rows}``) with the study's ``train`` fields."""
    total = trainable = passes = 0.0
    for rows in runs:
        data = sum(n * tokens.sources[s].tokens_per_row for s, n in rows.items())
        data_trainable = sum(n * tokens.sources[s].trainable_per_row for s, n in rows.items())
        seen = _tokens_seen(train, data, data_trainable, sum(rows.values()))
        total += seen
        trainable += seen * (data_trainable / data if data else 0.0)
        passes += seen / data if data else 0.0
    lora = bool(train.get("lora") or train.get("qlora"))
    per_token = (LORA_FLOPS if lora else FULL_FLOPS) + (CHECKPOINTING_FLOPS if train.get("gradient_checkpointing")
                                                       else 0)
    if params is None:
        return TrainingCost(len(runs), total, trainable, passes / max(len(runs), 1), None, per_token, None, gpu,
                            None, None)
    flops = per_token * params * total
    mfu = mfu if mfu is not None else default_mfu(params)
    return TrainingCost(len(runs), total, trainable, passes / max(len(runs), 1), params, per_token, flops, gpu,
                        mfu, flops / (gpu.peak_flops * mfu) / 3600)


def _tokens_seen(train: Mapping[str, Any], data: float, data_trainable: float, rows: int) -> float:
    """Tokens one run processes: its budget (epochs, steps or trainable tokens) over its data."""
    if train.get("max_steps") is not None:
        # a packed row is filled to max_length; an unpacked one holds one example
        per_sequence = (train.get("max_length") or 1024) if train.get("packing") else data / max(rows, 1)
        return float(train["max_steps"]) * int(train.get("batch_size") or 8) * per_sequence
    if train.get("max_tokens") is not None:
        return float(train["max_tokens"]) * (data / data_trainable if data_trainable else 0.0)
    return float(train.get("epochs") or 1.0) * data


# ----- measuring the sources --------------------------------------------------------------------------------
def count_source_tokens(spec: Any, *, sample: int = 200, tokenizer: Any = None, note: str = "") -> TokenCounts:
    """Tokens per row of each source of a ``StudySpec``, on a seeded sample of ``sample`` rows.

    With ``tokenizer`` rows are rendered with the study's template and cut at its ``max_length`` as training
    does; without, ``chars / 4`` of the messages (cut at ``max_length`` too).
    """
    from mixlab.mix.amounts import source_order
    from mixlab.mix.sources import load_sources

    max_length = int(spec.train.get("max_length") or 1024)
    loaded = load_sources(spec.mixture)
    out = {}
    for src in spec.mixture.sources:
        examples = loaded[src.name].examples
        order = source_order(len(examples), seed=spec.mixture.seed, name=src.name)[:sample]
        picked = [examples[i] for i in order.tolist()]
        lengths = _token_lengths(picked, tokenizer, spec.train, max_length)
        out[src.name] = SourceTokens(
            available=len(examples), sampled=len(picked),
            tokens_per_row=float(np.mean([n if t else 0 for n, t in lengths])) if lengths else 0.0,
            trainable_per_row=float(np.mean([t for _, t in lengths])) if lengths else 0.0,
        )
    return TokenCounts("tokenizer" if tokenizer is not None else "chars/4", out, note)


def _token_lengths(examples: list[Any], tokenizer: Any, train: Mapping[str, Any],
                   max_length: int) -> list[tuple[int, int]]:
    """(tokens, trainable tokens) per example."""
    if tokenizer is not None:
        from mixlab.data.tokenize import encode_examples

        encoded = encode_examples(examples, tokenizer, template=train.get("template", "chat"),
                                  max_length=max_length, loss_on=train.get("loss_on", "all_assistant"))
        return [(len(e), e.n_trainable) for e in encoded]
    out = []
    for ex in examples:
        total = min(max_length, sum(len(m.content) for m in ex.messages) // 4 + 4 * len(ex.messages))
        answer = sum(len(m.content) for m in ex.messages if m.role == "assistant") // 4
        out.append((total, min(answer, total)))
    return out


def load_study_tokenizer(model: str, train: Mapping[str, Any]) -> tuple[Any, str]:
    """The tokenizer training would use, or ``(None, why not)``."""
    if model == "world" or model.startswith("world:"):
        return None, "the world's tokenizer is built with its base model at run time"
    from mixlab.train.model import load_tokenizer, resolve_model_source

    try:
        src = resolve_model_source(model, train.get("gguf_file"), need_weights=False)
        name = train.get("tokenizer") or src.path
        if src.kind == "hub" or not Path(name).exists():  # an estimate never downloads: the local cache only
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(name, revision=train.get("revision"), local_files_only=True), ""
        return load_tokenizer(name, train.get("revision"), src.gguf_file), ""
    except (MixlabError, OSError, ValueError) as exc:
        return None, f"no tokenizer in the local files ({type(exc).__name__})"


def model_parameters(model: str, train: Mapping[str, Any]) -> tuple[int | None, str]:
    """``(parameters, where the number comes from)``: the model's config (built on the meta device, no
    weights read), else a size in the name (``7B``, ``135M``), else ``None``."""
    if model == "world" or model.startswith("world:"):
        return None, "the world's base model is built at run time; a CPU study"
    try:
        import torch
        from transformers import AutoModelForCausalLM

        from mixlab.train.model import load_config, resolve_model_source

        src = resolve_model_source(model, train.get("gguf_file"), need_weights=False)
        if src.kind == "hub":  # an estimate never downloads: the local cache only
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(src.path, revision=train.get("revision"), local_files_only=True)
        else:
            config = load_config(src, train.get("revision"))
        with torch.device("meta"):
            net = AutoModelForCausalLM.from_config(config)
        return sum(p.numel() for p in net.parameters()), "counted from its config"
    except Exception as exc:  # any failure falls back on the name, and says so
        found = re.search(r"(\d+(?:\.\d+)?)\s*([BbMm])(?![a-zA-Z])", model.rsplit("/", 1)[-1])
        if found:
            scale = 1e9 if found.group(2).lower() == "b" else 1e6
            return int(float(found.group(1)) * scale), "from the size in its name: no config in the local files"
        return None, f"parameters unknown: no config in the local files and no size in the name ({type(exc).__name__})"


def run_rows(run: Any, tokens: TokenCounts) -> dict[str, int]:
    """``{source name: rows}`` of one trained run, its amounts resolved against the sources' sizes."""
    from mixlab.mix.amounts import resolve_amounts

    mix = run.mixture
    available = {s.name: tokens.sources[s.name].available for s in mix.sources}
    per_row = {s.name: np.full(available[s.name], max(1, round(tokens.sources[s.name].trainable_per_row)))
               for s in mix.sources if s.tokens is not None}
    return {p.name: p.rows for p in resolve_amounts(mix, available, per_row)}


def eval_items(spec: Any) -> dict[str, int | str]:
    """Items each run is scored on, per suite (a sentence where a suite cannot be built here)."""
    from mixlab.eval.suites import SUITES, options_for, suite_options

    out: dict[str, int | str] = {}
    names = list(spec.eval.suites)
    typed = suite_options(names, {"limit": spec.eval.limit, **spec.eval.options})  # one study, one options dict
    for name in names:
        try:
            tasks = SUITES.get(name)(**options_for(name, typed))
        except Exception as exc:  # a missing data file or judge: the estimate goes on without it, and says so
            out[name] = f"unknown ({type(exc).__name__})"
            continue
        out[name] = sum(_task_items(t, spec.eval.limits.get(name, spec.eval.limit)) for t in tasks)
    return out


def _task_items(task: Any, limit: int | None) -> int:
    for attr in ("items", "problems", "prompts", "questions", "n_items"):
        items = getattr(task, attr, None)
        if items is not None:
            n = items if isinstance(items, int) else len(items)
            return min(n, limit) if limit else n
    return 0


def study_cost(spec: Any, runs: Sequence[Any], *, gpu: str = "h100", mfu: float | None = None,
               sample: int = 200, with_eval: bool = True) -> StudyCost:
    """The whole estimate for a ``StudySpec`` and its expanded runs (loads the sources and the tokenizer)."""
    if gpu not in GPUS:
        raise MixlabError(f"gpu: {gpu!r} is not one of {', '.join(GPUS)}")
    tokenizer, why = load_study_tokenizer(spec.model, spec.train)
    tokens = count_source_tokens(spec, sample=sample, tokenizer=tokenizer, note=why)
    params, params_from = model_parameters(spec.model, spec.train)
    trained = [r for r in runs if not r.is_base]
    cost = training_cost(tokens, [run_rows(r, tokens) for r in trained], spec.train, params=params,
                         gpu=GPUS[gpu], mfu=mfu)
    method = "QLoRA" if spec.train.get("qlora") else "LoRA" if spec.train.get("lora") else "full fine-tuning"
    return StudyCost(len(runs), len(trained), cost, tokens, params_from, method,
                     eval_items(spec) if with_eval else {})


def study_cost_lines(spec: Any, runs: Sequence[Any], *, gpu: str = "h100", mfu: float | None = None,
                     sample: int = 200) -> list[str]:
    """What ``mixlab study expand`` prints: ``study_cost``'s lines; with axes, the cost of each combination of
    axis values (its own model, training fields and sources) and their sum."""
    from mixlab.study.axes import combinations

    if not spec.axes:
        return study_cost(spec, runs, gpu=gpu, mfu=mfu, sample=sample).lines()
    trained = [r for r in runs if not r.is_base]
    out = [f"cost: {len(runs)} runs ({len(trained)} trained, {len(runs) - len(trained)} base model only), "
           "by combination of axis values:"]
    tokens = flops = hours = 0.0
    unknown = False
    for combo in combinations(spec.axes):
        labels = {k: spec.axes[k].labels_or_default()[i] for k, i in combo.items()}
        mine = [r for r in trained if all(r.axes.get(k) == v for k, v in labels.items())]
        c = study_cost(spec.variant(combo), mine, gpu=gpu, mfu=mfu, sample=sample, with_eval=False)
        t = c.training
        tokens += t.tokens
        if t.flops is None or t.gpu_hours is None:
            unknown = True
            compute = f"GPU-hours unknown ({c.params_from})"
        else:
            flops += t.flops
            hours += t.gpu_hours
            compute = f"{c.method}, {t.flops:.3g} FLOPs, {t.gpu_hours:.3g} GPU-hours"
        name = ",".join(f"{k}={v}" for k, v in labels.items())
        out.append(f"  {name}: {len(mine)} trained runs, {_si(t.tokens)} training tokens over {t.epochs:.3g} "
                   f"epochs per run; {compute}")
    total = ("GPU-hours unknown for some combinations" if unknown
             else f"{flops:.3g} FLOPs, {hours:.3g} GPU-hours on {GPUS[gpu].name} (training only)")
    out.append(f"  all: {_si(tokens)} training tokens, {total}")
    items = eval_items(spec)
    known = sum(v for v in items.values() if isinstance(v, int))
    out.append(f"  evaluation: {known} items per run ({'; '.join(f'{k} {v}' for k, v in items.items())}), "
               f"{known * len(runs)} in all")
    return out


def _si(x: float) -> str:
    for scale, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"
