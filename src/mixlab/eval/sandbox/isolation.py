"""Kernel isolation for sandboxed programs: namespaces, a minimal read-only root, capabilities, cgroups.

Standard library only: this module runs inside the fork server (``server.py``), a bare interpreter that
imports nothing from mixlab. Every function here either succeeds or raises ``OSError``; the server probes
once at start which layers work on this machine and reports them (``Layers``), so a program never runs with
less isolation than was reported.

The layers, strongest first (see ``docs/sandbox.md`` for what each one does and does not stop):

* **minimal root** (server-wide, built once): the server enters its own mount namespace and pivots into a
  tmpfs holding read-only bind mounts of only what Python needs (``/usr``, ``/lib*``, the interpreter's
  prefix, ``sys.path`` folders, a few ``/etc`` files, five safe ``/dev`` nodes) and a size-limited tmpfs
  ``/jobs`` for the programs' working folders. Home folders, ``/tmp``, ``/run``, sockets and secrets on disk
  are simply not there.
* **per-program namespaces**: a new user (where allowed), mount, PID and network namespace for every program;
  the whole mount tree is read-only except the program's own folder; a fresh ``/proc`` shows only the
  program's processes; the network namespace has no interface but a down loopback.
* **capabilities dropped** (bounding set emptied, ``no_new_privs``): the program cannot undo the above.
* **unprivileged user** (root only): inside the minimal root the interpreter is reachable by anyone, so the
  program runs as uid 65534; ``RLIMIT_NPROC``, counted per user namespace, then limits each program's
  processes, and the program cannot signal or read anything of root's.
* **pids cgroup** (root only, when programs must stay uid 0): a process-count limit that holds for uid 0,
  which ``RLIMIT_NPROC`` does not; and a way to kill every process of a program. Slower: moving a process
  into a cgroup waits for an RCU grace period (~10 ms).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct

_libc = ctypes.CDLL(None, use_errno=True)
#: why this machine cannot have these layers (no such system calls: macOS, BSD); empty where it may. Importing
#: this module never fails: the client reads this to choose the weaker process tier (``process_tier.py``).
UNAVAILABLE = ""
# Resolve the symbols once, here in the server: each forked child would otherwise look them up again.
for _name in ("unshare", "mount", "umount2", "syscall", "prctl", "capset"):
    try:
        getattr(_libc, _name)
    except AttributeError:
        UNAVAILABLE = f"the C library has no {_name}() (not Linux)"
        break

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
# mount_setattr(2) arrived in Linux 5.12; syscalls numbered from 424 on share one number on every architecture.
SYS_MOUNT_SETATTR = 442
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

#: the only device nodes a program sees; enough for Python and common libraries
SAFE_DEVICES = ("null", "zero", "full", "random", "urandom")
#: /etc files Python or libc read; everything else in /etc (shadow, ssh keys, ...) stays hidden
ETC_FILES = ("passwd", "group", "nsswitch.conf", "localtime", "ld.so.cache", "hosts", "mime.types")
#: system folders bound read-only into the minimal root, when they exist
SYSTEM_DIRS = ("usr", "lib", "lib64", "lib32", "libx32", "bin", "sbin")


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _check(ret: int, what: str) -> int:
    if ret == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def _b(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), f"unshare({flags:#x})")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)),
        f"mount {target}",
    )


def umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), ctypes.c_int(flags)), f"umount {target}")


def mount_setattr(path: str, *, recursive: bool, set_: int = 0, clear: int = 0) -> None:
    attr = _MountAttr(set_, clear, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    ret = _libc.syscall(
        ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD), _b(path), ctypes.c_uint(flags),
        ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
    )
    _check(ret, f"mount_setattr {path}")


def pivot_root(new_root: str, put_old: str) -> None:
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(38, f"pivot_root: syscall number unknown on {os.uname().machine}")
    _check(_libc.syscall(ctypes.c_long(number), _b(new_root), _b(put_old)), "pivot_root")


def prctl(option: int, arg: int = 0) -> None:
    _check(
        _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0),
                    ctypes.c_ulong(0)),
        f"prctl({option})",
    )


def _cap_last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 40


#: read once at import (the server imports this before it pivots away from the host's /proc)
CAP_LAST_CAP = _cap_last_cap()


def drop_capabilities() -> None:
    """Empty the bounding set, then the effective/permitted/inheritable sets, then set ``no_new_privs``.

    After this even uid 0 (or root in a user namespace) cannot mount, remount read-write, load modules,
    trace other processes, or regain capabilities by executing a set-uid binary.
    """
    for cap in range(CAP_LAST_CAP + 1):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError as exc:
            if exc.errno != 22:  # EINVAL: capability unknown to this kernel
                raise
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def in_new_mount_namespace(reference_inode: int) -> bool:
    """True when this process's mount namespace differs from ``reference_inode`` (a guard before mounting)."""
    return os.stat("/proc/self/ns/mnt").st_ino != reference_inode


