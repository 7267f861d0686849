"""Find and load a transformers model for evaluation: a local folder, a hub id (its local snapshot), a GGUF
file (through the cached dequantized copy, ``mixlab.train.gguf_cache``) or a LoRA adapter on its base.

>>> lm = load_transformers_lm("../shared/data/smollm2_135m_instruct_gguf", batch_size=64)  # doctest: +SKIP
>>> lm.identity()["gguf_file"]                                                               # doctest: +SKIP
'SmolLM2-135M-Instruct.Q4_1.gguf'

``load_transformers_lm`` is the ``transformers`` entry of the backend registry; the ``TransformersLM`` it
returns (``hf.py``) does the scoring and generation.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from mixlab.errors import MixlabError
from mixlab.eval.backends.hf import TransformersLM, TransformersOptions
from mixlab.eval.backends.identity import weights_fingerprint


def load_transformers_lm(model: str, **options: Any) -> TransformersLM:
    """Load ``model`` (local folder, hub id, GGUF via ``gguf_file=``, or an adapter folder) as an ``LM``."""
    opts = TransformersOptions.from_kwargs(**options)
    model, gguf_file = gguf_location(model, opts.gguf_file)
    opts = replace(opts, gguf_file=gguf_file)
    folder = _resolve_folder(model, opts.revision, opts.gguf_file)
    if opts.gguf_file is None and (single := _single_gguf(folder)):  # a hub id's cached folder
        opts = replace(opts, gguf_file=single)
    adapter = opts.adapter
    base = folder
    if adapter is None and (folder / "adapter_config.json").is_file():
        base_model, base_gguf = adapter_base(folder, opts.gguf_file)
        opts = replace(opts, gguf_file=base_gguf)
        adapter, base = str(folder), _resolve_folder(base_model, opts.revision, base_gguf)
    elif adapter is not None:
        adapter = str(_resolve_folder(adapter, None, None))
    device = _device(opts.device)
    dtype = _dtype(opts.dtype, device)
    tokenizer = _load_tokenizer(Path(adapter) if adapter and _has_tokenizer(Path(adapter)) else base, opts)
    lm_model = _load_model(base, opts, device, dtype)
    identity: dict[str, Any] = {
        "backend": "transformers", "model": model, "weights": weights_fingerprint(base, opts.gguf_file),
        "gguf_file": opts.gguf_file, "revision": _snapshot_revision(base, opts.revision),
    }
    if adapter:
        from mixlab.errors import library_quietly, require

        peft = require("peft", purpose="LoRA adapters")
        with library_quietly():
            lm_model = peft.PeftModel.from_pretrained(lm_model, adapter)
        if opts.merge_adapter:
            lm_model = lm_model.merge_and_unload()
        identity.update(adapter=adapter, adapter_weights=weights_fingerprint(Path(adapter), None))
    lm_model.eval()
    return TransformersLM(lm_model, tokenizer, opts, identity)


def _resolve_folder(model: str, revision: str | None, gguf_file: str | None) -> Path:
    """A local folder as is; otherwise a hub id resolved to its local snapshot (downloaded unless offline)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if path.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise MixlabError(f"model folder not found: {model} (give a folder with config.json, or a hub id)")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    patterns = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "tokenizer*"]
    patterns += [gguf_file] if gguf_file else []
    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
    try:
        return Path(snapshot_download(model, revision=revision, allow_patterns=patterns, local_files_only=offline))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError) as exc:
        where = "in the local hub cache (HF_HUB_OFFLINE=1)" if offline else "on the hub"
        raise MixlabError(f"model {model!r} is not a local folder and was not found {where}: {exc}") from exc


