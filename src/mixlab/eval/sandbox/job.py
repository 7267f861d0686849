"""One program in the fork server: its record (``Job``) and what the server does with its processes and pipes.

Standard library only, imported by ``server.py`` as a sibling file (the server does not import mixlab).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal

#: bytes of a program's output kept while it runs (the tail; the client keeps ``limits["output"]`` of them)
KEEP_BYTES = 65536


class Job:
    __slots__ = (
        "c1", "c2", "c2_reaped", "cpu", "ctl", "deadline", "dir", "fds", "id", "limits", "nonce", "out",
        "program", "res", "slot", "start", "timed_out",
    )

    def __init__(self, job_id: int, program: str, limits: dict):
        self.id, self.program, self.limits = job_id, program, limits
        self.slot = -1
        self.dir = ""
        self.nonce = os.urandom(16).hex()
        self.c1 = self.c2 = 0
        self.c2_reaped = False
        self.cpu: float | None = None  # CPU seconds of C2, read from /proc while it is a zombie
        self.fds: dict[int, str] = {}  # read end -> "out" | "res" | "ctl"
        self.out, self.res, self.ctl = bytearray(), bytearray(), bytearray()
        self.start = self.deadline = 0.0
        self.timed_out = False


# -- pipes and processes ------------------------------------------------------------------------------
def read_into(job: Job, fd: int) -> None:
    """Read what is there; at end of file stop watching ``fd`` (else select would report it forever)."""
    kind = job.fds.get(fd, "")
    buf = {"out": job.out, "res": job.res, "ctl": job.ctl}.get(kind)
    while buf is not None:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not chunk:
            del job.fds[fd]
            os.close(fd)
            return
        buf += chunk
        if len(buf) > 2 * KEEP_BYTES and kind != "ctl":
            del buf[:-KEEP_BYTES]


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a child that has not been reaped yet (zombies keep their counters)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


def drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def signal_pid(pid: int, sig: int) -> None:
    if pid in (0, -1):  # never the whole group or every process
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def remove_tree(path: str) -> None:
    def fix(func, target, _exc):
        try:
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
            func(target)
        except OSError:
            pass

    shutil.rmtree(path, onerror=fix)


def kill_orphans(server_pid: int, keep: set[int]) -> None:
    """Without PID namespaces: escaped processes were re-parented to us (subreaper); kill them."""
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in keep:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        if ppid == server_pid:
            signal_pid(int(name), signal.SIGKILL)