# ---------------------------------------------------------------------------------------------------------
# The minimal root, built once by the server.


def build_minimal_root(stage: str, keep_paths: list[str], jobs_size_mb: int) -> None:
    """Enter a private mount namespace and pivot into a tmpfs root holding only what Python needs.

    ``stage`` is an empty folder (it becomes the new root's mount point); ``keep_paths`` are the folders
    (interpreter prefix, ``sys.path`` entries) bound read-only at their own paths. Afterwards ``/jobs`` is a
    writable tmpfs of ``jobs_size_mb`` for the programs' folders. The caller must already be in a new mount
    namespace (``unshare(CLONE_NEWNS)``); this function refuses to touch the mounts of the host.
    """
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m")
    for name in SYSTEM_DIRS:
        _mirror(f"/{name}", stage)
    for path in sorted(set(keep_paths)):
        if os.path.isdir(path) and not _covered(path, keep_paths):
            _bind_ro(path, stage + path)
    os.makedirs(stage + "/etc", exist_ok=True)
    for name in ETC_FILES:
        src = f"/etc/{name}"
        if os.path.isfile(src):
            _bind_file_ro(os.path.realpath(src), f"{stage}/etc/{name}")
    os.makedirs(stage + "/dev", exist_ok=True)
    for name in SAFE_DEVICES:
        if os.path.exists(f"/dev/{name}"):
            _bind_file(f"/dev/{name}", f"{stage}/dev/{name}")
    os.symlink("/proc/self/fd", f"{stage}/dev/fd")
    # /proc of the host stays mounted (read-only) because the kernel lets a user namespace mount a fresh
    # /proc only where a full one is already visible; each program gets its own /proc on top of it.
    os.makedirs(stage + "/proc", exist_ok=True)
    mount("/proc", stage + "/proc", None, MS_BIND | MS_REC)
    os.makedirs(stage + "/jobs", exist_ok=True)
    mount("tmpfs", stage + "/jobs", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0711,size={jobs_size_mb}m")
    os.makedirs(stage + "/tmp", mode=0o1777, exist_ok=True)
    old = stage + "/.old-root"
    os.mkdir(old)
    mount_setattr(stage + "/proc", recursive=True, set_=MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)
    pivot_root(stage, old)
    os.chdir("/")
    umount("/.old-root", MNT_DETACH)
    os.rmdir("/.old-root")
    mount_setattr("/", recursive=False, set_=MOUNT_ATTR_RDONLY)


def _covered(path: str, paths: list[str]) -> bool:
    """True when a parent folder of ``path`` is itself in ``paths`` (binding the parent is enough)."""
    return any(p != path and path.startswith(p.rstrip("/") + "/") for p in paths)


def _mirror(path: str, stage: str) -> None:
    """Reproduce ``path`` in the new root: a symlink stays a symlink (merged /usr), a folder is bound."""
    if os.path.islink(path):
        os.symlink(os.readlink(path), stage + path)
    elif os.path.isdir(path):
        _bind_ro(path, stage + path)


def _bind_ro(src: str, dst: str) -> None:
    os.makedirs(dst, exist_ok=True)
    mount(src, dst, None, MS_BIND | MS_REC)
    mount_setattr(dst, recursive=True, set_=MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)


def _bind_file(src: str, dst: str) -> None:
    with open(dst, "w"):
        pass
    mount(src, dst, None, MS_BIND)


def _bind_file_ro(src: str, dst: str) -> None:
    _bind_file(src, dst)
    mount_setattr(dst, recursive=False, set_=MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)


# ---------------------------------------------------------------------------------------------------------
# Per program.


def isolate_job_mounts(job_dir: str) -> None:
    """In a fresh mount namespace: everything read-only except ``job_dir`` (other programs' folders too)."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount(job_dir, job_dir, None, MS_BIND | MS_REC)
    mount_setattr("/", recursive=True, set_=MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)
    mount_setattr(job_dir, recursive=False, clear=MOUNT_ATTR_RDONLY)


def mount_fresh_proc() -> None:
    """A read-only /proc of the program's own PID namespace: no other process, no other environment."""
    mount("proc", "/proc", "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


# ---------------------------------------------------------------------------------------------------------
# The pids cgroup (root only).


class PidsCgroup:
    """One pids cgroup per worker slot, under ``<hierarchy>/mixlab-sandbox-<server pid>``.

    File descriptors to each slot's ``cgroup.procs`` and ``pids.max`` are opened up front, so the cgroup
    keeps working after the server pivots into its minimal root (where ``/sys`` is not mounted).
    """

    CANDIDATES = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")

    def __init__(self, slots: int):
        self.base = ""
        self.procs_fds: list[int] = []
        self.max_fds: list[int] = []
        hierarchy = self._find_hierarchy()
        _remove_stale(hierarchy)
        self.base = f"{hierarchy}/mixlab-sandbox-{os.getpid()}"
        os.makedirs(self.base, exist_ok=True)
        if os.path.exists(f"{hierarchy}/cgroup.subtree_control"):  # cgroup v2: delegate pids to the slots
            write_file(f"{hierarchy}/cgroup.subtree_control", "+pids")
            write_file(f"{self.base}/cgroup.subtree_control", "+pids")
        for i in range(slots):
            slot = f"{self.base}/slot{i}"
            os.makedirs(slot, exist_ok=True)
            self.procs_fds.append(os.open(f"{slot}/cgroup.procs", os.O_RDWR | os.O_CLOEXEC))
            self.max_fds.append(os.open(f"{slot}/pids.max", os.O_RDWR | os.O_CLOEXEC))

    @classmethod
    def _find_hierarchy(cls) -> str:
        for path in cls.CANDIDATES:
            ctl = f"{path}/cgroup.controllers"
            if os.path.isdir(path) and os.path.exists(f"{path}/cgroup.procs"):
                if os.path.exists(ctl):  # v2 root: pids must be an available controller
                    with open(ctl) as f:
                        if "pids" not in f.read().split():
                            continue
                elif not path.endswith("/pids"):
                    continue
                if os.access(path, os.W_OK):
                    return path
        raise OSError(2, "no writable pids cgroup hierarchy")

    def set_limit(self, slot: int, max_pids: int) -> None:
        fd = self.max_fds[slot]
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, str(max_pids).encode())

    def join(self, slot: int) -> None:
        """Move the calling process (and its future children) into the slot's cgroup."""
        fd = self.procs_fds[slot]
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b"0")

    def pids(self, slot: int) -> list[int]:
        fd = self.procs_fds[slot]
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return [int(x) for x in b"".join(chunks).split()]

    def kill_all(self, slot: int, sig: int = 9, rounds: int = 50) -> int:
        """SIGKILL every process in the slot, repeatedly (a fork bomb refills it); returns how many were left."""
        remaining = 0
        for _ in range(rounds):
            pids = self.pids(slot)
            remaining = len(pids)
            if not pids:
                return 0
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        return remaining

    def close(self) -> None:
        for fd in self.procs_fds + self.max_fds:
            os.close(fd)
        self.procs_fds, self.max_fds = [], []
        try:
            for name in os.listdir(self.base):
                if name.startswith("slot"):
                    os.rmdir(f"{self.base}/{name}")
            os.rmdir(self.base)
        except OSError:
            pass  # a process still inside (it is being killed); an empty cgroup costs nothing


def write_file(path: str, text: str) -> None:
    """Write a kernel control file (``uid_map``, ``cgroup.subtree_control``) in one ``write(2)``, as it requires."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _remove_stale(hierarchy: str) -> None:
    """Remove empty ``mixlab-sandbox-<pid>`` cgroups left by servers that were killed."""
    try:
        names = os.listdir(hierarchy)
    except OSError:
        return
    for name in names:
        if not name.startswith("mixlab-sandbox-"):
            continue
        pid = name.rsplit("-", 1)[-1]
        if pid.isdigit() and os.path.exists(f"/proc/{pid}"):
            continue
        base = f"{hierarchy}/{name}"
        try:
            for sub in os.listdir(base):
                if sub.startswith("slot"):
                    os.rmdir(f"{base}/{sub}")
            os.rmdir(base)
        except OSError:
            pass


def pack_wait(code: int, status: int) -> bytes:
    return struct.pack("<ii", code, status)
