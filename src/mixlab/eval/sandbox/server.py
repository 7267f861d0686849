"""The sandbox's fork server: runs untrusted Python programs, each in its own isolated process.

Started by ``mixlab.eval.sandbox.Sandbox`` as ``python -I -B server.py CONFIG_JSON`` with an empty
environment. Standard library only (it imports nothing from mixlab, and is a small process that is cheap to
fork). It pre-imports the modules programs commonly use, probes which isolation layers work on this machine,
then forks, for every program, a fresh child that isolates itself and runs the program: no new interpreter
starts per program, which is what makes ~200 tiny programs take about a second.

Per program (see ``isolation.py`` for the layers)::

    server ── fork ──► C1 (own session, pids cgroup, new user/mount/pid/net namespaces, read-only mounts)
                        └─ fork ──► C2 = PID 1 of the new namespace: fresh /proc, rlimits, capabilities
                                     dropped, empty environment, cwd = fresh folder ──► exec(program)

C2 writes ``{"ok": true, "nonce": ...}`` to fd 3 only after the program's last statement ran; the nonce is
random per program, so a program that exits early (``sys.exit(0)``, ``os._exit(0)``) or writes a fake
result cannot pass. C1 reports C2's pid and exit status on a control pipe the program never holds. The
server is a child subreaper: every orphan lands with it, so pids are never reused behind its back.

Protocol on stdin/stdout: each message is a 4-byte big-endian length and UTF-8 JSON.
    in:  {"id": int, "program": str, "limits": {...}}  or  {"op": "shutdown"}
    out: {"ready": true, "info": {...}} once, then one result per program in completion order.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import math
import os
import select
import signal
import struct
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import child  # sibling files: the server does not import the mixlab package
import isolation as iso
from child import CONTROL_FD, RESULT_FD
from job import Job, cpu_seconds, drain, kill_orphans, read_into, remove_tree, signal_pid
from verdict import parse_ctl, verdict

sys.path.pop(0)

# Modules programs commonly import: loaded once here, so each forked child gets them for free.
PRELOAD = [
    "math", "cmath", "re", "collections", "collections.abc", "itertools", "functools", "heapq", "bisect",
    "string", "typing", "random", "statistics", "fractions", "decimal", "operator", "copy", "datetime", "json",
    "hashlib", "struct", "array", "textwrap", "unicodedata", "dataclasses", "enum", "abc", "io", "traceback",
    "numbers", "time", "calendar", "pprint", "types", "contextlib", "resource",
]

#: as root, programs run as this uid/gid (the kernel's overflow id, "nobody") when the minimal root is on
UNPRIVILEGED_UID = 65534


class Server:
    def __init__(self, config: dict):
        self.workers = max(1, int(config.get("workers", 2)))
        self.pid = os.getpid()
        self.root = os.getuid() == 0
        self.pending: deque[Job] = deque()
        self.running: dict[int, Job] = {}  # C1 pid -> job
        self.free_slots = list(range(self.workers))
        self.inbuf = bytearray()
        self.stdin_open = True
        self.flags = 0
        self.drop_uid: int | None = None
        self.cgroup: iso.PidsCgroup | None = None
        self.guards: list[str] = []
        self.info: dict = {"root": self.root, "uid": os.getuid(), "warnings": []}
        self.jobs_root = ""
        self.emit: Callable[[dict], None] = _send
        self.mnt_ino = os.stat("/proc/self/ns/mnt").st_ino
        self._setup(config)

    # -- start-up ------------------------------------------------------------------------------------
    def _setup(self, config: dict) -> None:
        iso.prctl(iso.PR_SET_CHILD_SUBREAPER, 1)
        for name in PRELOAD:
            with contextlib.suppress(ImportError):
                __import__(name)
        # Everything loaded so far lives as long as the server: keep the collector of every forked child
        # from walking it (and from copying the pages it would touch).
        gc.collect()
        gc.freeze()
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.wake_r, self.wake_w = r, w
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(w)
        mode = config.get("isolation", "auto")
        if mode == "auto":
            self._enter_minimal_root(config)
        if not self.jobs_root:
            # Without the minimal root, programs' folders live under the client's stage folder, which the
            # client removes even if this server is killed.
            stage = config.get("stage") or ""
            if stage and os.path.isdir(stage):
                self.jobs_root = os.path.join(stage, "jobs")
                os.makedirs(self.jobs_root, mode=0o711, exist_ok=True)
            else:
                self.jobs_root = tempfile.mkdtemp(prefix="mixlab-sandbox-jobs-")
        self._choose_layers(mode)

    def _enter_minimal_root(self, config: dict) -> None:
        stage = config.get("stage") or ""
        if not stage or not os.path.isdir(stage):
            self.info["minimal_root"] = "off (no stage folder)"
            return
        uid, gid = os.getuid(), os.getgid()
        try:
            if self.root:
                iso.unshare(iso.CLONE_NEWNS)
            else:
                iso.unshare(iso.CLONE_NEWUSER | iso.CLONE_NEWNS)
                iso.write_file("/proc/self/setgroups", "deny")
                iso.write_file("/proc/self/uid_map", f"0 {uid} 1")
                iso.write_file("/proc/self/gid_map", f"0 {gid} 1")
        except OSError as exc:
            self.info["minimal_root"] = f"off ({exc.strerror or exc})"
            return
        if not iso.in_new_mount_namespace(self.mnt_ino):  # never mount in the host's namespace
            raise SystemExit("sandbox: refusing to mount outside a private mount namespace")
        keep = _python_paths()
        try:
            iso.build_minimal_root(stage, keep, int(config.get("jobs_mb", 512)))
        except OSError as exc:
            # The namespace is private, so a half-built root harms nothing; programs then see the host's
            # file system read-only (per-program mount namespace) instead of the minimal root.
            self.info["minimal_root"] = f"off ({exc})"
            return
        self.jobs_root = "/jobs"
        self.info["minimal_root"] = "on"
        self.mnt_ino = os.stat("/proc/self/ns/mnt").st_ino

    def _choose_layers(self, mode: str) -> None:
        """Probe isolation settings, strongest first, with a real program; keep the first that works."""
        full = iso.CLONE_NEWNS | iso.CLONE_NEWPID | iso.CLONE_NEWNET
        candidates: list[tuple[int, int | None]] = []  # (namespaces, uid to run programs as)
        if mode == "auto":
            if self.root and self.jobs_root == "/jobs":
                candidates.append((iso.CLONE_NEWUSER | full, UNPRIVILEGED_UID))
            candidates.append((iso.CLONE_NEWUSER | full, None))
            if self.root:
                candidates.append((full, None))
        errors = []
        for flags, uid in [*candidates, (0, None)]:
            self.flags, self.drop_uid = flags, uid
            if self.root and uid is None and self.cgroup is None:
                self._open_cgroup()
            result = self._run_one(PROBE, {"timeout": 20, "cpu": 20, "memory": 1 << 30, "processes": 8,
                                           "file_size": 1 << 20, "open_files": 64, "output": 4096})
            if result["status"] == "passed":
                break
            errors.append(f"{flags:#x}/{uid}: {result.get('detail') or result['reason']}")
        else:
            raise SystemExit("sandbox: no setting could run a trivial program: " + "; ".join(errors))
        if candidates and not self.flags:
            self.info["warnings"].append("no namespaces: " + "; ".join(errors))
        if self.drop_uid is not None and self.cgroup is not None:
            self.cgroup.close()
            self.cgroup = None
        self._describe_layers()

    def _open_cgroup(self) -> None:
        try:
            self.cgroup = iso.PidsCgroup(self.workers)
        except OSError as exc:
            self.info["warnings"].append(f"no pids cgroup ({exc.strerror or exc})")

    def _describe_layers(self) -> None:
        f, info = self.flags, self.info
        names = [n for n, bit in (("user", iso.CLONE_NEWUSER), ("mount", iso.CLONE_NEWNS),
                                  ("pid", iso.CLONE_NEWPID), ("net", iso.CLONE_NEWNET)) if f & bit]
        info["namespaces"] = names
        if f & iso.CLONE_NEWNS:
            info["filesystem"] = ("minimal read-only root, writable job folder" if self.jobs_root == "/jobs"
                                  else "host file system read-only, writable job folder")
        else:
            info["filesystem"] = "host file system (writable where the user can write)"
        info["network"] = "network namespace (no interfaces)" if f & iso.CLONE_NEWNET else "python guard"
        info["user"] = (f"uid {self.drop_uid} (unprivileged)" if self.drop_uid is not None
                        else f"uid {info['uid']} (the server's)")
        if self.root and self.drop_uid is None and self.cgroup is not None:
            info["process_limit"] = "pids cgroup"
        elif self.root and self.drop_uid is None:
            info["process_limit"] = "python guard (process creation disabled)"
        elif f & iso.CLONE_NEWUSER:
            info["process_limit"] = "RLIMIT_NPROC per user namespace"
        else:
            info["process_limit"] = "RLIMIT_NPROC over all of the user's processes"
        info["cleanup"] = ("pid namespace" if f & iso.CLONE_NEWPID
                           else "pids cgroup" if self.cgroup else "orphan scan")
        info["capabilities"] = "dropped" if (f or self.root) else "none held"
        self.guards = []
        if not f & iso.CLONE_NEWNET:
            self.guards.append("socket")
        if self.root and self.drop_uid is None and self.cgroup is None:
            self.guards.append("process")
        if self.guards:
            info["warnings"].append("python-level guards (bypassable): " + ", ".join(self.guards))

    def _run_one(self, program: str, limits: dict) -> dict:
        """Run one program synchronously (start-up probe)."""
        job = Job(-1, program, limits)
        self.pending.append(job)
        results: list[dict] = []
        self.emit = results.append
        try:
            self._start_jobs()
            while self.running:
                self._step()
        finally:
            self.emit = _send
        return results[0]

    # -- main loop -----------------------------------------------------------------------------------
    def serve(self) -> None:
        _send({"ready": True, "info": self.info})
        while self.stdin_open or self.pending or self.running:
            self._start_jobs()
            self._step()
        self.shutdown()

    def _step(self) -> None:
        now = time.monotonic()
        timeout_ms = None
        if self.running:
            timeout_ms = max(0, math.ceil(1000 * (min(j.deadline for j in self.running.values()) - now)))
        fds = [self.wake_r] + [fd for j in self.running.values() for fd in j.fds]
        if self.stdin_open:
            fds.append(0)
        poller = select.poll()  # not select(): descriptors above 1024 are fine with many workers
        for fd in fds:
            poller.register(fd, select.POLLIN)
        readable = [fd for fd, _ in poller.poll(timeout_ms)]
        for fd in readable:
            if fd == 0:
                self._read_stdin()
            elif fd == self.wake_r:
                drain(fd)
            else:
                self._read_job_fd(fd)
        self._enforce_deadlines()
        self._reap()

    def _read_stdin(self) -> None:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            self.stdin_open = False
            return
        self.inbuf += chunk
        while len(self.inbuf) >= 4:
            (n,) = struct.unpack(">I", self.inbuf[:4])
            if len(self.inbuf) < 4 + n:
                break
            msg = json.loads(self.inbuf[4:4 + n])
            del self.inbuf[:4 + n]
            if msg.get("op") == "shutdown":
                self.stdin_open = False
                self.pending.clear()
                for job in self.running.values():
                    self._kill(job)
            else:
                self.pending.append(Job(int(msg["id"]), msg["program"], msg["limits"]))

    def _read_job_fd(self, fd: int) -> None:
        for job in self.running.values():
            if fd in job.fds:
                read_into(job, fd)
                return

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for job in self.running.values():
            if now >= job.deadline:
                job.timed_out = True
                self._kill(job)
                job.deadline = now + 0.05  # kill again shortly if it is still there (caught mid-setsid)

    def _kill(self, job: Job) -> None:
        for fd, kind in list(job.fds.items()):
            if kind == "ctl":
                read_into(job, fd)  # learn C2's pid if it was just reported
        parse_ctl(job)
        if job.c2 and not job.c2_reaped:
            signal_pid(job.c2, signal.SIGKILL)
        signal_pid(-job.c1, signal.SIGKILL)
        signal_pid(job.c1, signal.SIGKILL)

    def _reap(self) -> None:
        """Handle exited children. ``WNOWAIT`` first: a pid stays reserved until cleanup is done."""
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid == 0:
                return
            pid = info.si_pid
            job = self.running.pop(pid, None)
            if job is not None:
                self._finish(job, info)
            else:
                for other in self.running.values():
                    parse_ctl(other)
                    if other.c2 == pid:
                        other.cpu = cpu_seconds(pid)
                        other.c2_reaped = True
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)

    # -- one job -------------------------------------------------------------------------------------
    def _start_jobs(self) -> None:
        while self.pending and self.free_slots:
            job = self.pending.popleft()
            job.slot = self.free_slots.pop()
            try:
                self._spawn(job)
            except OSError as exc:
                self.free_slots.append(job.slot)
                self.emit({"id": job.id, "status": "error", "reason": "error: could not start the program",
                       "detail": str(exc), "duration": 0.0})

    def _spawn(self, job: Job) -> None:
        job.dir = tempfile.mkdtemp(prefix=f"job{job.id}-", dir=self.jobs_root)
        if self.drop_uid is not None:
            os.chown(job.dir, self.drop_uid, self.drop_uid)
        pipes = {kind: os.pipe2(os.O_CLOEXEC) for kind in ("out", "res", "ctl")}
        if self.cgroup is not None:
            self.cgroup.set_limit(job.slot, int(job.limits["processes"]) + 1)
        pid = os.fork()
        if pid == 0:
            self._child(job, {k: w for k, (_, w) in pipes.items()})
        for kind, (r, w) in pipes.items():
            os.close(w)
            os.set_blocking(r, False)
            job.fds[r] = kind
        job.c1 = pid
        job.start = time.monotonic()
        job.deadline = job.start + float(job.limits["timeout"])
        self.running[pid] = job

    def _child(self, job: Job, w: dict) -> None:
        """C1: isolate, fork C2, report C2's pid and status. Never returns."""
        try:
            os.setsid()
            if self.drop_uid is not None:  # before unshare: the new user namespace then belongs to it
                os.setgroups([])
                os.setresgid(self.drop_uid, self.drop_uid, self.drop_uid)
                os.setresuid(self.drop_uid, self.drop_uid, self.drop_uid)
            iso.prctl(iso.PR_SET_PDEATHSIG, signal.SIGKILL)  # after setuid, which clears it
            if os.getppid() != self.pid:
                os._exit(111)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            if self.cgroup is not None:
                self.cgroup.join(job.slot)
            null = os.open("/dev/null", os.O_RDONLY)
            # Move the sources above every target first, so that no dup2 overwrites a source still needed.
            high = {k: fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for k, fd in (("null", null), *w.items())}
            for key, dst in (("null", 0), ("out", 1), ("out", 2), ("res", RESULT_FD), ("ctl", CONTROL_FD)):
                os.dup2(high[key], dst)
            os.closerange(CONTROL_FD + 1, 1 << 16)
            if self.flags:
                iso.unshare(self.flags)
            if self.flags & iso.CLONE_NEWNS:
                if not iso.in_new_mount_namespace(self.mnt_ino):
                    raise OSError(1, "mount namespace was not created")
                iso.isolate_job_mounts(job.dir)
            c2 = os.fork()
            if c2 == 0:
                self._grandchild(job)
            os.write(CONTROL_FD, b"P" + struct.pack("<i", c2))
            info = os.waitid(os.P_PID, c2, os.WEXITED | os.WNOWAIT)
            assert info is not None  # blocking waitid always reports
            os.write(CONTROL_FD, b"S" + iso.pack_wait(info.si_code, info.si_status))
            os._exit(0)
        except BaseException as exc:  # report, never run the program with less isolation
            child.control_error(exc)
            os._exit(111)

    def _grandchild(self, job: Job) -> None:
        """C2: finish isolation, then run the program. Never returns."""
        try:
            iso.prctl(iso.PR_SET_PDEATHSIG, signal.SIGKILL)
            if self.flags & iso.CLONE_NEWPID and self.flags & iso.CLONE_NEWNS:
                iso.mount_fresh_proc()
            child.set_rlimits(job.limits, self.flags, self.root and self.drop_uid is None)
            if self.flags or (self.root and self.drop_uid is None):
                iso.drop_capabilities()
            else:
                iso.prctl(iso.PR_SET_NO_NEW_PRIVS, 1)
            os.chdir(job.dir)
            os.umask(0o077)
            os.environ.clear()
            os.environ.update({"HOME": job.dir, "TMPDIR": job.dir, "PATH": "/usr/local/bin:/usr/bin:/bin",
                               "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"})
            tempfile.tempdir = None
            child.install_guards(self.guards)
            # (random reseeds itself in every forked child: os.register_at_fork in the random module)
            sys.argv = ["program"]
            os.close(CONTROL_FD)
        except BaseException as exc:
            child.control_error(exc)
            os._exit(111)
        program, nonce = job.program, job.nonce
        del job
        child.run_program(program, nonce)

    def _finish(self, job: Job, c1_info) -> None:
        self._kill(job)  # C1 is a zombie (not reaped yet): its pid and group id cannot be reused
        if job.c2 and not job.c2_reaped:
            job.cpu = cpu_seconds(job.c2)
        if self.cgroup is not None:
            self.cgroup.kill_all(job.slot)
        elif not self.flags & iso.CLONE_NEWPID:
            kill_orphans(self.pid, set(self.running))
        for fd in list(job.fds):
            read_into(job, fd)
            if fd in job.fds:  # not at end of file: an escaped process still holds the write end
                os.close(fd)
        job.fds.clear()
        result = verdict(job, c1_info)
        result["duration"] = round(time.monotonic() - job.start, 4)
        remove_tree(job.dir)
        self.free_slots.append(job.slot)
        self.emit(result)

    def shutdown(self) -> None:
        for job in self.running.values():
            self._kill(job)
        if self.cgroup is not None:
            for slot in range(self.workers):
                self.cgroup.kill_all(slot)
            self.cgroup.close()
        if self.jobs_root != "/jobs":
            remove_tree(self.jobs_root)


# Writes in its folder and imports modules the server did not preload (their files must be readable).
PROBE = "import os, email.message, xml.dom.minidom\nwith open('probe.txt', 'w') as f:\n    f.write('ok')\n"


# -- small helpers ---------------------------------------------------------------------------------------
def _send(obj: dict) -> None:
    data = json.dumps(obj).encode()
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        n = os.write(1, view)
        view = view[n:]


def _python_paths() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    real = {os.path.realpath(p) for p in paths} | paths
    # The interpreter's folder may be reached through symlinks (a venv's bin/python -> pyenv): bind both.
    real.add(os.path.dirname(os.path.realpath(sys.executable)))
    return sorted(p for p in real if p != "/" and os.path.isdir(p))


def main() -> None:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    server = Server(config)
    try:
        server.serve()
    except BrokenPipeError:  # the client went away
        server.shutdown()


if __name__ == "__main__":
    main()
