"""Mixtures: specs with explicit amount semantics, designs that expand into specs, building and manifests.

>>> from mixlab.mix import MixtureSpec, build_mixture        # doctest: +SKIP
>>> build_mixture(MixtureSpec.from_yaml("configs/mixtures/paper1_acp.yaml"), "runs/acp")   # doctest: +SKIP

Names are imported on first use, so that ``mixlab --help`` stays instant.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MixtureSpec": "mixlab.mix.spec",
    "SourceSpec": "mixlab.mix.spec",
    "build_mixture": "mixlab.mix.build",
    "MixtureWarning": "mixlab.mix.build",
    "load_sources": "mixlab.mix.sources",
    "load_mixture_tokens": "mixlab.mix.token_cache",
    "export_mixture": "mixlab.mix.export",
    "design": "mixlab.mix.design",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mixlab.mix' has no attribute {name!r}")
    module = importlib.import_module(_EXPORTS[name])
    return module if name == "design" else getattr(module, name)
