"""Reading the instructions a generation starts from.

Self-Instruct seed tasks are JSON lines ``{"id", "instruction", "instances": [{"input", "output"}], ...}`` (the
175 tasks of Wang et al. 2022); Alpaca-shaped rows (``instruction``, ``input``, ``output``) are read too. A row
that is neither is skipped and counted by reason; a file without one usable row is an error that says why.

>>> tasks, skipped = seed_tasks_from_records([{"id": "t1", "instruction": "Add.", "instances": [
...     {"input": "1 2", "output": "3"}]}, {"instruction": ""}])
>>> tasks[0].id, tasks[0].input, skipped
('t1', '1 2', {'empty instruction': 1})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixlab.errors import MixlabError


@dataclass(frozen=True)
class SeedTask:
    """One seed task: its instruction and its first instance (the demonstration shown to the teacher)."""

    id: str
    instruction: str
    input: str = ""
    output: str = ""
    is_classification: bool | None = None


def _one(rec: Any, index: int) -> SeedTask | str:
    if not isinstance(rec, Mapping):
        return "invalid JSON" if hasattr(rec, "error") else "not a JSON object"
    instruction = rec.get("instruction")
    if not isinstance(instruction, str):
        return "no instruction"
    if not instruction.strip():
        return "empty instruction"
    instances = rec.get("instances")
    if isinstance(instances, list) and instances and isinstance(instances[0], Mapping):
        first = instances[0]
    elif "output" in rec:
        first = rec
    else:
        return "no instances or output"
    inp, out = first.get("input") or "", first.get("output") or ""
    if not isinstance(inp, str) or not isinstance(out, str):
        return "input or output not text"
    rid = rec.get("id")
    cls = rec.get("is_classification")
    return SeedTask(str(rid) if isinstance(rid, (str, int)) and str(rid) else f"seed-{index:04d}",
                    instruction.strip(), inp.strip(), out.strip(), cls if isinstance(cls, bool) else None)


def seed_tasks_from_records(records: Sequence[Any]) -> tuple[list[SeedTask], dict[str, int]]:
    """The usable seed tasks, and the count of skipped rows by reason."""
    tasks, skipped = [], Counter[str]()
    for i, rec in enumerate(records):
        got = _one(rec, i)
        if isinstance(got, str):
            skipped[got] += 1
        else:
            tasks.append(got)
    ids = Counter(t.id for t in tasks)
    if dupes := [i for i, k in ids.items() if k > 1]:
        raise MixlabError(f"seed task ids are not unique: {', '.join(dupes[:5])}")
    return tasks, dict(sorted(skipped.items()))


def read_seed_tasks(path: str | Path) -> tuple[list[SeedTask], dict[str, int]]:
    """Seed tasks from a file (json, jsonl, optionally .gz); an error when the file has none."""
    from mixlab.data.load import read_records

    path = Path(path)
    if not path.is_file():
        raise MixlabError(f"seed tasks file not found: {path}")
    records = read_records(path)
    tasks, skipped = seed_tasks_from_records(records)
    if not tasks:
        raise MixlabError(f"{path}: no usable seed task in {len(records)} rows ({skipped or 'the file is empty'}); "
                          "expected JSON lines with 'instruction' and 'instances': [{'input', 'output'}] "
                          "(Self-Instruct seed tasks) or 'instruction', 'input', 'output' (Alpaca)")
    return tasks, skipped
