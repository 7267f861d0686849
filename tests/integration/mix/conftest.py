"""Real sources from ``../shared/data``, loaded once per session, and the real SmolLM2 tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest
from mix_real_helpers import REAL


@pytest.fixture(scope="session")
def real_sources(shared_data: Path):
    """The four real training sources, converted once (P3 is a folder of 283 files, ~7 s)."""
    from mixlab.data.load import load_source

    return {name: load_source(shared_data / rel, name=name) for name, rel in REAL.items()}


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mixlab-cache")


@pytest.fixture(autouse=True)
def _session_cache_env(session_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Token caches and cleaning masks shared by the tests of a session, never in the user's ~/.cache."""
    monkeypatch.setenv("MIXLAB_CACHE", str(session_cache))
