"""Sandbox throughput: programs per second, mixlab's fork server vs starting a process per program.

Workloads (each program must pass):

- ``trivial``: ``--programs`` copies of a one-line program (``assert sum(range(10)) == 45``): the embedded
  world's code ability runs ~200 such programs per model, for ~30 models per study.
- ``humaneval``: the 164 canonical HumanEval solutions with their tests (needs ``../shared/data``).

Methods, side by side in one run, ``--workers`` programs at a time:

- ``mixlab sandbox``: ``mixlab.eval.sandbox.Sandbox`` (warm fork server; every program in its own process
  with namespaces, a minimal read-only root, rlimits, its own folder; see docs/sandbox.md). Its start-up
  (probing the isolation layers) is timed separately.
- ``new interpreter``: ``python -I -S -c PROGRAM`` per program with the same wall-clock timeout, no other
  isolation: the floor for any sandbox that starts an interpreter per program.
- ``fork per program``: human-eval's approach without its guards, a fork of the harness per program, no
  isolation beyond the fork (the harness here is small; a harness holding a model forks slower).

Reports the median programs/s over ``--repeats`` runs, the ratio to mixlab, and the median CPU time per
program (user + system of the processes involved: on a shared machine wall-clock rates depend on the
load, CPU time much less; work the kernel defers to its own threads, such as freeing network namespaces,
is not in it). Run:
``python benchmarks/sandbox_throughput.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from mixlab.eval.code.problems import load_humaneval_problems  # noqa: E402
from mixlab.eval.sandbox import Sandbox, SandboxLimits  # noqa: E402

TRIVIAL = "assert sum(range(10)) == 45\n"


def humaneval_programs(data: Path) -> list[str]:
    """The programs the ``humaneval`` suite runs, with each canonical solution as the completion."""
    return [p.program(p.canonical_solution) for p in load_humaneval_problems(data / "humaneval" / "HumanEval.jsonl.gz")]


def run_interpreter(program: str, timeout: float) -> bool:
    try:
        return subprocess.run([sys.executable, "-I", "-S", "-c", program], capture_output=True,
                              timeout=timeout).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def run_fork(program: str, timeout: float) -> bool:
    """human-eval's approach without its guards: fork the harness, run the program in the child."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            exec(compile(program, "<program>", "exec"), {"__name__": "__main__"})
            code = 0
        finally:
            os._exit(code)
    fd = os.pidfd_open(pid)
    done, _, _ = select.select([fd], [], [], timeout)
    os.close(fd)
    if not done:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    return bool(done) and os.waitstatus_to_exitcode(status) == 0


def cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds (user + system) of this process and its reaped children, or of process ``pid`` and its
    reaped children (the sandbox server reaps every program's processes)."""
    if pid is None:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system
    fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def timed(fn, programs: list[str], server: int | None) -> tuple[float, float, int]:
    """Programs per second, CPU milliseconds per program (this process, its children and the server's)."""
    cpu0 = cpu_seconds() + (cpu_seconds(server) if server else 0.0)
    start = time.perf_counter()
    passed = fn(programs)
    wall = time.perf_counter() - start
    cpu = cpu_seconds() + (cpu_seconds(server) if server else 0.0) - cpu0
    return len(programs) / wall, 1000 * cpu / len(programs), passed


def measure(name: str, programs: list[str], box: Sandbox, workers: int, repeats: int, timeout: float) -> list[dict]:
    limits = SandboxLimits(timeout=timeout)

    def mixlab(ps: list[str]) -> int:
        return sum(r.passed for r in box.run(ps, limits))

    def pool(fn):
        def go(ps: list[str]) -> int:
            with ThreadPoolExecutor(workers) as ex:
                return sum(ex.map(lambda p: fn(p, timeout), ps))
        return go

    methods = {"mixlab sandbox": mixlab, "new interpreter": pool(run_interpreter), "fork per program": pool(run_fork)}
    rates: dict[str, list[float]] = {m: [] for m in methods}
    cpus: dict[str, list[float]] = {m: [] for m in methods}
    passed: dict[str, int] = {}
    for _ in range(repeats):  # interleaved, so that load from other processes hits every method alike
        for method, fn in methods.items():
            rate, cpu, ok = timed(fn, programs, box.server_pid if method == "mixlab sandbox" else None)
            rates[method].append(rate)
            cpus[method].append(cpu)
            passed[method] = ok
    base = statistics.median(rates["mixlab sandbox"])
    rows = []
    for method in methods:
        med = statistics.median(rates[method])
        rows.append({"workload": name, "method": method, "programs": len(programs), "passed": passed[method],
                     "programs_per_s": round(med, 1), "min": round(min(rates[method]), 1),
                     "max": round(max(rates[method]), 1), "cpu_ms_per_program": round(statistics.median(cpus[method]), 2),
                     "mixlab_speedup": round(base / med, 2)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", type=int, default=200, help="trivial programs per run (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=5, help="runs per method; the median is reported")
    ap.add_argument("--workers", type=int, default=2, help="programs at once (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per program (default: %(default)s)")
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = ap.parse_args()

    start = time.perf_counter()
    box = Sandbox(workers=args.workers).start()
    startup = time.perf_counter() - start
    try:
        box.run([TRIVIAL] * 10)  # warm-up
        rows = measure("trivial", [TRIVIAL] * args.programs, box, args.workers, args.repeats, args.timeout)
        if (Path(args.data_dir) / "humaneval").is_dir():
            rows += measure("humaneval canonical", humaneval_programs(Path(args.data_dir)), box, args.workers,
                            args.repeats, args.timeout)
        info = box.info
    finally:
        box.close()
    print(f"device: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"python {platform.python_version()}; workers {args.workers}; {args.repeats} repeats (median)")
    print(f"sandbox start-up {startup:.2f} s; layers: namespaces={info.get('namespaces')}, "
          f"filesystem={info.get('filesystem')!r}, user={info.get('user')!r}")
    print(f"{'workload':<20} {'method':<18} {'programs/s':>11} {'(min-max)':>14} {'CPU ms/prog':>12} "
          f"{'passed':>9} {'mixlab x':>9}")
    for r in rows:
        print(f"{r['workload']:<20} {r['method']:<18} {r['programs_per_s']:>11} "
              f"{'(' + str(r['min']) + '-' + str(r['max']) + ')':>14} {r['cpu_ms_per_program']:>12} "
              f"{r['passed']:>5}/{r['programs']:<4} {r['mixlab_speedup']:>8}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"startup_s": startup, "rows": rows, "info": info}, indent=2))


if __name__ == "__main__":
    main()
