"""A study prints mixlab's own progress and nothing of its dependencies' bars or deprecation warnings.

mixlab's own deprecated calls are fixed (not filtered): the run shows every warning (``PYTHONWARNINGS=default``,
which also reaches the worker processes) and the dependencies' bars are off through their documented switches.
Only a warning one library raises inside another (peft reading transformers' renamed attribute) is filtered,
by its message (``mixlab.errors.LIBRARY_INTERNAL_WARNINGS``); the LoRA run shows that filter holds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

TINY = """\
name: tiny
model: world
world: {pretrain_tokens: 4000, num_layers: 1, hidden_size: 32, intermediate_size: 64, vocab_size: 300}
mixture:
  sources:
    - {name: chat, alias: A, world: chat, count: 8}
    - {name: code, alias: C, world: code, count: 8}
design: single
volumes: [8]
seeds: [0]
train: {epochs: 1, lr: 3.0e-3, batch_size: 4, max_length: 256}
eval: {suites: [world], limit: 2}
executor: {kind: local, workers: 1}
"""

#: what a third-party bar or warning looks like on stderr (tqdm's "12/40 [00:01<00:02, 8.1it/s]")
THIRD_PARTY = re.compile(r"Warning\b|it/s\]|s/it\]|\d+%\|.*\||Writing model shards|Loading weights")


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_a_tiny_world_study_prints_no_third_party_bar_or_warning(tmp_path, lora):
    spec = TINY.replace("max_length: 256}", "max_length: 256, lora: true}") if lora else TINY
    (tmp_path / "tiny.yaml").write_text(spec)
    env = {**os.environ, "MIXLAB_CACHE": str(tmp_path / "cache"), "PYTHONWARNINGS": "default"}
    for name in ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
        env.pop(name, None)  # what a user's shell has: mixlab itself must turn the bars off
    proc = subprocess.run([sys.executable, "-m", "mixlab", "study", "run", "tiny.yaml", "--out", "out"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pretraining the world's base model" in proc.stdout  # mixlab's own progress is there
    assert "2 runs: 2 done" in proc.stdout
    lines = proc.stderr.replace("\r", "\n").splitlines()
    foreign = [line for line in lines if THIRD_PARTY.search(line)]
    assert foreign == [], "\n".join(foreign[:20])
