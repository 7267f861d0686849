"""The world's base model: a tiny Llama (transformers, random init) pretrained briefly on the world corpus.

The pretraining stage (``mixlab.world.pretrain``) gives the model the world's raw knowledge and skills. Its
result depends on the machine: pretraining is chaotic, and the rounding of another CPU's kernels (or BLAS)
grows over a thousand optimizer steps into a different model, one that learns some abilities faster and
others slower (measured: the quickstart's "adding C raises code avg" was +0.95 on one base and +0.69 on a
base pretrained with AVX2 kernels instead of AVX-512; float64 pretraining does not prevent it). A study's
conclusions are about its base model, as a real study's are about its pretrained checkpoint, so mixlab
**ships the default base** (``world/base/``, 4 MB, built once by ``python -m mixlab.world.model ship``):
every machine starts from the same weights, and what differs between machines is only fine-tuning's
rounding, which acts like another seed. Another recipe (``mixlab quickstart --pretrain-tokens``, other sizes)
is pretrained here once and cached by the hash of its recipe (``WorldModelSpec``); its base then differs
from one machine to another.

Measured on 2 CPU cores: the default recipe pretrains in about 75 seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from mixlab.artifacts import content_hash, source_bytes
from mixlab.paths import cache_root

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorldModelSpec:
    """The recipe of the world's base model. Its hash names the cached folder."""

    hidden_size: int = 128
    """Width of the residual stream."""
    num_layers: int = 4
    """Transformer blocks."""
    num_heads: int = 4
    """Attention heads (no grouped-query attention at this size)."""
    intermediate_size: int = 384
    """MLP width."""
    vocab_size: int = 1024
    """BPE vocabulary trained on the world corpus and instruction texts."""
    seq_len: int = 128
    """Pretraining sequence length (documents are packed)."""
    pretrain_tokens: int = 1_000_000
    """Tokens seen in pretraining."""
    batch_size: int = 8
    """Sequences per pretraining step."""
    lr: float = 3e-3
    """Peak learning rate (AdamW, warmup then cosine)."""
    seed: int = 0
    """Seed of initialisation, corpus and data order."""

    def key(self) -> str:
        """The recipe, what the world generates and the pretraining and tokenizer code: a change to any of them
        means another base."""
        here = Path(__file__).parent
        code = hashlib.sha256(b"".join(source_bytes(here / f) for f in ("pretrain.py", "tokenizer.py"))).hexdigest()[:16]
        return content_hash({"world_model": asdict(self), "world": world_fingerprint(), "code": code}, 12)


#: Named base sizes of the world (``model: world:SIZE`` in a study): the same corpus, tokenizer and pretraining
#: tokens, narrower and shallower networks; ``m`` is the default recipe (the shipped base). Parameters and
#: pretraining cost measured on 2 CPU cores are in docs/world.md.
SIZES: dict[str, dict[str, int]] = {
    "xs": {"hidden_size": 32, "num_layers": 2, "num_heads": 4, "intermediate_size": 96},
    "s": {"hidden_size": 64, "num_layers": 3, "num_heads": 4, "intermediate_size": 192},
    "m": {},
}


def sized(size: str, **overrides: object) -> WorldModelSpec:
    """The recipe of a named size, with ``overrides`` on top.

    >>> sized("xs").hidden_size, sized("m") == WorldModelSpec()
    (32, True)
    """
    if size not in SIZES:
        from mixlab.errors import MixlabError

        raise MixlabError(f"world size {size!r} is not one of {', '.join(SIZES)}")
    return WorldModelSpec(**{**SIZES[size], **overrides})  # type: ignore[arg-type]


def world_size(model: str) -> str | None:
    """The world size a study's ``model`` names (``world`` is ``m``), or None for any other model.

    >>> world_size("world"), world_size("world:xs"), world_size("./my-model")
    ('m', 'xs', None)
    """
    if model == "world":
        return "m"
    if model.startswith("world:"):
        size = model.split(":", 1)[1]
        if size not in SIZES:
            from mixlab.errors import MixlabError

            raise MixlabError(f"model {model!r}: the world's sizes are {', '.join(f'world:{s}' for s in SIZES)}")
        return size
    return None


def size_of(spec_fields: dict[str, object]) -> str | None:
    """The named size whose architecture a base model's recipe has (``world_model.json``'s ``spec``)."""
    for name, over in SIZES.items():
        arch = asdict(WorldModelSpec(**over))
        if all(spec_fields.get(k) == arch[k] for k in ("hidden_size", "num_layers", "num_heads", "intermediate_size")):
            return name
    return None


def world_fingerprint() -> str:
    """A hash of what the world generates (corpus and items): a changed generator means a new base model."""
    import random

    from mixlab.world.abilities import ABILITIES
    from mixlab.world.corpus import documents

    rng = random.Random(0)
    sample = list(documents(300, seed=0)) + [
        (i.prompt, i.answer) for a in ABILITIES.values() for split in ("train", "eval")
        for i in (a.draw(rng, split) for _ in range(10))
    ]
    return content_hash(sample, 16)


def default_cache_dir() -> Path:
    return cache_root()


#: the shipped base model of the default recipe (package data)
SHIPPED = Path(__file__).resolve().parent / "base"


def shipped_base(spec: WorldModelSpec) -> Path | None:
    """The shipped base folder when it was built from ``spec`` and this world, else None."""
    meta = SHIPPED / "world_model.json"
    if not meta.exists():
        return None
    return SHIPPED if json.loads(meta.read_text())["key"] == spec.key() else None


def ensure_base_model(
    spec: WorldModelSpec | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """The folder of the world base model of ``spec``: the shipped one, a cached one, or one pretrained now."""
    spec = spec or WorldModelSpec()
    if (shipped := shipped_base(spec)) is not None:
        return shipped
    if spec == WorldModelSpec():
        log.warning("the shipped world base model was built for another version of the world; pretraining one "
                    "here (its weights, and so a study's numbers, will differ from other machines')")
    folder = Path(cache_dir or default_cache_dir()) / f"world-base-{spec.key()}"
    if (folder / "COMPLETE").exists():
        return folder
    from mixlab.world.pretrain import build_base_model

    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    build_base_model(spec, tmp, progress=progress)
    if folder.exists():  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, folder)
    return folder


def ship_base_model(progress: Callable[[int, int], None] | None = None) -> Path:
    """Pretrain the default recipe's base and store it as the shipped base (``world/base/``); run after a
    change to the world's generator, its tokenizer or pretraining (a test says when)."""
    from mixlab.world.pretrain import build_base_model

    spec = WorldModelSpec()
    tmp = SHIPPED.with_name("base.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    build_base_model(spec, tmp, progress=progress)
    (tmp / "COMPLETE").unlink(missing_ok=True)
    shutil.rmtree(SHIPPED, ignore_errors=True)
    os.replace(tmp, SHIPPED)
    return SHIPPED


if __name__ == "__main__":  # python -m mixlab.world.model ship
    import sys

    if sys.argv[1:] != ["ship"]:
        raise SystemExit("usage: python -m mixlab.world.model ship   (rebuild the shipped default base model)")
    folder = ship_base_model(lambda i, n: print(f"pretraining: {i}/{n} steps", end="\r", flush=True))
    print(f"\nshipped base model: {folder}")
