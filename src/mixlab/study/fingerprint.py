"""What a run's result depends on beyond its spec: the code that trains and scores, the libraries, the model's
bytes; and the machine it ran on (recorded, not part of the identity).

A run is reused only when its identity is unchanged, so the identity must change whenever the result could:

- ``code_fingerprint()`` hashes the source of every module that builds, trains, evaluates or generates the
  world (``data``, ``mix``, ``train``, ``eval``, ``world``, the run procedure), after parsing, without
  docstrings: a fix to scoring or training redoes the runs, a reworded comment does not;
- ``library_versions()`` names the versions of torch, transformers, peft, tokenizers and accelerate;
- ``model_fingerprint(path)`` hashes a local model folder's content (small files whole, large weight files by
  size and three 1 MiB samples), so a folder retrained in place is noticed; hub ids are left to their revision.

The machine (CPU, cores, BLAS, torch's CPU capability, GPU) is recorded in ``run.json`` by ``environment()``:
hardware changes floating-point paths and acts like another seed, so it is reported, not used as a cache key.

>>> len(code_fingerprint()), code_fingerprint() == code_fingerprint()
(16, True)
"""

from __future__ import annotations

import hashlib
import os
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from mixlab.artifacts import source_bytes

PACKAGE = Path(__file__).resolve().parents[1]
#: the parts of mixlab whose code decides a run's scores (analysis, search and the command line do not)
RESULT_CODE = ("data", "mix", "train", "eval", "world", "artifacts.py", "errors.py", "registry.py",
               "study/run_one.py")
LIBRARIES = ("torch", "transformers", "peft", "tokenizers", "accelerate")
WHOLE_FILE_BYTES = 64 << 20  # files up to 64 MiB are hashed whole; larger ones by size and samples
SAMPLE_BYTES = 1 << 20


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the code that decides a run's result (see the module docstring), read once per process, when
    this module is imported: Python runs the code it imported, so files edited while a study runs must not
    change the identity this process computes (nor make its finished runs look unfinished)."""
    h = hashlib.sha256()
    for path in _result_files():
        h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
        h.update(source_bytes(path) + b"\0")
    return h.hexdigest()[:16]


def _result_files() -> list[Path]:
    files: list[Path] = []
    for part in RESULT_CODE:
        p = PACKAGE / part
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files += [f for f in p.rglob("*") if f.is_file() and f.suffix in (".py", ".json", ".yaml", ".txt", ".jinja")
                      and "__pycache__" not in f.parts]
    return sorted(files)


def library_versions() -> dict[str, str]:
    """``{library: version}`` for the libraries that train and score (absent ones are left out)."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def model_fingerprint(model: str) -> str | None:
    """A content hash of a local model folder or file; ``None`` for a hub id (its revision names it)."""
    path = Path(model)
    if not path.exists():
        return None
    files = sorted(f for f in (path.rglob("*") if path.is_dir() else [path]) if f.is_file()
                   and not any(part.startswith(".") for part in f.relative_to(path if path.is_dir() else path.parent).parts))
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    return _model_fingerprint(str(path), stamp)


@lru_cache(maxsize=64)
def _model_fingerprint(root: str, stamp: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256()
    base = Path(root) if Path(root).is_dir() else Path(root).parent
    for name, size, _ in stamp:
        f = Path(name)
        h.update(f.relative_to(base).as_posix().encode() + b"\0" + str(size).encode() + b"\0")
        with open(f, "rb") as fh:
            if size <= WHOLE_FILE_BYTES:
                h.update(fh.read())
                continue
            for offset in (0, size // 2, size - SAMPLE_BYTES):
                fh.seek(offset)
                h.update(fh.read(SAMPLE_BYTES))
    return h.hexdigest()[:16]


def environment() -> dict[str, Any]:
    """The machine and software a run used: CPU, cores, BLAS, torch's CPU kernels, GPU, versions."""
    env: dict[str, Any] = {
        "platform": platform.platform(), "machine": platform.machine(), "cpu": _cpu_name(),
        "cores": os.cpu_count(), "python": platform.python_version(), **library_versions(),
    }
    try:
        import torch

        config = torch.__config__.show()
        env["blas"] = next((part.split("=", 1)[1] for line in config.splitlines() for part in line.split(", ")
                            if part.strip().startswith("BLAS_INFO=")), "")
        env["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        env["torch_threads"] = torch.get_num_threads()
        env["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception as exc:  # the record is informative; never fail a run over it
        env["torch_error"] = f"{type(exc).__name__}: {exc}"
    return env


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


code_fingerprint()  # now, with the code this process imports: not later, after the files may have changed
