"""Write a built mixture for the trainers people already use.

=================  ============================================================================================
``--to``           files written in the output folder
=================  ============================================================================================
``llamafactory``   ``mixture.json`` (sharegpt shape: ``conversations`` of ``from``/``value`` + ``system``) and
                   ``dataset_info.json`` describing it; train with ``dataset_dir: OUT`` and ``dataset: NAME``
``axolotl``        ``train.jsonl`` (``messages`` of ``role``/``content``) and ``axolotl.yaml`` holding the
                   ``datasets:`` block (``type: chat_template``, loss on assistant turns) to paste in a config
``trl``            ``train.jsonl`` with one ``{"messages": [...]}`` per row (TRL's conversational format)
``alpaca``         ``train.json``: ``[{"instruction", "input", "output"}]``; only single-turn rows without a
                   system prompt fit, every other row is counted by reason and left out
=================  ============================================================================================

Every export also writes ``export.json``: the mixture id it came from, rows in, rows written and rows
skipped by reason. The rows keep the mixture's order and its repeats (the mixture *is* the training set).

>>> report = export_mixture("runs/mix-ac", "exports/ac-alpaca", to="alpaca")   # doctest: +SKIP
>>> report["rows_exported"], report["skipped"]                                 # doctest: +SKIP
(2990, {'multi-turn': 10})
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mixlab.artifacts import atomic_write_json, atomic_write_text, file_sha256, json_line, read_jsonl
from mixlab.errors import MixlabError

TARGETS = ("llamafactory", "axolotl", "trl", "alpaca")
SHAREGPT_ROLES = {"user": "human", "assistant": "gpt"}


def _messages(row: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in row["messages"]]


def _split_system(msgs: list[dict[str, str]]) -> tuple[str | None, list[dict[str, str]]]:
    if msgs and msgs[0]["role"] == "system":
        return msgs[0]["content"], msgs[1:]
    return None, msgs


def _jsonl(rows: Iterable[Mapping[str, Any]]) -> str:
    lines = [json_line(r) for r in rows]
    return "\n".join(lines) + ("\n" if lines else "")


def _llamafactory(rows: list[dict[str, Any]], out: Path, name: str) -> tuple[dict[str, str], Counter[str]]:
    data = []
    for row in rows:
        system, turns = _split_system(_messages(row))
        rec: dict[str, Any] = {"conversations": [{"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]}
                                                 for m in turns]}
        if system is not None:
            rec["system"] = system
        data.append(rec)
    atomic_write_text(out / "mixture.json", json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    info = {name: {
        "file_name": "mixture.json",
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system"},
        "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"},
    }}
    atomic_write_json(out / "dataset_info.json", info)
    return {"data": "mixture.json", "config": "dataset_info.json"}, Counter()


def _axolotl(rows: list[dict[str, Any]], out: Path, name: str) -> tuple[dict[str, str], Counter[str]]:
    atomic_write_text(out / "train.jsonl", _jsonl({"messages": _messages(r)} for r in rows))
    block = {"datasets": [{
        "path": str((out / "train.jsonl").resolve()),
        "ds_type": "json",
        "type": "chat_template",
        "field_messages": "messages",
        "message_property_mappings": {"role": "role", "content": "content"},
        "roles_to_train": ["assistant"],
    }]}
    header = (f"# mixture {name}: paste this datasets block into an Axolotl config. The rows are already mixed\n"
              "# and shuffled by mixlab; keep Axolotl's dataset dedup off so that intended repeats stay.\n")
    atomic_write_text(out / "axolotl.yaml", header + yaml.safe_dump(block, sort_keys=False))
    return {"data": "train.jsonl", "config": "axolotl.yaml"}, Counter()


def _trl(rows: list[dict[str, Any]], out: Path, name: str) -> tuple[dict[str, str], Counter[str]]:
    atomic_write_text(out / "train.jsonl", _jsonl({"messages": _messages(r)} for r in rows))
    return {"data": "train.jsonl"}, Counter()


def _alpaca(rows: list[dict[str, Any]], out: Path, name: str) -> tuple[dict[str, str], Counter[str]]:
    data = []
    skipped: Counter[str] = Counter()
    for row in rows:
        system, turns = _split_system(_messages(row))
        if system is not None:
            skipped["system prompt"] += 1
        elif len(turns) != 2:
            skipped["multi-turn"] += 1
        else:
            data.append({"instruction": turns[0]["content"], "input": "", "output": turns[1]["content"]})
    atomic_write_text(out / "train.json", json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    return {"data": "train.json"}, skipped


WRITERS: dict[str, Callable[[list[dict[str, Any]], Path, str], tuple[dict[str, str], Counter[str]]]] = {
    "llamafactory": _llamafactory, "axolotl": _axolotl, "trl": _trl, "alpaca": _alpaca,
}


def export_mixture(mixture_dir: str | Path, out_dir: str | Path, *, to: str, name: str | None = None) -> dict[str, Any]:
    """Export the mixture built in ``mixture_dir`` to ``out_dir`` for trainer ``to``; returns the report."""
    from mixlab.mix.build import check_built

    if to not in WRITERS:
        raise MixlabError(f"--to: unknown target {to!r}; valid: {', '.join(TARGETS)}")
    manifest = check_built(mixture_dir)
    rows = read_jsonl(Path(mixture_dir) / "train.jsonl")
    name = name or f"mixlab_{manifest.get('name') or manifest['id']}"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files, skipped = WRITERS[to](rows, out, name)
    report = {
        "to": to, "name": name, "mixture_id": manifest["id"], "rows_in": len(rows),
        "rows_exported": len(rows) - sum(skipped.values()), "skipped": dict(sorted(skipped.items())),
        "files": {role: {"path": f, "sha256": file_sha256(out / f)} for role, f in files.items()},
    }
    atomic_write_json(out / "export.json", report)
    return report


def format_report(report: Mapping[str, Any], out: str | Path) -> str:
    lines = [f"exported {report['rows_exported']} of {report['rows_in']} rows for {report['to']} -> {out}"]
    for reason, n in report["skipped"].items():
        lines.append(f"  skipped {n} rows: {reason} (the {report['to']} format cannot hold them)")
    for role, f in report["files"].items():
        lines.append(f"  {role}: {Path(out) / f['path']}")
    return "\n".join(lines)
