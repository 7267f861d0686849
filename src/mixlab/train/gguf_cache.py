"""GGUF weights, dequantized once: a float32 copy in safetensors, reused by every later load.

transformers loads a GGUF file by parsing all of its metadata (the tokenizer's 49k-entry vocabulary and merges
included) twice, mapping tensor names module by module, and dequantizing every tensor. For the shared
SmolLM2-135M-Instruct that took 8 to 16 s per load on 2 cores, and a study loads its base three times per
trained run (training, the base row, the adapter's base): at small scale more time than training itself.
A safetensors copy of the same float32 weights loads in about a second.

The copy lives in ``$MIXLAB_CACHE/gguf/<key>/`` (default ``~/.cache/mixlab``), keyed by the GGUF file's
content hash and the transformers version (its dequantization code); it is written to a temporary folder and
renamed when whole, so concurrent runs never read half a copy. Loading from it gives the same tensors as
loading the GGUF file (tested), and a model's identity still names the GGUF file it came from.

>>> folder = dequantized("../shared/data/smollm2_135m_instruct_gguf", "SmolLM2-135M-Instruct.Q4_1.gguf")  # doctest: +SKIP
>>> sorted(p.name for p in folder.iterdir())                                                               # doctest: +SKIP
['COMPLETE', 'config.json', 'generation_config.json', 'model.safetensors']
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from mixlab import paths
from mixlab.artifacts import content_hash, file_sha256

log = logging.getLogger(__name__)

COMPLETE = "COMPLETE"


def cache_root() -> Path:
    """``$MIXLAB_CACHE/gguf`` (default ``~/.cache/mixlab/gguf``), beside the world's base models."""
    return paths.cache_root() / "gguf"


def dequantized(folder: str | Path, gguf_file: str) -> Path | None:
    """The folder of a float32 safetensors copy of ``folder/gguf_file``, made on first use; ``None`` when the
    file is not local (a hub id: transformers fetches and reads it itself)."""
    import transformers

    path = Path(folder) / gguf_file
    if not path.is_file():
        return None
    key = content_hash({"gguf": file_sha256(path), "transformers": transformers.__version__}, 20)
    out = cache_root() / f"{path.stem}-{key}"
    if (out / COMPLETE).is_file():
        return out
    log.info("dequantizing %s once into %s (later loads read the copy)", path, out)
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    _write_copy(str(folder), gguf_file, tmp)
    (tmp / COMPLETE).write_text(f"{path}\n")
    if (out / COMPLETE).is_file():  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    return out


def _write_copy(folder: str, gguf_file: str, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, GgufConfig

    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, dtype=torch.float32,
                                                 quantization_config=GgufConfig(dequantize=True))
    forget_gguf(model)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)


def forget_gguf(model: Any) -> None:
    """A dequantized GGUF model is a plain float model; drop the loader's marker so that it saves like one."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model, "quantization_method"):
        model.quantization_method = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
