"""Preparing a training run: everything made before its first step.

``prepare(spec)`` checks the loggers, sizes the micro-batches for the processes at hand, prepares accelerate
(DeepSpeed's "auto" batch sizes filled in), loads tokenizer and data through the token cache, plans every
step, loads the model (LoRA / QLoRA, gradient checkpointing), and prepares model and optimizer. The loop,
checkpoints and the result are ``run.py``'s.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from mixlab.errors import MixlabError, require
from mixlab.train.spec import TrainSpec

#: max_length when the spec leaves it unset (or the model's position limit when that is lower)
DEFAULT_MAX_LENGTH = 1024


@dataclass
class Prepared:
    """Everything the loop needs, made before its first step."""

    spec: TrainSpec
    """The spec with defaults that depend on the model filled in (max_length)."""
    accelerator: Any
    tokenizer: Any
    encoded: list[Any]
    stats: Any
    plan: Any
    step_all_tokens: list[int]
    model: Any
    module: Any
    optimizer: Any
    params: list[Any]
    sources: list[str]
    micro: int
    rounds: int
    template_id: str
    fingerprint: str
    model_info: dict[str, Any]


def _mixed_precision(spec: TrainSpec) -> str:
    import torch

    if spec.precision == "fp32":
        return "no"
    if spec.precision == "bf16":
        return "bf16"
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"


def _accelerator(spec: TrainSpec, world: int, micro: int, rounds: int) -> Any:
    import torch
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    mp = _mixed_precision(spec)
    state = AcceleratorState._shared_state
    if world == 1 and state and state.get("_mixed_precision") not in (None, mp):
        # Several runs in one process (a study): accelerate keeps one global state; a single-process run may
        # reset it so that precision can differ between runs.
        AcceleratorState._reset_state()
    acc = Accelerator(mixed_precision=mp, gradient_accumulation_steps=rounds, cpu=not torch.cuda.is_available())
    if acc.gradient_accumulation_steps != rounds:
        raise MixlabError(
            f"the accelerate configuration sets gradient_accumulation_steps={acc.gradient_accumulation_steps}, but "
            f"mixlab derives it from batch_size {spec.batch_size} / (micro_batch_size {micro} x {world} "
            f"processes) = {rounds}; remove it from the accelerate config (DeepSpeed JSON: \"auto\") and set "
            "batch_size / micro_batch_size in the train spec instead"
        )
    _fill_deepspeed(acc, spec, micro, rounds, world)
    return acc


def _fill_deepspeed(acc: Any, spec: TrainSpec, micro: int, rounds: int, world: int) -> None:
    """DeepSpeed reads batch sizes from its config; mixlab prepares no data loader, so fill the "auto"s here."""
    plugin = getattr(acc.state, "deepspeed_plugin", None)
    if plugin is None:
        return
    cfg = plugin.deepspeed_config
    for key, value in (("train_micro_batch_size_per_gpu", micro), ("gradient_accumulation_steps", rounds),
                       ("train_batch_size", micro * rounds * world)):
        if cfg.get(key, "auto") == "auto":
            cfg[key] = value
    if cfg.get("gradient_clipping", "auto") == "auto":
        cfg["gradient_clipping"] = spec.max_grad_norm or 0.0


def _default_attn(spec: TrainSpec) -> str:
    import importlib.util

    import torch

    if spec.attn_implementation:
        return spec.attn_implementation
    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _load_model(spec: TrainSpec, src: Any, device: Any) -> Any:
    import torch

    from mixlab.train import model as M

    quant = M.qlora_config() if spec.qlora else None
    low_precision = (spec.lora or spec.qlora) and _mixed_precision(spec) == "bf16"
    dtype = torch.bfloat16 if low_precision else torch.float32
    model = M.load_causal_lm(src, init=spec.init, seed=spec.seed, dtype=dtype,
                             attn_implementation=_default_attn(spec), revision=spec.revision,
                             quantization_config=quant)
    if spec.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if spec.lora or spec.qlora:
        import torch as _t

        _t.manual_seed(spec.seed)  # LoRA A matrices are random: seed them
        model = M.add_lora(model, r=spec.lora_r, alpha=spec.lora_alpha, dropout=spec.lora_dropout,
                           target=spec.lora_target, qlora=spec.qlora)
        if spec.gradient_checkpointing:
            model.enable_input_require_grads()
    if hasattr(model, "config"):
        model.config.use_cache = False
    model.train()
    return model


def _resolve_length(spec: TrainSpec, config: Any) -> TrainSpec:
    """Fill the default max_length (1024, or the model's limit when lower); refuse one above the limit."""
    from mixlab.train.model import position_limit

    limit = position_limit(config)
    if spec.max_length is None:
        return spec.replace(max_length=min(DEFAULT_MAX_LENGTH, limit or DEFAULT_MAX_LENGTH))
    if limit is not None and spec.max_length > limit:
        raise MixlabError(f"max_length: {spec.max_length} is above the model's limit of {limit} positions "
                          f"({type(config).__name__}); use max_length <= {limit}")
    return spec


def _plan(spec: TrainSpec, encoded: list[Any]) -> tuple[Any, list[int]]:
    from mixlab.train.batch_plan import build_plan

    assert spec.max_length is not None  # filled by _resolve_length
    lengths = [len(e) for e in encoded]
    # A token is a target when the token before it predicts it: the first token of an example never is.
    targets = [int(e.n_trainable - (e.labels[0] != -100)) for e in encoded]
    kind, _ = spec.budget()
    plan = build_plan(
        lengths, targets, batch_size=spec.batch_size, max_length=spec.max_length, packing=spec.packing,
        group_by_length=spec.group_by_length, seed=spec.seed,
        epochs=(spec.epochs if spec.epochs is not None else 1.0) if kind == "epochs" else None,
        max_steps=spec.max_steps, max_tokens=spec.max_tokens,
    )
    all_tokens = [sum(lengths[i] for seq in step for i in seq) for step in plan.steps]
    return plan, all_tokens


def prepare(spec: TrainSpec, progress_bars: bool) -> Prepared:
    import torch
    from accelerate import PartialState
    from accelerate.utils import set_seed

    from mixlab.data.tokenize import resolve_template, template_id, tokenizer_fingerprint
    from mixlab.train import model as M
    from mixlab.train.data import load_encoded
    from mixlab.train.loop import TokenLoss, supports_keep_mask

    for name in spec.report_to:  # a missing logger fails now, not after the model has loaded
        require(name, "tracking", f"report_to: {name}")
    # cpu=True on a machine without CUDA makes a torchrun / `accelerate launch` environment a gloo process group.
    world = PartialState(cpu=not torch.cuda.is_available()).num_processes
    micro = spec.micro_batch_size or max(1, math.ceil(spec.batch_size / world))
    rounds = max(1, math.ceil(spec.batch_size / (micro * world)))
    accelerator = _accelerator(spec, world, micro, rounds)
    src = M.resolve_model_source(spec.model, spec.gguf_file, need_weights=spec.init == "pretrained")
    tokenizer = M.load_tokenizer(spec.tokenizer or src.path, spec.revision, src.gguf_file)
    resolve_template(tokenizer, spec.template)  # no chat template and none named: fail before any work
    spec = _resolve_length(spec, M.load_config(src, spec.revision))
    assert spec.max_length is not None
    encoded, stats = load_encoded(spec.data, tokenizer, template=spec.template, max_length=spec.max_length,
                                  loss_on=spec.loss_on, on_overflow=spec.on_overflow, cache_dir=spec.cache_dir,
                                  progress=progress_bars and accelerator.is_main_process)
    plan, all_tokens = _plan(spec, encoded)
    set_seed(spec.seed)
    model = _load_model(spec, src, accelerator.device)
    trainable, total = M.count_parameters(model)
    if not spec.qlora:  # 4-bit weights are placed on the GPU by bitsandbytes when loaded
        model.to(accelerator.device)
    select = supports_keep_mask(model, accelerator.device)
    params = [p for p in model.parameters() if p.requires_grad]
    betas = (spec.adam_betas[0], spec.adam_betas[1])
    optimizer = torch.optim.AdamW(params, lr=spec.peak_lr(), betas=betas, eps=spec.adam_eps,
                                  weight_decay=spec.weight_decay)
    module, optimizer = accelerator.prepare(TokenLoss(model, select), optimizer)
    sources = sorted({e.source for e in encoded})
    info = {"trainable_parameters": trainable, "parameters": total, "lora": spec.lora or spec.qlora,
            "logits_on_trainable_only": select, "attn_implementation": _default_attn(spec),
            "mixed_precision": accelerator.mixed_precision, "device": str(accelerator.device),
            "processes": world, "micro_batch_size": micro, "accumulation_rounds": rounds,
            "source": asdict(src)}
    return Prepared(spec, accelerator, tokenizer, encoded, stats, plan, all_tokens, model, module, optimizer, params,
                  sources, micro, rounds, template_id(tokenizer, spec.template), tokenizer_fingerprint(tokenizer),
                  info)
