"""Run untrusted Python programs (model-written code), each in its own isolated process, with limits.

>>> from mixlab.eval.sandbox import run_programs, SandboxLimits
>>> results = run_programs(["assert 1 + 1 == 2", "import sys; sys.exit(0)"])    # doctest: +SKIP
>>> [(r.passed, r.reason) for r in results]                                         # doctest: +SKIP
[(True, 'passed'), (False, 'failed: exited early (sys.exit(0))')]

A program passes only if its last statement ran: the runner writes a per-program random sentinel on a
private pipe after it. A fork server (``server.py``) forks a fresh child per program instead of starting an
interpreter, so the common case is fast (hundreds of trivial programs per second on 2 cores). What the
isolation does and does not protect against: ``docs/sandbox.md``; what is active on this machine:
``sandbox_info()``. Without Linux namespaces (macOS, containers that forbid ``unshare``) programs run in a
weaker process tier (``process_tier.py``), said once on stderr and recorded in every result
(``ExecResult.isolation``).
"""

from mixlab.eval.sandbox.limits import (
    ERROR,
    FAILED,
    ISOLATION_ENV,
    NAMESPACES,
    PASSED,
    PROCESS,
    STATUSES,
    TIMED_OUT,
    TIMEOUT_FACTOR_ENV,
    ExecResult,
    SandboxLimits,
)
from mixlab.eval.sandbox.pool import Sandbox, SandboxError, run_programs, sandbox_info, shared_sandbox

__all__ = [
    "ERROR",
    "FAILED",
    "ISOLATION_ENV",
    "NAMESPACES",
    "PASSED",
    "PROCESS",
    "STATUSES",
    "TIMED_OUT",
    "TIMEOUT_FACTOR_ENV",
    "ExecResult",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "run_programs",
    "sandbox_info",
    "shared_sandbox",
]
