"""One program in the sandbox's process tier: what runs where Linux namespaces are not available.

Started by ``process_tier.py`` as ``python -I -B launcher.py JOB_DIR LIMITS GUARDS RESULT_FD CONTROL_FD`` in
a new session (its own process group), with an empty environment, the job folder as working folder and the
nonce on stdin; it moves the two pipes to fds 3 and 4, where the fork server's children have them. Standard
library only, POSIX only (macOS included): no ``/proc``, no ``prctl``, no namespaces.

    client ── spawn ──► C1 = this launcher (own session and process group)
                         └─ fork ──► C2: rlimits, Python-level guards, cwd = job folder ──► exec(program)

C1 reports C2's pid, wait status and CPU time on the control pipe as one JSON line; C2 writes the sentinel
on fd 3 after the program's last statement, as in the fork server. A program that kills C1 is still in the
process group the client kills at the end.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import child  # sibling files: the launcher does not import the mixlab package
from child import CONTROL_FD, RESULT_FD
from verdict import CLD_EXITED, CLD_KILLED

sys.path.pop(0)


def main() -> None:
    job_dir, limits, guards = sys.argv[1], json.loads(sys.argv[2]), [g for g in sys.argv[3].split(",") if g]
    passed = [int(sys.argv[4]), int(sys.argv[5])]
    # above both targets first (fd 10 and up), so that no dup2 overwrites a source still needed
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in passed]
    for fd in passed:
        os.close(fd)
    os.dup2(high[0], RESULT_FD)
    os.dup2(high[1], CONTROL_FD)
    for fd in high:
        os.close(fd)
    nonce = sys.stdin.readline().strip()  # never in argv, where the program could read it
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    pid = os.fork()
    if pid == 0:
        _program(job_dir, limits, guards, nonce)
    del nonce
    os.close(RESULT_FD)  # only the program writes its result
    _, status, usage = os.wait4(pid, 0)
    if os.WIFSIGNALED(status):
        code, value = CLD_KILLED, os.WTERMSIG(status)
    else:
        code, value = CLD_EXITED, os.WEXITSTATUS(status)
    report = {"pid": pid, "code": code, "status": value, "cpu": round(usage.ru_utime + usage.ru_stime, 4)}
    os.write(CONTROL_FD, (json.dumps(report) + "\n").encode())
    os._exit(0)


def _program(job_dir: str, limits: dict, guards: list[str], nonce: str) -> None:
    """C2: limits and guards, then the program. Never returns."""
    try:
        with open(os.path.join(job_dir, "program.py"), encoding="utf-8") as f:
            source = f.read()
        skipped = child.set_rlimits(limits, 0, os.getuid() == 0, strict=False)
        child.install_guards(guards)
        os.chdir(job_dir)
        os.umask(0o077)
        sys.argv = ["program"]
        if skipped:  # limits this system refuses: the client reports them once
            os.write(CONTROL_FD, (json.dumps({"unenforced": skipped}) + "\n").encode())
        os.close(CONTROL_FD)
    except BaseException as exc:  # report, and run nothing
        os.write(CONTROL_FD, (json.dumps({"setup_error": f"{type(exc).__name__}: {exc}"[:500]}) + "\n").encode())
        os._exit(111)
    child.run_program(source, nonce)


if __name__ == "__main__":
    main()
