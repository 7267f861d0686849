"""From what a finished program left behind to its ``status`` and ``reason`` (see ``ExecResult``).

Standard library only, with no sibling imports: the fork server (``server.py``) imports it as ``verdict``,
the process tier (``process_tier.py``) as ``mixlab.eval.sandbox.verdict``; both tiers decide with
``decide``. Inputs: the program's wait status (reported by its parent, C1), setup errors, the result pipe (the
runner's last JSON line: the sentinel with its nonce, or the exception), C1's own ending, whether the
wall-clock deadline passed, and the program's CPU time.
"""

from __future__ import annotations

import json
import os
import signal
import struct
from typing import Any

#: the runner's exit status when the program closed the result channel (fd 3) before its end
RESULT_LOST = 86

SIGNAL_NAMES = {int(s): s.name for s in signal.Signals}
# waitid(2)'s codes (Linux's values where a platform's Python does not define them)
CLD_EXITED, CLD_KILLED, CLD_DUMPED = (getattr(os, "CLD_EXITED", 1), getattr(os, "CLD_KILLED", 2),
                                      getattr(os, "CLD_DUMPED", 3))


def parse_ctl(job: Any) -> tuple[tuple[int, int] | None, str]:
    data, status, error, i = bytes(job.ctl), None, "", 0
    while i < len(data):
        tag = data[i:i + 1]
        if tag == b"P" and i + 5 <= len(data):
            job.c2 = struct.unpack("<i", data[i + 1:i + 5])[0]
            i += 5
        elif tag == b"S" and i + 9 <= len(data):
            status = struct.unpack("<ii", data[i + 1:i + 9])
            i += 9
        elif tag == b"E" and i + 3 <= len(data):
            (n,) = struct.unpack("<H", data[i + 1:i + 3])
            error = data[i + 3:i + 3 + n].decode("utf-8", "replace").strip()
            i += 3 + n
        else:
            break
    return status, error


def verdict(job: Any, c1_info: Any) -> dict:
    """The fork server's verdict on ``job`` (C1's ``waitid`` record is ``c1_info``)."""
    c2_status, setup_error = parse_ctl(job)
    c1_signal = c1_info.si_status if c1_info.si_code in (CLD_KILLED, CLD_DUMPED) else None
    c1_clean = c1_info.si_code == CLD_EXITED and c1_info.si_status == 0
    return decide(job_id=job.id, c2_status=c2_status, setup_error=setup_error, result=last_result(job.res),
                  output=job.out, keep=int(job.limits["output"]), nonce=job.nonce, timed_out=job.timed_out,
                  cpu=job.cpu, cpu_limit=float(job.limits["cpu"]), c1_signal=c1_signal, c1_clean=c1_clean)


def decide(*, job_id: int, c2_status: tuple[int, int] | None, setup_error: str, result: dict,
           output: bytes | bytearray, keep: int, nonce: str, timed_out: bool, cpu: float | None,
           cpu_limit: float, c1_signal: int | None, c1_clean: bool) -> dict:
    """Status and reason of one program. ``c2_status``: ``(CLD_* code, exit status or signal)`` of the
    program's process, ``None`` when its parent could not report it; ``c1_signal``: the signal that ended the
    parent, if one did."""
    base: dict[str, Any] = {"id": job_id, "output": bytes(output[-keep:]).decode("utf-8", "replace") if keep else "",
                            "exit_code": None, "signal": None, "detail": "", "cpu": cpu}
    if c2_status is not None:
        code, value = c2_status
        if code == CLD_EXITED:
            base["exit_code"] = value
        elif code in (CLD_KILLED, CLD_DUMPED):
            base["signal"] = SIGNAL_NAMES.get(value, str(value))
    elif c1_signal is not None:
        base["signal"] = SIGNAL_NAMES.get(c1_signal, str(c1_signal))

    def out(status: str, reason: str, detail: str = "") -> dict:
        return {**base, "status": status, "reason": reason, "detail": detail or base["detail"]}

    if setup_error:
        return out("error", "error: sandbox setup failed", setup_error)
    if timed_out:
        return out("timed out", "timed out")
    # As PID 1 of its namespace the program ignores SIGXCPU (the soft limit); SIGKILL at the hard limit
    # (soft + 1 s) ends it, so a SIGKILL after the soft limit's worth of CPU time is the CPU limit too.
    if base["signal"] == "SIGXCPU" or (base["signal"] == "SIGKILL" and (cpu or 0) >= cpu_limit - 0.05):
        return out("timed out", "timed out (CPU time limit)")
    if result.get("ok") is True and result.get("nonce") == nonce and base["exit_code"] == 0 and c1_clean:
        return out("passed", "passed")
    if result.get("ok") is False and "exit" in result:
        return out("failed", f"failed: exited early (sys.exit({result['exit']}))")
    if result.get("ok") is False and result.get("exception"):
        return out("failed", f"failed: {result['exception']}", str(result.get("message", "")))
    if base["signal"]:
        return out("failed", f"failed: killed by {base['signal']}")
    if base["exit_code"] == RESULT_LOST and not result:
        return out("failed", "failed: no result (the program closed the result channel)")
    if base["exit_code"] is not None:
        return out("failed", f"failed: exited early (status {base['exit_code']})")
    return out("failed", "failed: no result")


def last_result(res: bytes | bytearray) -> dict:
    """The last JSON object the runner wrote on the result pipe (``{}`` when there is none)."""
    for line in reversed(bytes(res).splitlines()):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    return {}
