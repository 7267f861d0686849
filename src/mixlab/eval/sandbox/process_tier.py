"""The sandbox's weaker tier, for machines without Linux namespaces (macOS, containers that forbid ``unshare``).

Each program runs in a process of its own, started from a fresh interpreter (``launcher.py``) in a new
session and process group, with an empty environment, CPU / memory / file-size / open-file (and, where they
can be counted, process) limits, a temporary working folder, and Python-level guards against sockets (and,
where processes cannot be limited, against starting processes). At the end the whole process group is
killed and the folder removed.

What it does *not* give, compared with the fork server's namespaces: the program sees and may write the
files its user may, may reach the network through anything the guards miss (``ctypes``), and a process
that leaves the group (``setsid``) survives it. ``Sandbox`` uses this tier only when namespaces are not
available or when asked (``isolation="process"``, ``$MIXLAB_SANDBOX_ISOLATION=process``), says so once on
stderr, and marks every result ``isolation="process"``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mixlab.eval.sandbox import verdict
from mixlab.eval.sandbox.limits import ExecResult

LAUNCHER = Path(__file__).with_name("launcher.py")
PROCESS = "process"
KEEP_BYTES = 65536
#: seconds to read what is left in the pipes after the launcher ended (an escaped process may hold them open)
DRAIN_SECONDS = 0.2


def guards() -> list[str]:
    """Python-level guards this tier needs here: sockets always (no network namespace); process creation
    where ``RLIMIT_NPROC`` cannot bound it (root, which it does not apply to, or no ``/proc`` to count)."""
    out = ["socket"]
    if os.getuid() == 0 or not os.path.isdir("/proc"):
        out.append("process")
    return out


def describe(python: str) -> dict[str, Any]:
    """What this tier gives, in ``sandbox_info()``'s words."""
    g = guards()
    return {
        "tier": PROCESS, "namespaces": [], "python": python,
        "filesystem": "host file system (writable where the user can write), temporary working folder",
        "network": "python guard", "user": f"uid {os.getuid()} (the caller's)",
        "process_limit": ("python guard (process creation disabled)" if "process" in g
                          else "RLIMIT_NPROC over all of the user's processes"),
        "cleanup": "process group", "capabilities": "not dropped",
        "warnings": ["python-level guards (bypassable): " + ", ".join(g)],
    }


def run_in_processes(programs: Sequence[str], wire: dict[str, Any], workers: int, python: str,
                     on_result: Callable[[], None], info: dict[str, Any]) -> list[ExecResult]:
    """Run every program (``workers`` at a time) in its own process; results in input order."""
    g = ",".join(guards())
    stage = tempfile.mkdtemp(prefix="mixlab-sandbox-process-")
    try:
        def one(i: int) -> ExecResult:
            result = _run_one(i, programs[i], wire, python, g, stage, info)
            on_result()
            return result

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(one, range(len(programs))))
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _run_one(i: int, program: str, wire: dict[str, Any], python: str, g: str, stage: str,
             info: dict[str, Any]) -> ExecResult:
    job_dir = tempfile.mkdtemp(prefix=f"job{i}-", dir=stage)
    Path(job_dir, "program.py").write_text(program, encoding="utf-8")
    nonce = os.urandom(16).hex()
    res_r, res_w = os.pipe()
    ctl_r, ctl_w = os.pipe()
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            [python, "-I", "-B", str(LAUNCHER), job_dir, json.dumps(wire), g, str(res_w), str(ctl_w)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=job_dir,
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
                 "HOME": job_dir, "TMPDIR": job_dir},
            start_new_session=True, pass_fds=(res_w, ctl_w),
        )
    except OSError as exc:
        for fd in (res_r, res_w, ctl_r, ctl_w):
            os.close(fd)
        shutil.rmtree(job_dir, ignore_errors=True)
        return ExecResult.error("could not start the program", str(exc), isolation=PROCESS)
    os.close(res_w)
    os.close(ctl_w)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write((nonce + "\n").encode())
        proc.stdin.close()
    except OSError:
        pass  # the launcher died at once; its status says why
    out, res, ctl, timed_out = _collect(proc, res_r, ctl_r, start + float(wire["timeout"]))
    reports = [json.loads(line) for line in ctl.decode("utf-8", "replace").splitlines() if line.startswith("{")]
    report = next((r for r in reports if "code" in r), None)
    setup = next((r["setup_error"] for r in reports if "setup_error" in r), "")
    for r in reports:
        for name in r.get("unenforced", []):
            if name not in info.setdefault("unenforced_limits", []):
                info["unenforced_limits"].append(name)
    _kill_group(proc, report)
    launcher_status = proc.wait()
    shutil.rmtree(job_dir, ignore_errors=True)
    msg = verdict.decide(
        job_id=i, c2_status=(report["code"], report["status"]) if report else None, setup_error=setup,
        result=verdict.last_result(res), output=out, keep=int(wire["output"]), nonce=nonce, timed_out=timed_out,
        cpu=report.get("cpu") if report else None, cpu_limit=float(wire["cpu"]),
        c1_signal=-launcher_status if launcher_status < 0 else None, c1_clean=launcher_status == 0)
    msg["duration"] = round(time.monotonic() - start, 4)
    return ExecResult.from_server(msg, isolation=PROCESS)


def _collect(proc: subprocess.Popen[bytes], res_r: int, ctl_r: int, deadline: float
             ) -> tuple[bytes, bytes, bytes, bool]:
    """Read output, result and control pipes until the launcher is done or the deadline passes."""
    assert proc.stdout is not None
    out_fd = proc.stdout.fileno()
    bufs = {out_fd: bytearray(), res_r: bytearray(), ctl_r: bytearray()}
    open_fds = set(bufs)
    timed_out = False
    drain_until: float | None = None
    while open_fds:
        now = time.monotonic()
        if drain_until is None and ctl_r not in open_fds:  # the launcher reported (or died): finish reading
            drain_until = now + DRAIN_SECONDS
        if drain_until is None and now >= deadline:
            timed_out = True
            _signal_group(proc.pid, signal.SIGKILL)
            drain_until = now + DRAIN_SECONDS
        if drain_until is not None and now >= drain_until:
            break
        until = drain_until if drain_until is not None else deadline
        ready, _, _ = select.select(list(open_fds), [], [], max(0.0, until - now))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
                continue
            buf = bufs[fd]
            buf += chunk
            if fd != ctl_r and len(buf) > 2 * KEEP_BYTES:
                del buf[:-KEEP_BYTES]
    for fd in (res_r, ctl_r):
        os.close(fd)
    proc.stdout.close()
    return bytes(bufs[out_fd]), bytes(bufs[res_r]), bytes(bufs[ctl_r]), timed_out


def _kill_group(proc: subprocess.Popen[bytes], report: dict[str, Any] | None) -> None:
    """Kill everything left of the program: its process group, and the program itself if it left the group."""
    _signal_group(proc.pid, signal.SIGKILL)
    if report is not None:
        _signal(int(report["pid"]), signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> None:
    if pgid > 1:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def _signal(pid: int, sig: int) -> None:
    if pid > 1:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
