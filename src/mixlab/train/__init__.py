"""Supervised fine-tuning on the Hugging Face stack: response-only loss, packing, telemetry, resume.

>>> from mixlab.train import TrainSpec, train                                     # doctest: +SKIP
>>> result = train(TrainSpec(model="models/base", data="mixes/A+C", out="runs/ac", epochs=1))  # doctest: +SKIP

Heavy modules (torch, transformers) load on first use, so ``import mixlab.train`` stays cheap. The
response-only encoding of examples (templates, labels) lives in ``mixlab.data.tokenize``, which the
mixture layer's token cache uses too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mixlab.train.spec import TrainSpec

if TYPE_CHECKING:
    from mixlab.train.run import TrainResult

__all__ = ["TrainResult", "TrainSpec", "train"]


def train(spec: TrainSpec, **kwargs: Any) -> TrainResult:
    """Run ``spec`` (see ``mixlab.train.run.train``)."""
    from mixlab.train.run import train as _train

    return _train(spec, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "TrainResult":
        from mixlab.train.run import TrainResult

        return TrainResult
    raise AttributeError(name)
