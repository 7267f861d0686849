"""``TrainSpec``: everything that defines a fine-tuning run, validated at the door.

The same object comes from Python, from a YAML/JSON config file or from ``mixlab train`` flags. Validation
reports *all* problems at once, each naming the field, the bad value and what would be valid.

>>> spec = TrainSpec(model="models/base", data="mixes/A+C/train.jsonl", out="runs/a", max_steps=100)
>>> spec.budget()
('steps', 100)
>>> TrainSpec(model="m", data="d", out="o", batch_size=0, lr=-1.0)
Traceback (most recent call last):
...
mixlab.errors.SpecError: train spec has 2 problems:
  - batch_size: 0 is not positive; use an integer >= 1
  - lr: -1.0 is not positive; use e.g. 2e-5 (full) or 2e-4 (LoRA)
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from mixlab.data.tokenize import LOSS_ON, TEMPLATE_NAMES
from mixlab.errors import SpecError

SCHEDULES = ("constant", "linear", "cosine", "wsd")
PRECISIONS = ("auto", "fp32", "bf16")
INITS = ("pretrained", "random")
REPORTERS = ("tensorboard", "mlflow")
OVERFLOW = ("truncate", "drop")

# Fields that do not change what is learned: a resumed or re-run spec may differ in these.
NON_IDENTITY_FIELDS = ("out", "resume", "log_every", "report_to", "save_every", "keep_last", "overwrite",
                       "cpu_threads", "cache_dir")


@dataclass(frozen=True)
class TrainSpec:
    """One supervised fine-tuning run."""

    model: str
    """A local Hugging Face model folder, a hub id (``org/name``), or a ``.gguf`` file."""
    data: str
    """A built mixture folder (``train.jsonl`` + ``manifest.json``), a ``train.jsonl``, or any file
    ``mixlab data`` reads (alpaca, sharegpt, messages; json, jsonl, parquet, csv, gzipped)."""
    out: str
    """Run folder: ``final/``, ``metrics.jsonl``, ``checkpoints/``, ``train.json``, ``result.json``."""

    # -- model
    tokenizer: str | None = None
    """Tokenizer folder or hub id; default: the model's."""
    gguf_file: str | None = None
    """GGUF weights file inside ``model`` (found automatically when the folder holds exactly one)."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) for hub ids."""
    init: str = "pretrained"
    """``pretrained`` loads the weights; ``random`` builds the model's architecture with fresh weights
    (seeded), for benchmarks and from-scratch toy models."""
    lora: bool = False
    """Train LoRA adapters (peft) instead of all weights; ``final/`` then holds the adapter."""
    qlora: bool = False
    """LoRA on a 4-bit base model (bitsandbytes; needs a CUDA GPU)."""
    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA scaling numerator (scale = alpha / r)."""
    lora_dropout: float = 0.0
    """Dropout on the LoRA input (0 keeps runs bit-reproducible without extra RNG state)."""
    lora_target: str | tuple[str, ...] = "all-linear"
    """Modules that get adapters: ``all-linear`` or module names such as ``("q_proj", "v_proj")``."""
    precision: str = "auto"
    """``auto`` = fp32 on CPU, bf16 mixed precision on a GPU that supports it; or ``fp32`` / ``bf16``."""
    attn_implementation: str | None = None
    """Attention kernel (``sdpa``, ``eager``, ``flash_attention_2``); default: sdpa, flash-attention 2 on GPU
    when installed."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory, about 30 % slower."""
    cpu_threads: int | None = None
    """Torch CPU threads during this run (restored afterwards); default: torch's own setting. On a shared or
    small machine, 1 is often much faster for tiny models (measured: a 32-wide matmul took 80 us with 1 thread
    and 7 ms with 2 on a 2-core machine under load)."""

    # -- data and loss
    template: str = "chat"
    """``chat``/``instruction`` (the tokenizer's chat template), ``chatml``, ``alpaca``, ``dataset-name``, ``none``."""
    loss_on: str = "all_assistant"
    """Which assistant turns carry loss: ``all_assistant`` or ``last_assistant``."""
    max_length: int | None = None
    """Tokens per example (and per packed row); default 1024, or the model's position limit when lower.
    Longer examples are cut at the end (counted)."""
    on_overflow: str = "truncate"
    """``truncate`` longer examples (counted) or ``drop`` them (counted)."""
    packing: bool = False
    """Pack several examples per row of ``max_length`` tokens; positions restart per example and examples never
    attend to each other, so the loss is the same as unpacked."""
    cache_dir: str | None = None
    """Token cache of built mixtures (default ``$MIXLAB_CACHE/tokens``, ``~/.cache/mixlab/tokens``)."""
    group_by_length: bool = True
    """Without packing: batch examples of similar length together (less padding); order stays random across
    batches."""

    # -- budget (exactly one; default: 1 epoch)
    epochs: float | None = None
    """Passes over the data (may be fractional)."""
    max_steps: int | None = None
    """Optimizer steps."""
    max_tokens: int | None = None
    """Trainable (response) tokens; training stops at the first step that reaches it."""

    # -- optimisation
    batch_size: int = 8
    """Sequences (examples, or packed rows) per optimizer step, over all processes."""
    micro_batch_size: int | None = None
    """Sequences per forward pass on one process; default: ``batch_size / processes``. The remainder is
    gradient accumulation."""
    lr: float | None = None
    """Peak learning rate; default 2e-5 for full fine-tuning, 2e-4 for LoRA."""
    schedule: str = "cosine"
    """``constant``, ``linear`` (decay to ``min_lr_ratio``), ``cosine`` or ``wsd`` (warmup-stable-decay)."""
    warmup_ratio: float = 0.03
    """Share of steps with linear warmup (ignored when ``warmup_steps`` is set)."""
    warmup_steps: int | None = None
    """Warmup steps."""
    decay_ratio: float = 0.2
    """``wsd`` only: share of the steps spent in the final decay."""
    min_lr_ratio: float = 0.0
    """Learning rate at the end of the decay, as a fraction of ``lr``."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    adam_betas: tuple[float, float] = (0.9, 0.999)
    """AdamW betas."""
    adam_eps: float = 1e-8
    """AdamW epsilon."""
    max_grad_norm: float | None = 1.0
    """Clip the gradient norm to this value (``None``: no clipping; the norm is still logged)."""
    seed: int = 0
    """Seeds data order, random init and LoRA init. The same spec and seed give the same weights."""

    # -- telemetry and checkpoints
    log_every: int = 10
    """Write a telemetry row to ``metrics.jsonl`` every N steps (and at the last step)."""
    report_to: tuple[str, ...] = ()
    """Also log to ``tensorboard`` and/or ``mlflow`` (must be installed: ``pip install 'mixlab[tracking]'``)."""
    save_every: int | None = None
    """Write a resumable checkpoint every N steps (only the last ``keep_last`` are kept)."""
    keep_last: int = 1
    """How many periodic checkpoints to keep."""
    save_at_steps: tuple[int, ...] = ()
    """Keep a checkpoint (resumable, and an evaluable model folder) after these steps."""
    save_at_tokens: tuple[int, ...] = ()
    """Keep a checkpoint after the first step at which this many trainable tokens were seen."""
    resume: bool = True
    """Continue from the newest checkpoint in ``out`` when one exists for the same spec."""
    overwrite: bool = False
    """Start over even if ``out`` holds a finished or different run."""

    def __post_init__(self) -> None:
        for name in ("lora_target",):
            v = getattr(self, name)
            if isinstance(v, list):
                object.__setattr__(self, name, tuple(v))
        for name in ("report_to", "save_at_steps", "save_at_tokens", "adam_betas"):
            v = getattr(self, name)
            if isinstance(v, (list, str)):
                object.__setattr__(self, name, (v,) if isinstance(v, str) else tuple(v))
        problems = _problems(self)
        if problems:
            raise SpecError("train spec", problems)

    # ------------------------------------------------------------------ derived values

    def budget(self) -> tuple[str, float]:
        """``("epochs" | "steps" | "tokens", value)``: how this run's compute is matched."""
        if self.max_steps is not None:
            return "steps", self.max_steps
        if self.max_tokens is not None:
            return "tokens", self.max_tokens
        return "epochs", self.epochs if self.epochs is not None else 1.0

    def peak_lr(self) -> float:
        if self.lr is not None:
            return self.lr
        return 2e-4 if (self.lora or self.qlora) else 2e-5

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    def identity(self) -> dict[str, Any]:
        """The fields that decide what is learned (a resumed run must match these)."""
        return {k: v for k, v in self.to_dict().items() if k not in NON_IDENTITY_FIELDS}

    def replace(self, **changes: Any) -> TrainSpec:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], **overrides: Any) -> TrainSpec:
        """Build from a mapping (a parsed YAML file); unknown keys are errors with a suggestion."""
        names = [f.name for f in fields(cls)]
        problems = []
        for key in d:
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(f"{key}: unknown field{hint}")
        merged = {k: v for k, v in d.items() if k in names}
        merged.update({k: v for k, v in overrides.items() if v is not None})
        missing = [n for n in ("model", "data", "out") if merged.get(n) in (None, "")]
        problems += [f"{n}: required (a path or id)" for n in missing]
        if problems:
            raise SpecError("train spec", problems)
        for key in ("model", "data", "out", "tokenizer"):
            if isinstance(merged.get(key), Path):
                merged[key] = str(merged[key])
        return cls(**merged)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> TrainSpec:
        """Read a YAML or JSON config; ``overrides`` (e.g. command-line flags) win over the file."""
        import yaml

        from mixlab.errors import MixlabError

        p = Path(path)
        if not p.is_file():
            raise MixlabError(f"config file not found: {p}")
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        if not isinstance(data, Mapping):
            raise MixlabError(f"{p}: a train config is a mapping of field: value, got {type(data).__name__}")
        return cls.from_dict(data, **overrides)


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _problems(s: TrainSpec) -> list[str]:
    p: list[str] = []
    for name in ("model", "data", "out"):
        v = getattr(s, name)
        if not isinstance(v, str) or not v.strip():
            p.append(f"{name}: {v!r} is not a path or id; give a non-empty string")
    _choice(p, "template", s.template, TEMPLATE_NAMES)
    _choice(p, "loss_on", s.loss_on, LOSS_ON)
    _choice(p, "schedule", s.schedule, SCHEDULES)
    _choice(p, "precision", s.precision, PRECISIONS)
    _choice(p, "init", s.init, INITS)
    _choice(p, "on_overflow", s.on_overflow, OVERFLOW)
    for r in s.report_to:
        _choice(p, "report_to", r, REPORTERS)
    for name, lo in (("batch_size", 1), ("log_every", 1), ("keep_last", 1), ("lora_r", 1), ("lora_alpha", 1)):
        _positive_int(p, name, getattr(s, name), lo)
    if s.max_length is not None:
        _positive_int(p, "max_length", s.max_length, 2)
    for name in ("micro_batch_size", "max_steps", "max_tokens", "save_every", "warmup_steps", "cpu_threads"):
        v = getattr(s, name)
        if v is not None:
            _positive_int(p, name, v, 0 if name == "warmup_steps" else 1)
    if not _is_int(s.seed):
        p.append(f"seed: {s.seed!r} is not an integer")
    given = [n for n in ("epochs", "max_steps", "max_tokens") if getattr(s, n) is not None]
    if len(given) > 1:
        p.append(f"{' and '.join(given)}: give only one budget (epochs, max_steps or max_tokens); "
                 "the run is compute-matched by it")
    if s.epochs is not None and (not _is_num(s.epochs) or s.epochs <= 0):
        p.append(f"epochs: {s.epochs!r} is not a positive number")
    if s.lr is not None and (not _is_num(s.lr) or s.lr <= 0):
        p.append(f"lr: {s.lr!r} is not positive; use e.g. 2e-5 (full) or 2e-4 (LoRA)")
    for name, lo, hi in (("warmup_ratio", 0, 1), ("decay_ratio", 0, 1), ("min_lr_ratio", 0, 1),
                         ("lora_dropout", 0, 1), ("weight_decay", 0, 10)):
        v = getattr(s, name)
        if not _is_num(v) or not lo <= v <= hi:
            p.append(f"{name}: {v!r} is outside [{lo}, {hi}]")
    if s.max_grad_norm is not None and (not _is_num(s.max_grad_norm) or s.max_grad_norm <= 0):
        p.append(f"max_grad_norm: {s.max_grad_norm!r} is not positive; use e.g. 1.0, or null for no clipping")
    if len(s.adam_betas) != 2 or not all(_is_num(b) and 0 <= b < 1 for b in s.adam_betas):
        p.append(f"adam_betas: {s.adam_betas!r} is not two numbers in [0, 1)")
    if not _is_num(s.adam_eps) or s.adam_eps <= 0:
        p.append(f"adam_eps: {s.adam_eps!r} is not positive")
    if s.micro_batch_size is not None and _is_int(s.micro_batch_size) and _is_int(s.batch_size) \
            and s.micro_batch_size > s.batch_size:
        p.append(f"micro_batch_size: {s.micro_batch_size} is larger than batch_size {s.batch_size}")
    for name in ("save_at_steps", "save_at_tokens"):
        vals = getattr(s, name)
        if not all(_is_int(v) and v > 0 for v in vals):
            p.append(f"{name}: {list(vals)!r} must be positive integers")
    if s.qlora and s.init == "random":
        p.append("qlora: a randomly initialised base model cannot be quantized usefully; use init: pretrained")
    if s.init == "random" and s.gguf_file:
        p.append("gguf_file: not used with init: random (the architecture comes from config.json)")
    if isinstance(s.lora_target, str) and not s.lora_target:
        p.append("lora_target: empty; use 'all-linear' or a list of module names")
    return p


def _choice(p: list[str], name: str, value: Any, valid: tuple[str, ...]) -> None:
    if value not in valid:
        close = difflib.get_close_matches(str(value), valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        p.append(f"{name}: {value!r} is not valid{hint}; valid: {', '.join(valid)}")


def _positive_int(p: list[str], name: str, value: Any, lo: int) -> None:
    if not _is_int(value):
        p.append(f"{name}: {value!r} is not an integer")
    elif value < lo:
        what = "not positive" if lo == 1 else f"below {lo}"
        p.append(f"{name}: {value} is {what}; use an integer >= {lo}")


__all__ = ["TrainSpec"]
