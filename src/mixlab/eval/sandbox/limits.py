"""What a sandboxed program may use (``SandboxLimits``) and what became of it (``ExecResult``)."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any

from mixlab.errors import SpecError

#: ``ExecResult.status`` values. ``timed out`` is kept apart from ``failed``: on a slow machine a correct
#: program can hit the time limit, and that must be visible rather than counted as a wrong answer.
PASSED, FAILED, TIMED_OUT, ERROR = "passed", "failed", "timed out", "error"
STATUSES = (PASSED, FAILED, TIMED_OUT, ERROR)

TIMEOUT_FACTOR_ENV = "MIXLAB_SANDBOX_TIMEOUT_FACTOR"
#: ``process`` forces the weaker process tier (what machines without Linux namespaces get); ``auto`` or unset:
#: the strongest tier this machine allows
ISOLATION_ENV = "MIXLAB_SANDBOX_ISOLATION"

#: ``ExecResult.isolation`` values: the fork server with Linux namespaces, or the weaker process tier (own
#: process and process group, rlimits, a temporary folder; see ``process_tier.py``)
NAMESPACES, PROCESS = "namespaces", "process"


@dataclass(frozen=True)
class SandboxLimits:
    """Per-program limits. Validated when built; all problems are reported at once.

    >>> SandboxLimits(timeout=2.0, timeout_factor=1.5).wall_seconds
    3.0
    >>> SandboxLimits(timeout=-1, memory_mb=0)
    Traceback (most recent call last):
    ...
    mixlab.errors.SpecError: sandbox limits has 2 problems:
      - timeout: -1 must be > 0 seconds
      - memory_mb: 0 must be an integer >= 64 (MiB of address space)
    """

    #: wall-clock seconds per program, before ``timeout_factor``
    timeout: float = 3.0
    #: multiplies every time limit (slow or busy machines); ``None`` reads ``$MIXLAB_SANDBOX_TIMEOUT_FACTOR``,
    #: else 1.0
    timeout_factor: float | None = None
    #: CPU seconds per program; ``None`` = the scaled wall-clock limit rounded up, plus one
    cpu_seconds: int | None = None
    #: address-space limit in MiB (``RLIMIT_AS``): a memory bomb gets ``MemoryError``
    memory_mb: int = 1024
    #: processes and threads the program may have at once, its own included
    max_processes: int = 32
    #: largest file the program may write, in MiB (``RLIMIT_FSIZE``)
    max_file_mb: int = 16
    #: open file descriptors (``RLIMIT_NOFILE``)
    max_open_files: int = 256
    #: bytes of the program's combined stdout/stderr kept (the tail) in ``ExecResult.output``
    output_bytes: int = 4096

    def __post_init__(self) -> None:
        problems = []
        if not _positive(self.timeout):
            problems.append(f"timeout: {self.timeout!r} must be > 0 seconds")
        if self.timeout_factor is not None and not _positive(self.timeout_factor):
            problems.append(f"timeout_factor: {self.timeout_factor!r} must be > 0 (1.0 = no scaling)")
        if self.cpu_seconds is not None and not _int_at_least(self.cpu_seconds, 1):
            problems.append(f"cpu_seconds: {self.cpu_seconds!r} must be an integer >= 1 (or None)")
        checks = [
            ("memory_mb", 64, "MiB of address space"),
            ("max_processes", 1, "processes and threads"),
            ("max_file_mb", 1, "MiB"),
            ("max_open_files", 16, "file descriptors"),
            ("output_bytes", 0, "bytes"),
        ]
        for name, low, unit in checks:
            value = getattr(self, name)
            if not _int_at_least(value, low):
                problems.append(f"{name}: {value!r} must be an integer >= {low} ({unit})")
        if problems:
            raise SpecError("sandbox limits", problems)

    @property
    def factor(self) -> float:
        """The effective time factor: the field, else ``$MIXLAB_SANDBOX_TIMEOUT_FACTOR``, else 1.0."""
        if self.timeout_factor is not None:
            return float(self.timeout_factor)
        raw = os.environ.get(TIMEOUT_FACTOR_ENV, "").strip()
        if not raw:
            return 1.0
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not _positive(value):
            raise SpecError("sandbox limits", [f"${TIMEOUT_FACTOR_ENV}: {raw!r} must be a number > 0"])
        return value

    @property
    def wall_seconds(self) -> float:
        return float(self.timeout) * self.factor

    def to_server(self) -> dict[str, Any]:
        """The limits as the fork server reads them (bytes, seconds, counts)."""
        wall = self.wall_seconds
        cpu = self.cpu_seconds if self.cpu_seconds is not None else math.ceil(wall) + 1
        return {
            "timeout": wall,
            "cpu": math.ceil(cpu * (self.factor if self.cpu_seconds is not None else 1.0)),
            "memory": int(self.memory_mb) << 20,
            "processes": int(self.max_processes),
            "file_size": int(self.max_file_mb) << 20,
            "open_files": int(self.max_open_files),
            "output": int(self.output_bytes),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "factor": self.factor, "wall_seconds": self.wall_seconds}


@dataclass(frozen=True)
class ExecResult:
    """What became of one program.

    ``passed`` is true only when the program's last statement ran and it then ended normally: exiting
    early with status 0 (``sys.exit(0)``, ``os._exit(0)``) is a failure.
    """

    passed: bool
    #: ``passed``, ``failed``, ``timed out`` or ``error`` (the sandbox could not run the program)
    status: str
    #: short and stable: ``passed``, ``timed out``, ``failed: AssertionError``,
    #: ``failed: exited early (sys.exit(0))``, ``failed: killed by SIGSEGV``, ``error: ...``
    reason: str
    #: seconds from fork to exit, as measured by the sandbox
    duration: float
    exit_code: int | None = None
    #: name of the signal that ended the program (``SIGKILL``, ``SIGSEGV``, ...), if one did
    signal: str | None = None
    #: the exception message (first 300 characters) or the setup error
    detail: str = ""
    #: tail of the program's combined stdout and stderr
    output: str = ""
    #: CPU seconds (user + system) of the program's main process, when the sandbox could read them
    cpu_seconds: float | None = None
    #: the isolation it ran under: ``namespaces``, or ``process`` (the weaker tier: no namespaces)
    isolation: str = NAMESPACES

    @property
    def timed_out(self) -> bool:
        return self.status == TIMED_OUT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_server(cls, msg: dict[str, Any], isolation: str = NAMESPACES) -> ExecResult:
        status = str(msg.get("status", ERROR))
        return cls(
            passed=status == PASSED,
            status=status,
            reason=str(msg.get("reason", "error: no reason given")),
            duration=float(msg.get("duration") or 0.0),
            exit_code=msg.get("exit_code"),
            signal=msg.get("signal"),
            detail=str(msg.get("detail") or ""),
            output=str(msg.get("output") or ""),
            cpu_seconds=msg.get("cpu"),
            isolation=isolation,
        )

    @classmethod
    def error(cls, reason: str, detail: str = "", isolation: str = NAMESPACES) -> ExecResult:
        return cls(passed=False, status=ERROR, reason=f"error: {reason}", duration=0.0, detail=detail,
                   isolation=isolation)


def _positive(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def _int_at_least(x: Any, low: int) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= low
