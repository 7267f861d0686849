"""The client side of the sandbox: start the fork server, feed it programs, collect results in order.

>>> from mixlab.eval.sandbox import Sandbox
>>> with Sandbox(workers=2) as box:                                   # doctest: +SKIP
...     [r.reason for r in box.run(["assert 1 + 1 == 2", "assert 1 == 2", "import sys; sys.exit(0)"])]
['passed', 'failed: AssertionError', 'failed: exited early (sys.exit(0))']
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from mixlab.errors import MixlabError
from mixlab.eval.sandbox import process_tier
from mixlab.eval.sandbox.limits import ISOLATION_ENV, NAMESPACES, PROCESS, ExecResult, SandboxLimits

log = logging.getLogger(__name__)

SERVER_FILE = Path(__file__).with_name("server.py")
#: a program is retried at most this many times when the server itself dies under it
MAX_ATTEMPTS = 2
#: seconds to wait for the server's start-up report (it probes the isolation layers with real programs)
START_TIMEOUT = 60.0
#: the folder each server's root is mounted on: ``<tmp>/mixlab-sandbox-<client pid>-XXXX``
STAGE_PREFIX = "mixlab-sandbox-"

ProgressFn = Callable[[int, int], None]

#: programs run in this process, by isolation tier (``eval.run`` counts each task's weaker-tier programs)
PROGRAMS_RUN: Counter[str] = Counter()
_WARNED = False


class SandboxError(MixlabError):
    """The sandbox itself failed (not a program inside it)."""


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class Sandbox:
    """A fork server and its worker slots; reuse one for many batches (start-up costs ~0.1-0.3 s).

    ``workers``: programs run at once (default: the CPUs this process may use). ``python``: the
    interpreter for the server (default: this one). ``user``: as root, run the server and programs as this
    user (name or uid); the interpreter's files must be readable by it. ``isolation``: ``"auto"`` (every
    layer that works here), ``"process"`` (the weaker process tier, what machines without Linux namespaces
    get; ``process_tier.py``) or ``"none"`` (the fork server without namespaces; for debugging); default
    ``$MIXLAB_SANDBOX_ISOLATION``, else ``"auto"``. Without namespaces, results say ``isolation="process"``.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        python: str | None = None,
        user: str | int | None = None,
        isolation: str | None = None,
        jobs_mb: int = 512,
    ):
        isolation = isolation or os.environ.get(ISOLATION_ENV) or "auto"
        if isolation not in ("auto", "process", "none"):
            raise MixlabError(f"isolation: {isolation!r} is not one of 'auto', 'process', 'none' "
                              f"(also read from ${ISOLATION_ENV})")
        self.workers = int(workers) if workers else default_workers()
        if self.workers < 1:
            raise MixlabError(f"workers: {workers!r} must be >= 1")
        self.python = python or sys.executable
        self.user = user
        self.isolation = isolation
        self.jobs_mb = int(jobs_mb)
        self.info: dict[str, Any] = {}
        #: ``namespaces`` or ``process``, known once started
        self.tier = ""
        self._serverless = False  # the process tier: each program from a fresh interpreter, no fork server
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stage = ""
        self._stderr: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._owner = os.getpid()

    # -- life cycle ----------------------------------------------------------------------------------
    @property
    def server_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _forget_if_forked(self) -> None:
        """In a forked child, the server and its pipes belong to the parent: forget them, start our own."""
        if self._owner != os.getpid():
            self._proc, self._stage, self._stderr = None, "", None
            self._lock = threading.Lock()
            self._owner = os.getpid()

    def start(self) -> Sandbox:
        self._forget_if_forked()
        if self._proc is not None and self._proc.poll() is None:
            return self
        if self._serverless:  # the process tier has no server to start
            return self
        reason = _no_namespaces_here() if self.isolation == "auto" else ""
        if self.isolation == PROCESS or reason:
            self.tier, self._serverless = PROCESS, True
            self.info = {**process_tier.describe(self.python), "workers": self.workers,
                         "reason": reason or f"isolation={PROCESS} asked for"}
            _warn_weaker(self.info["reason"])
            return self
        self._cleanup_process()
        if self.user is not None and os.getuid() != 0:
            raise SandboxError(f"user={self.user!r}: only root can start the sandbox as another user")
        _remove_stale_stages()
        self._stage = tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-")
        if self.user is not None and os.getuid() == 0:
            shutil.chown(self._stage, user=self.user)
        config = {"workers": self.workers, "isolation": self.isolation, "stage": self._stage,
                  "jobs_mb": self.jobs_mb}
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in _cleanup_process)
        # An empty environment: secrets in this process's environment never reach the server or programs.
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        self._proc = subprocess.Popen(
            [self.python, "-I", "-B", str(SERVER_FILE), json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env, cwd="/",
            close_fds=True, start_new_session=True, user=self.user,
        )
        hello = self._read_message(timeout=START_TIMEOUT)
        if not hello or not hello.get("ready"):
            detail = self._server_stderr()
            self._cleanup_process()
            raise SandboxError(f"the sandbox server did not start: {detail or 'no start-up report'}")
        self.info = dict(hello.get("info") or {})
        self.info["workers"] = self.workers
        self.tier = NAMESPACES if self.info.get("namespaces") else PROCESS
        self.info["tier"] = self.tier
        for warning in self.info.get("warnings", []):
            log.warning("sandbox: %s", warning)
        if self.tier == PROCESS:
            _warn_weaker("no Linux namespaces could be created" if self.isolation == "auto"
                         else f"isolation={self.isolation} asked for")
        return self

    def close(self) -> None:
        self._forget_if_forked()
        with self._lock:
            proc = self._proc
            if proc is not None and proc.poll() is None:
                try:
                    _write_frame(proc.stdin, {"op": "shutdown"})
                    proc.stdin.close()  # type: ignore[union-attr]
                    proc.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    proc.kill()
            self._cleanup_process()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cleanup_process(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream is not None:
                    stream.close()
        self._proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._stage:
            # The server is gone (waited for above): its root was mounted on this folder in its own
            # namespace only; without the minimal root the programs' folders are inside it.
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = ""

    # -- running -------------------------------------------------------------------------------------
    def run(
        self,
        programs: Sequence[str],
        limits: SandboxLimits | None = None,
        *,
        progress: bool | ProgressFn = False,
    ) -> list[ExecResult]:
        """Run every program (each isolated, ``workers`` at a time); results in input order."""
        limits = limits or SandboxLimits()
        wire = limits.to_server()
        results: list[ExecResult | None] = [None] * len(programs)
        attempts = [0] * len(programs)
        todo = list(range(len(programs)))
        report = _progress_reporter(progress, len(programs))
        self._forget_if_forked()
        with self._lock:
            self.start()
            if self._serverless:
                ran = process_tier.run_in_processes(programs, wire, self.workers, self.python, report, self.info)
                PROGRAMS_RUN[PROCESS] += len(ran)
                report(close=True)
                return ran
            while todo:
                self.start()
                for i in todo:
                    attempts[i] += 1
                done = self._run_batch(programs, todo, wire, results, report)
                if done:
                    break
                # The server died (a program killed it, or it crashed): restart; unfinished programs are
                # retried once, then reported as errors.
                self.restarts += 1
                log.warning("sandbox: the server died; restarting (%d restarts so far)", self.restarts)
                self._cleanup_process()
                todo = [i for i in todo if results[i] is None]
                for i in [i for i in todo if attempts[i] >= MAX_ATTEMPTS]:
                    results[i] = ExecResult.error("the sandbox server died while running this program",
                                                  isolation=self.tier)
                    report()
                todo = [i for i in todo if results[i] is None]
        report(close=True)
        PROGRAMS_RUN[self.tier] += len(programs)
        return [r if r is not None else ExecResult.error("no result", isolation=self.tier) for r in results]

    def _run_batch(self, programs, todo, wire, results, report) -> bool:
        """Send ``todo``; collect results. False when the server died before all came back."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        # A writer thread: the server reads eagerly, but this keeps a huge batch from ever deadlocking on
        # two full pipes.
        frames = [{"id": i, "program": programs[i], "limits": wire} for i in todo]
        writer = threading.Thread(target=_write_all, args=(proc.stdin, frames), daemon=True)
        writer.start()
        waiting = set(todo)
        while waiting:
            msg = self._read_message()
            if msg is None:
                writer.join(timeout=1)
                return False
            i = msg.get("id")
            if i in waiting:
                waiting.discard(i)
                results[i] = ExecResult.from_server(msg, isolation=self.tier)
                report()
        writer.join()
        return True

    def _read_message(self, timeout: float | None = None) -> dict[str, Any] | None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        if timeout is not None:
            ready, _, _ = select.select([proc.stdout], [], [], timeout)
            if not ready:
                return None
        head = _read_exact(proc.stdout, 4)
        if head is None:
            return None
        (n,) = struct.unpack(">I", head)
        body = _read_exact(proc.stdout, n)
        return None if body is None else json.loads(body)

    def _server_stderr(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-2000:].decode("utf-8", "replace").strip()


# -- module-level convenience: one shared sandbox per worker count, closed at exit -------------------------
_SHARED: dict[int, Sandbox] = {}
_SHARED_LOCK = threading.Lock()


def shared_sandbox(workers: int | None = None) -> Sandbox:
    """The process-wide sandbox for ``workers`` (started on first use, reused after, closed at exit)."""
    n = int(workers) if workers else default_workers()
    with _SHARED_LOCK:
        box = _SHARED.get(n)
        if box is None:
            box = _SHARED[n] = Sandbox(n)
            if len(_SHARED) == 1:
                atexit.register(_close_shared)
        return box.start()


def _close_shared() -> None:
    for box in list(_SHARED.values()):
        box.close()
    _SHARED.clear()


def _after_fork_in_child() -> None:
    # A forked child (a study's worker, multiprocessing) must not talk to its parent's servers.
    global _SHARED_LOCK
    _SHARED.clear()
    _SHARED_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def run_programs(
    programs: Sequence[str],
    limits: SandboxLimits | None = None,
    workers: int | None = None,
    *,
    progress: bool | ProgressFn = False,
) -> list[ExecResult]:
    """Run untrusted Python programs, each in its own isolated process; results in input order.

    A program passes only if its last statement ran (tests written as top-level ``assert`` statements).

    >>> [r.reason for r in run_programs(["assert sorted([3, 1]) == [1, 3]", "while True: pass"],
    ...                                 SandboxLimits(timeout=0.5))]                # doctest: +SKIP
    ['passed', 'timed out']
    """
    if isinstance(programs, str):
        raise TypeError("run_programs takes a sequence of programs; wrap a single program in a list")
    if not programs:
        return []
    return shared_sandbox(workers).run(programs, limits, progress=progress)


def sandbox_info(workers: int | None = None) -> dict[str, Any]:
    """Which isolation layers are active on this machine (starts the shared sandbox if needed)."""
    return dict(shared_sandbox(workers).info)


# -- helpers -------------------------------------------------------------------------------------------
def _no_namespaces_here() -> str:
    """Why this machine cannot have the fork server's namespaces (empty where it may: the server probes)."""
    if not sys.platform.startswith("linux"):
        return f"no Linux namespaces on {sys.platform}"
    from mixlab.eval.sandbox import isolation

    return isolation.UNAVAILABLE


def _warn_weaker(reason: str) -> None:
    """Say once per process, loudly, that model-written code runs with weaker isolation."""
    global _WARNED
    if _WARNED:
        return
    _WARNED = True
    log.warning(
        "SANDBOX: WEAKER ISOLATION (%s). Model-written code runs in the 'process' tier: its own process and "
        "process group, CPU / memory / file limits and a temporary folder, but no namespaces: it can read "
        "the files this user can, and a process that leaves its group outlives it. Every result records "
        "isolation='process' and every task counts these programs (weak_isolation); see docs/sandbox.md.",
        reason)


def _remove_stale_stages(min_age: float = 600.0) -> None:
    """Remove stage folders left by clients that were killed (their pid is gone, the folder is old)."""
    root = Path(tempfile.gettempdir())
    now = time.time()
    for path in root.glob(f"{STAGE_PREFIX}*-*"):
        pid = path.name[len(STAGE_PREFIX):].split("-", 1)[0]
        try:
            if not pid.isdigit() or Path(f"/proc/{pid}").exists() or now - path.stat().st_mtime < min_age:
                continue
            shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def _write_frame(stream: IO[bytes] | None, obj: dict[str, Any]) -> None:
    assert stream is not None
    data = json.dumps(obj).encode()
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def _write_all(stream: IO[bytes], frames: list[dict[str, Any]]) -> None:
    try:
        for frame in frames:
            _write_frame(stream, frame)
    except (OSError, ValueError):
        pass  # the server died; the reader notices and restarts it


def _read_exact(stream: IO[bytes], n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _progress_reporter(progress: bool | ProgressFn, total: int) -> Callable[..., None]:
    """``report()`` after each result; ``report(close=True)`` at the end."""
    done = 0
    if callable(progress):
        fn = progress

        def call(close: bool = False) -> None:
            nonlocal done
            if not close:
                done += 1
                fn(done, total)

        return call
    if progress and total > 1 and sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task("sandbox", total=total)
        bar.start()

        def advance(close: bool = False) -> None:
            if close:
                bar.stop()
            else:
                bar.advance(task)

        return advance
    return lambda close=False: None
