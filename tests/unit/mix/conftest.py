"""Tiny fixtures for the mixture layer: small alpaca / sharegpt files written here, and a tiny real tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest
from mix_helpers import alpaca_rows, make_tokenizer, write_json


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """``a.json`` (40 rows), ``b.json`` (25 rows), ``c.json`` (10 rows) in alpaca format."""
    d = tmp_path / "data"
    write_json(d / "a.json", alpaca_rows("alpha", 40))
    write_json(d / "b.json", alpaca_rows("beta", 25))
    write_json(d / "c.json", alpaca_rows("gamma", 10))
    return d


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """A real fast tokenizer (byte-level BPE, 400 tokens) with a ChatML template, built in memory."""
    return make_tokenizer(400)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default cache folder of every test: a temp folder, never the user's ~/.cache."""
    monkeypatch.setenv("MIXLAB_CACHE", str(tmp_path_factory.mktemp("mixlab-cache")))
