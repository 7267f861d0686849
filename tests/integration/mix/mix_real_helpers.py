"""Paths of the real sources in ``../shared/data`` and a spec builder over them."""

from __future__ import annotations

from pathlib import Path

REAL = {
    "alpaca": "alpaca_en_demo_1k/alpaca_en_demo.json.gz",
    "code": "code_alpaca/code_alpaca_2k.json.gz",
    "p3": "p3_t0_train_50k/data_per_template",
    "sharegpt": "sharegpt/sharegpt_v3_unfiltered_cleaned_split_first3000.json.gz",
}


def real_spec(shared_data: Path, sources: list[dict], **top):
    """A spec over the real files (paths relative to the shared data folder)."""
    from mixlab.mix.spec import MixtureSpec

    srcs = [{"path": REAL[s["name"]], **s} for s in sources]
    return MixtureSpec.model_validate({**top, "sources": srcs, "base_dir": str(shared_data)})
