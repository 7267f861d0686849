"""What runs inside the sandbox's children: the program runner and the last steps of isolation.

Imported by ``server.py`` (standard library only). ``run_program`` runs in C2, the program's own process,
after every limit is in place; it writes the sentinel on ``RESULT_FD`` only after the program's last
statement ran.
"""

from __future__ import annotations

import builtins
import json
import os
import struct
import sys

import isolation as iso
from verdict import RESULT_LOST

RESULT_FD, CONTROL_FD = 3, 4


def run_program(source: str, nonce: str) -> None:
    """Run ``source`` as ``__main__``; write the sentinel only if its last statement ran. Never returns."""
    ok = ('{"ok": true, "nonce": "' + nonce + '"}\n').encode()
    del nonce
    # Bound before the program runs: a program that monkeypatches os or sys cannot change how we report.
    write, exit_, dumps, print_exc = os.write, os._exit, json.dumps, print_exception
    out, err = sys.stdout, sys.stderr
    try:
        code = compile(source, "<program>", "exec")
        del source
        exec(code, {"__name__": "__main__", "__builtins__": builtins})
    except BaseException as exc:
        try:
            msg = dumps(describe(exc)) + "\n"
            print_exc(exc, err)
        except BaseException:
            msg = '{"ok": false, "exception": "<unprintable>"}\n'
        try:
            write(RESULT_FD, msg.encode())
        finally:
            exit_(1)
    for stream in (out, err):
        try:  # noqa: SIM105  (no contextlib here: the program may have patched it)
            stream.flush()
        except BaseException:
            pass
    try:
        write(RESULT_FD, ok)
    except BaseException:
        exit_(RESULT_LOST)
    exit_(0)


def describe(exc: BaseException) -> dict:
    kind = type(exc)
    d = {"ok": False, "exception": str(kind.__name__)[:80]}
    if isinstance(exc, SystemExit):
        d["exit"] = repr(exc.code)[:80]
    else:
        d["message"] = str(exc)[:300]
    return d


def print_exception(exc: BaseException, stream) -> None:
    import traceback

    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code is run_program.__code__:
        tb = tb.tb_next  # the runner's own frame says nothing about the program
    traceback.print_exception(type(exc), exc, tb, limit=8, file=stream)
    stream.flush()


def set_rlimits(limits: dict, flags: int, root: bool, *, strict: bool = True) -> list[str]:
    """Apply the program's rlimits. ``strict=False`` (the process tier, on any POSIX system) skips a limit the
    system refuses, and the process limit where this user's processes cannot be counted (no ``/proc``), and
    returns the names of the limits skipped; ``strict=True`` (the fork server) raises instead."""
    import resource

    cpu = int(limits["cpu"])
    nproc: int | None = int(limits["processes"]) + 1  # + C1, which is counted with the program's processes
    if not root and not flags & iso.CLONE_NEWUSER:
        # Without a user namespace RLIMIT_NPROC counts every process of this user on the machine.
        others = count_user_processes(os.getuid())
        if others is None and strict:
            raise OSError(2, "cannot count this user's processes (no /proc) for RLIMIT_NPROC")
        nproc = None if others is None else nproc + others  # type: ignore[operator]
    pairs = [
        ("RLIMIT_CPU", (cpu, cpu + 1)),
        ("RLIMIT_AS", (int(limits["memory"]),) * 2),
        ("RLIMIT_FSIZE", (int(limits["file_size"]),) * 2),
        ("RLIMIT_NOFILE", (int(limits["open_files"]),) * 2),
        ("RLIMIT_CORE", (0, 0)),
        ("RLIMIT_NPROC", (nproc, nproc)),
    ]
    skipped = []
    for name, (soft_or_none, hard_or_none) in pairs:
        which = getattr(resource, name, None)
        if soft_or_none is None or hard_or_none is None or which is None:
            skipped.append(name)
            continue
        soft, hard = soft_or_none, hard_or_none
        _, old_hard = resource.getrlimit(which)
        if old_hard != resource.RLIM_INFINITY:  # never ask for more than we hold
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        try:
            resource.setrlimit(which, (soft, hard))
        except (OSError, ValueError):
            if strict:
                raise
            skipped.append(name)
    return skipped


def install_guards(guards: list[str]) -> None:
    """Python-level fallbacks where the kernel layer is missing. Bypassable (ctypes); reported as such."""

    def denied(*_a, **_k):
        raise PermissionError("disabled in the mixlab sandbox")

    if "socket" in guards:
        import _socket
        import socket

        for mod in (socket, _socket):
            for name in ("socket", "socketpair", "create_connection", "create_server", "fromfd"):
                if hasattr(mod, name):
                    setattr(mod, name, denied)
    if "process" in guards:
        import subprocess

        for name in ("fork", "forkpty", "system", "popen", "posix_spawn", "posix_spawnp", "execv", "execve",
                     "execvp", "execvpe", "execl", "execle", "execlp", "execlpe", "spawnv", "spawnve"):
            if hasattr(os, name):
                setattr(os, name, denied)
        subprocess.Popen = denied  # type: ignore[misc,assignment]


def count_user_processes(uid: int) -> int | None:
    """Processes of ``uid`` on this machine, from ``/proc``; ``None`` where there is no ``/proc`` (macOS)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    n = 0
    for name in names:
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    n += 1
            except OSError:
                pass
    return n


def control_error(exc: BaseException) -> None:
    try:
        msg = f"{type(exc).__name__}: {exc}"[:500].encode("utf-8", "replace")
        os.write(CONTROL_FD, b"E" + struct.pack("<H", len(msg)) + msg)
    except OSError:
        pass
