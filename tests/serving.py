"""A real OpenAI-compatible server on loopback for integration tests: ``transformers serve`` serving the shared
SmolLM2, started and stopped by the test.

``transformers serve`` (5.23) cannot serve the GGUF file itself: for ``<folder>:<file>.gguf`` it builds the
config from the GGUF metadata, which has no ``architectures`` entry, and ``model_manager._load_model`` fails
on ``config.architectures[0]`` (TypeError: 'NoneType' object is not subscriptable). So the server gets the
same weights, dequantized by the GGUF loader and saved as a safetensors folder, which it loads.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_smollm2(smollm2_lm: Any, smollm2_dir: Path, tmp_path_factory: Any) -> Iterator[dict[str, str]]:
    """Serve the loaded SmolLM2 on a free loopback port; yields ``{"url": ".../v1", "model": served name}``."""
    pytest.importorskip("fastapi", reason="transformers[serving] is not installed (pip install 'mixlab[serve]')")
    pytest.importorskip("uvicorn", reason="transformers[serving] is not installed (pip install 'mixlab[serve]')")
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("smollm2_dequantized")
    # save_pretrained refuses a model loaded from GGUF ("quantized with gguf, not serializable"): write the
    # dequantized float32 tensors ourselves, with the shared folder's config and tokenizer
    state = {k: v.detach().contiguous() for k, v in smollm2_lm.model.state_dict().items() if k != "lm_head.weight"}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json"):
        shutil.copy(smollm2_dir / name, folder / name)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path_factory.mktemp("hub_cache"))}
    exe = Path(sys.executable).with_name("transformers")
    log = open(folder / "server.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([str(exe), "serve", str(folder), "--host", "127.0.0.1", "--port", str(port),
                             "--device", "cpu", "--dtype", "float32"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not start: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(1)
        yield {"url": f"{base}/v1", "model": str(folder)}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
