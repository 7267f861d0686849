"""Executors: where a study's runs execute. One protocol, three implementations.

- ``LocalExecutor``: a pool of worker processes on this machine; each worker gets ``cores / workers`` torch
  threads (tiny models train faster as two 1-thread processes than as one 2-thread process).
- ``RayExecutor``: one Ray task per run on a Ray cluster (``ray`` extra; ``address=auto`` joins a running
  cluster, none starts a local one).
- ``SlurmExecutor``: writes an sbatch array script whose tasks call ``mixlab study run-one``; the study folder
  must be on a shared filesystem. Collect with ``mixlab study collect`` when the array is done.

Every executor calls ``run_one`` (idempotent, never raising), so a re-run skips complete runs and a crashed
run is simply redone.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Protocol

from mixlab.errors import MixlabError, require
from mixlab.registry import Registry
from mixlab.study.run_one import RunOutcome, run_one
from mixlab.study.spec import RunSpec


class Executor(Protocol):
    def map(self, runs: Sequence[RunSpec], study_dir: Path) -> Iterator[RunOutcome]:
        """Run every run (in any order) and yield each outcome as it finishes."""
        ...


EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor")

_SOURCES_CACHE: dict[str, Any] = {}  # per worker process: sources loaded once, reused by every run


def _worker_init(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(threads)


def _run_in_worker(run: RunSpec, study_dir: str) -> RunOutcome:
    return run_one(run, study_dir, sources_cache=_SOURCES_CACHE)


@EXECUTORS.register("local")
class LocalExecutor:
    """Runs on this machine: in-process with one worker, else a pool of spawned worker processes."""

    def __init__(self, workers: int | None = None, threads: int | None = None, **_: Any):
        cores = os.cpu_count() or 1
        self.workers = max(1, workers or min(2, cores))
        self.threads = threads or max(1, cores // self.workers)

    def map(self, runs: Sequence[RunSpec], study_dir: Path) -> Iterator[RunOutcome]:
        if self.workers == 1 or len(runs) <= 1:
            _worker_init(self.threads)
            for run in runs:
                yield _run_in_worker(run, str(study_dir))
            return
        import multiprocessing as mp

        ctx = mp.get_context("spawn")  # never fork a process that has torch's thread pools running
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init,
                                 initargs=(self.threads,)) as pool:
            futures = [pool.submit(_run_in_worker, run, str(study_dir)) for run in runs]
            for fut in as_completed(futures):
                yield fut.result()


@EXECUTORS.register("ray")
class RayExecutor:
    """One Ray task per run. ``address``: a cluster to join (``auto``), or none for a local instance."""

    def __init__(self, workers: int | None = None, address: str | None = None, num_cpus: float = 1,
                 num_gpus: float = 0, **_: Any):
        self.address, self.num_cpus, self.num_gpus = address, num_cpus, num_gpus
        self.workers = workers

    def map(self, runs: Sequence[RunSpec], study_dir: Path) -> Iterator[RunOutcome]:
        ray = require("ray", "ray", "the Ray executor")
        started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"address": self.address} if self.address else {"num_cpus": self.workers}
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
            started = True
        try:
            remote = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus)(_run_in_worker)
            pending = [remote.remote(run, str(study_dir)) for run in runs]
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        finally:
            if started:
                ray.shutdown()


@EXECUTORS.register("slurm")
class SlurmExecutor:
    """Writes ``STUDY/slurm/array.sbatch`` (one array task per run) and submits it with ``sbatch`` if asked."""

    def __init__(self, workers: int | None = None, partition: str | None = None, time: str = "04:00:00",
                 gpus: int = 0, cpus: int = 4, mem: str = "32G", submit: bool = False, extra: str = "", **_: Any):
        self.partition, self.time, self.gpus, self.cpus, self.mem = partition, time, gpus, cpus, mem
        self.submit, self.extra = submit, extra
        self.workers = workers

    def script(self, runs: Sequence[RunSpec], study_dir: Path) -> str:
        lines = ["#!/bin/bash", "#SBATCH --job-name=mixlab", f"#SBATCH --array=0-{len(runs) - 1}"
                 + (f"%{self.workers}" if self.workers else ""),
                 f"#SBATCH --time={self.time}", f"#SBATCH --cpus-per-task={self.cpus}", f"#SBATCH --mem={self.mem}",
                 f"#SBATCH --output={study_dir}/slurm/%A_%a.log"]
        if self.partition:
            lines.append(f"#SBATCH --partition={self.partition}")
        if self.gpus:
            lines.append(f"#SBATCH --gpus={self.gpus}")
        if self.extra:
            lines.append(self.extra)
        ids = " ".join(shlex.quote(r.run_id) for r in runs)
        lines += ["set -euo pipefail", f"RUNS=({ids})",
                  f"{shlex.quote(sys.executable)} -m mixlab study run-one {shlex.quote(str(study_dir))} "
                  '"${RUNS[$SLURM_ARRAY_TASK_ID]}"']
        return "\n".join(lines) + "\n"

    def map(self, runs: Sequence[RunSpec], study_dir: Path) -> Iterator[RunOutcome]:
        import subprocess

        from mixlab.artifacts import atomic_write_text

        path = Path(study_dir) / "slurm" / "array.sbatch"
        atomic_write_text(path, self.script(runs, Path(study_dir).resolve()))
        if self.submit:
            try:
                out = subprocess.run(["sbatch", str(path)], check=True, capture_output=True, text=True).stdout
            except (OSError, subprocess.CalledProcessError) as exc:
                raise MixlabError(f"sbatch failed ({exc}); submit {path} by hand") from exc
            print(out.strip())
        else:
            print(f"wrote {path}: submit it with `sbatch {path}`, then run `mixlab study collect {study_dir}`")
        for run in runs:
            yield RunOutcome(run.run_id, "submitted")


def make_executor(kind: str, workers: int | None = None, **options: Any) -> Executor:
    return EXECUTORS.get(kind)(workers=workers, **options)
