"""The shared SmolLM2-135M-Instruct (GGUF weights, dequantized on load), loaded once for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def smollm2_lm(smollm2_dir: Path):
    from mixlab.eval.backends import load_lm

    # one thread: on a busy 2-core machine the second thread costs more in waiting than it gains (measured 2x)
    return load_lm(str(smollm2_dir), batch_size=8, num_threads=1, progress=False)
