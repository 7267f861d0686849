"""Load the model and tokenizer a ``TrainSpec`` names, with errors that say what to fix.

Three ways to name a model: a local Hugging Face folder, a hub id (``org/name``; resolved by transformers from
the local cache when ``HF_HUB_OFFLINE=1``), or a GGUF file (dequantized to float by transformers'
``gguf_file=``). ``init: random`` builds the architecture from ``config.json`` with fresh seeded weights.

>>> resolve_model_source("../shared/data/smollm2_135m_instruct_gguf")   # doctest: +SKIP
ModelSource(kind='folder', path='../shared/data/smollm2_135m_instruct_gguf', gguf_file='SmolLM2-135M-Instruct.Q4_1.gguf')
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixlab.errors import MixlabError, library_quietly, require
from mixlab.train.gguf_cache import dequantized, forget_gguf

log = logging.getLogger(__name__)

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "*.safetensors.index.json", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
POSITION_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx")


class ModelError(MixlabError):
    """The model or tokenizer cannot be loaded as specified."""


@dataclass(frozen=True)
class ModelSource:
    """Where the weights come from: ``folder`` (local), ``hub`` (an id) or a folder with a ``gguf_file``."""

    kind: str
    path: str
    gguf_file: str | None = None


def _looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return (
        len(parts) == 2 and all(parts) and not name.startswith((".", "~", "/"))
        and os.sep not in parts[1] and not name.endswith((".gguf", ".json"))
    )


def resolve_model_source(model: str, gguf_file: str | None = None, *, need_weights: bool = True) -> ModelSource:
    """Check that ``model`` names something loadable and say what is missing if not."""
    p = Path(model).expanduser()
    if p.suffix == ".gguf":
        if not p.is_file():
            raise ModelError(f"model: GGUF file not found: {p}")
        return ModelSource("folder", str(p.parent), p.name)
    if p.is_dir():
        present = sorted(x.name for x in p.iterdir())
        ggufs = sorted(x for x in present if x.endswith(".gguf"))
        if gguf_file is not None and gguf_file not in present:
            raise ModelError(f"gguf_file: {gguf_file!r} is not in {p}; GGUF files there: {ggufs or 'none'}")
        has_weights = any(any(p.glob(pat)) for pat in WEIGHT_PATTERNS)
        if gguf_file is None and not has_weights and len(ggufs) == 1:
            gguf_file = ggufs[0]
            log.info("using the GGUF weights %s in %s", gguf_file, p)
        if not (p / "config.json").is_file() and gguf_file is None:
            raise ModelError(
                f"model: {p} has no config.json (files there: {', '.join(present[:12]) or 'none'}); a Hugging Face "
                "model folder needs config.json plus weights (*.safetensors or pytorch_model.bin), or a .gguf file"
            )
        if need_weights and not has_weights and gguf_file is None:
            extra = f"; several GGUF files, name one with gguf_file: {ggufs}" if len(ggufs) > 1 else ""
            raise ModelError(
                f"model: {p} has config.json but no weights (looked for {', '.join(WEIGHT_PATTERNS)}){extra}; "
                "to train from scratch on this architecture use init: random"
            )
        return ModelSource("folder", str(p), gguf_file)
    if _looks_like_hub_id(model):
        return ModelSource("hub", model, gguf_file)
    raise ModelError(f"model: {model!r} is neither a local folder, a .gguf file nor a hub id (org/name)")


def _hub_error(exc: Exception, what: str, name: str) -> ModelError:
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    hint = (" HF_HUB_OFFLINE=1 is set, so only the local cache is used: download it first or point to a folder"
            if offline else " check the id, your network, and `huggingface-cli login` for gated models")
    return ModelError(f"{what}: cannot load {name!r} ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}).{hint}")


def load_tokenizer(name: str, revision: str | None = None, gguf_file: str | None = None) -> Any:
    """Load a tokenizer; a folder without tokenizer files is an error naming the ``tokenizer`` field."""
    from transformers import AutoTokenizer

    p = Path(name).expanduser()
    if p.is_dir() and not any((p / f).exists() for f in TOKENIZER_FILES) and gguf_file is None:
        raise ModelError(
            f"tokenizer: {p} has none of {', '.join(TOKENIZER_FILES)}; set tokenizer: to a folder or hub id that has them"
        )
    kwargs: dict[str, Any] = {"revision": revision} if revision else {}
    if gguf_file and not (p / "tokenizer.json").exists() and not (p / "tokenizer_config.json").exists():
        kwargs["gguf_file"] = gguf_file
    try:
        return AutoTokenizer.from_pretrained(str(p) if p.is_dir() else name, **kwargs)
    except (OSError, ValueError) as exc:
        raise _hub_error(exc, "tokenizer", name) from exc


def position_limit(config: Any) -> int | None:
    """The longest sequence the architecture supports (``None`` when the config does not say)."""
    text_config = getattr(config, "get_text_config", lambda: config)()
    for key in POSITION_KEYS:
        v = getattr(text_config, key, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


def load_config(src: ModelSource, revision: str | None = None) -> Any:
    from transformers import AutoConfig

    kwargs: dict[str, Any] = {"revision": revision} if revision else {}
    if src.gguf_file and not (Path(src.path) / "config.json").is_file():
        kwargs["gguf_file"] = src.gguf_file
    try:
        return AutoConfig.from_pretrained(src.path, **kwargs)
    except (OSError, ValueError) as exc:
        raise _hub_error(exc, "model", src.path) from exc


def load_causal_lm(
    src: ModelSource,
    *,
    init: str,
    seed: int,
    dtype: Any,
    attn_implementation: str,
    revision: str | None = None,
    quantization_config: Any = None,
) -> Any:
    """Load (or, for ``init == 'random'``, build) a causal LM in ``dtype``."""
    import torch
    from transformers import AutoModelForCausalLM

    if init == "random":
        config = load_config(src, revision)
        torch.manual_seed(seed)
        return AutoModelForCausalLM.from_config(config, attn_implementation=attn_implementation, dtype=dtype)
    kwargs: dict[str, Any] = {"dtype": dtype, "attn_implementation": attn_implementation}
    path = src.path
    copy = dequantized(src.path, src.gguf_file) if src.gguf_file and quantization_config is None else None
    if copy is not None:  # the GGUF file's float weights, dequantized once and cached (same tensors, fast)
        path = str(copy)
    elif src.gguf_file:
        from transformers import GgufConfig

        kwargs["gguf_file"] = src.gguf_file
        # Dense weights even where a GGUF matmul kernel exists: fine-tuning updates every weight.
        kwargs["quantization_config"] = GgufConfig(dequantize=True)
    if revision and copy is None:
        kwargs["revision"] = revision
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    try:
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except ImportError as exc:
        raise ModelError(f"model: loading {src.path} needs a missing package: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise _hub_error(exc, "model", src.path) from exc
    if src.gguf_file:
        forget_gguf(model)
    if copy is not None:  # what a LoRA adapter's config records as its base: the GGUF folder, not the cache
        model.name_or_path = model.config._name_or_path = src.path
    return model


def qlora_config() -> Any:
    """4-bit NF4 quantization with bf16 compute; a clear error without a GPU or bitsandbytes."""
    import torch

    if not torch.cuda.is_available():
        raise ModelError(
            "qlora: 4-bit QLoRA needs a CUDA GPU (bitsandbytes kernels); on CPU use lora: true (full precision "
            "LoRA) instead"
        )
    require("bitsandbytes", "qlora", "QLoRA 4-bit base weights")
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


def add_lora(model: Any, *, r: int, alpha: int, dropout: float, target: str | tuple[str, ...], qlora: bool) -> Any:
    """Wrap ``model`` with LoRA adapters (peft); only adapter weights stay trainable."""
    from peft import LoraConfig, get_peft_model

    if qlora:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    cfg = LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, bias="none", task_type="CAUSAL_LM",
        target_modules=target if isinstance(target, str) else list(target),
    )
    with library_quietly():
        return get_peft_model(model, cfg)


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts; tied weights are counted once."""
    seen: set[int] = set()
    trainable = total = 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total
