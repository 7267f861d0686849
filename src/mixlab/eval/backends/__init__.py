"""Model backends behind the one ``LM`` protocol, chosen by name and loaded lazily.

>>> lm = load_lm("dummy", backend="dummy")
>>> lm.identity()["backend"]
'dummy'
>>> sorted(BACKENDS.names())
['dummy', 'openai', 'transformers', 'vllm']

``load_lm(model, backend="transformers", **options)``:

- ``transformers``: a local folder, a hub id, a GGUF file (``gguf_file=``), a LoRA adapter (``adapter=``, or
  an adapter folder as ``model``); see ``backends.hf.TransformersOptions``.
- ``vllm``: the same models on a GPU through vLLM (``pip install 'mixlab[vllm]'``).
- ``openai``: an OpenAI-compatible server; ``model`` is the served model name, ``base_url=`` its address,
  the key read from the environment variable named by ``api_key_env`` (never stored).
- ``dummy``: a deterministic model for testing plumbing (no weights).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mixlab.eval.lm import LM
from mixlab.registry import Registry

BACKENDS: Registry[Callable[..., LM]] = Registry("LM backend")
BACKENDS.register("transformers", "mixlab.eval.backends.hf_loading:load_transformers_lm")
BACKENDS.register("vllm", "mixlab.eval.backends.vllm:load_vllm_lm")
BACKENDS.register("openai", "mixlab.eval.backends.server:load_server_lm")
BACKENDS.register("dummy", "mixlab.eval.backends.dummy:load_dummy_lm")


def load_lm(model: str, *, backend: str = "transformers", **options: Any) -> LM:
    """Load ``model`` with the named backend; options are validated by the backend (all problems at once)."""
    return BACKENDS.get(backend)(model, **options)


OptionsT = TypeVar("OptionsT")


def options_from_kwargs(cls: type[OptionsT], what: str, options: dict[str, Any]) -> OptionsT:
    """Build a backend's options dataclass: each value as its field's declared type (``KEY=VALUE`` text from
    the command line included); every unknown option name is reported, with the valid ones."""
    from mixlab.eval.options import dataclass_kinds, typed_options

    return cls(**typed_options(options, dataclass_kinds(cls), what))


__all__ = ["BACKENDS", "load_lm", "options_from_kwargs"]