def gguf_location(model: str, gguf_file: str | None = None) -> tuple[str, str | None]:
    """(folder or hub id, GGUF file name) for a model spec: a path to a ``.gguf`` file gives its folder and name;
    a local folder whose only weights are one ``.gguf`` gives that file (the shared SmolLM2 folder works without
    naming it); anything else comes back as given."""
    path = Path(model)
    if path.suffix == ".gguf" and path.is_file():
        return str(path.parent), path.name
    if gguf_file is None and path.is_dir():
        gguf_file = _single_gguf(path)
    return model, gguf_file


def _single_gguf(folder: Path) -> str | None:
    """The one ``.gguf`` file of a folder without HF weights (so ``load_lm(folder)`` just works), else None."""
    if any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin")):
        return None
    ggufs = sorted(p.name for p in folder.glob("*.gguf"))
    if len(ggufs) > 1:
        raise MixlabError(f"{folder} holds several .gguf files ({', '.join(ggufs)}); pass gguf_file=<one of them>")
    return ggufs[0] if ggufs else None


def adapter_base(folder: str | Path, gguf_file: str | None = None) -> tuple[str, str | None]:
    """(base model, GGUF file name) of a LoRA adapter folder.

    The base is the adapter config's ``base_model_name_or_path``. A folder that mixlab trained also records in
    ``mixlab_train.json`` that base's absolute path and GGUF file: the path is used when the config's is
    relative to another working folder, and the file when the base is a GGUF folder (the adapter config cannot
    say which ``.gguf``; without it the base would be looked up as safetensors and fail). Otherwise a base
    folder's single ``.gguf`` is found as for any model (``gguf_location``).
    """
    import json

    folder = Path(folder)
    config = json.loads((folder / "adapter_config.json").read_text())
    base = config.get("base_model_name_or_path")
    if not base:
        raise MixlabError(f"{folder}/adapter_config.json names no base_model_name_or_path")
    base = str(base)
    record = folder / "mixlab_train.json"
    recorded = json.loads(record.read_text()).get("base") if record.is_file() else None
    if recorded and base in (recorded.get("name_or_path"), recorded.get("path")):
        if not Path(base).is_dir() and Path(recorded["path"]).is_dir():
            base = recorded["path"]  # a relative path, trained from another working folder
        if gguf_file is None:
            gguf_file = recorded.get("gguf_file")
    return gguf_location(base, gguf_file)


def _snapshot_revision(folder: Path, revision: str | None) -> str | None:
    """The commit of a hub snapshot (its folder name), else the revision asked for."""
    return folder.name if folder.parent.name == "snapshots" else revision


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model"))


def _load_tokenizer(folder: Path, opts: TransformersOptions) -> Any:
    from transformers import AutoTokenizer

    kwargs: dict[str, Any] = {"trust_remote_code": opts.trust_remote_code}
    if opts.gguf_file and not _has_tokenizer(folder):  # the GGUF file carries a tokenizer of its own
        kwargs["gguf_file"] = opts.gguf_file
    return AutoTokenizer.from_pretrained(folder, **kwargs)


def _load_model(folder: Path, opts: TransformersOptions, device: str, dtype: Any) -> Any:
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": opts.trust_remote_code,
                              "attn_implementation": "sdpa"}
    if opts.gguf_file:  # its float weights, dequantized once and cached: the same tensors, loaded fast
        from mixlab.train.gguf_cache import dequantized

        copy = dequantized(folder, opts.gguf_file)
        if copy is None:
            kwargs["gguf_file"] = opts.gguf_file
        else:
            folder = copy
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    except ValueError as exc:
        if "sdpa" not in str(exc).lower():
            raise
        kwargs["attn_implementation"] = "eager"  # an architecture without SDPA support
        model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    return model.to(device)  # type: ignore[arg-type]


def _device(spec: str) -> str:
    import torch

    if spec == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise MixlabError(f"device={spec!r} but no CUDA device is available; use device='cpu'")
    return spec


def _dtype(spec: str, device: str) -> Any:
    import torch

    if spec == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32  # CPU half precision is slow and changes scores
    return getattr(torch, spec)
