"""The resumable output of a generation run: rows, dropped candidates and ``manifest.json``, step by step.

A run is a sequence of numbered steps (a batch of teacher requests each). When a step ends, its kept rows are
appended to ``OUT`` and its dropped candidates (each with its reason) to ``OUT.dropped.jsonl``; then the
manifest, with ``steps_done`` and the counts, is written atomically beside ``OUT``. The manifest is the commit:
on a re-run, rows of steps it does not count (a crash between the appends and the manifest) and a torn last
line are cut away, and the run goes on at step ``steps_done``. Since each step draws its randomness from
(seed, step) alone, the resumed output is the one an uninterrupted run writes.

A re-run must ask for the same thing: the manifest's settings (teacher, method options, input hash, ...) are
compared, and a difference is an error that names the settings, not a silent mix of two runs.

>>> j = Journal.open(tmp / "gen.jsonl", "self-instruct", {"seed": 0})        # doctest: +SKIP
>>> j.commit(0, "1", rows=[row], dropped=[{"reason": "too short", "text": "Sort."}])   # doctest: +SKIP
>>> j.counts                                                                    # doctest: +SKIP
{'proposed': 2, 'kept': 1, 'dropped': {'too short': 1}}
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mixlab import __version__
from mixlab.artifacts import atomic_write_json, atomic_write_jsonl, content_hash, json_line
from mixlab.errors import MixlabError

MANIFEST = "manifest.json"


def dropped_path(out: Path) -> Path:
    """``gen.jsonl`` -> ``gen.dropped.jsonl``."""
    return out.with_name(out.name.removesuffix(".jsonl") + ".dropped.jsonl")


def empty_counts() -> dict[str, Any]:
    return {"proposed": 0, "kept": 0, "dropped": {}}


def _add(counts: dict[str, Any], kept: int, reasons: Counter[str]) -> None:
    counts["kept"] += kept
    counts["proposed"] += kept + sum(reasons.values())
    dropped = Counter(counts["dropped"]) + reasons
    counts["dropped"] = dict(sorted(dropped.items()))


class Journal:
    """Open with ``Journal.open``; ``rows`` are the kept rows committed so far, ``steps_done`` the next step."""

    def __init__(self, out: Path, method: str, settings: dict[str, Any], manifest: dict[str, Any] | None):
        self.out = out
        self.dropped_file = dropped_path(out)
        self.manifest_file = out.parent / MANIFEST
        self.method = method
        self.settings = settings
        m = manifest or {}
        self.steps_done: int = m.get("steps_done", 0)
        self.counts: dict[str, Any] = m.get("counts") or empty_counts()
        self.per_round: dict[str, dict[str, Any]] = m.get("per_round") or {}
        self.seconds: float = m.get("seconds", 0.0)
        self.complete: bool = m.get("complete", False)
        self.extra: dict[str, Any] = m.get("extra") or {}
        self.rows: list[dict[str, Any]] = []
        self.resumed = manifest is not None
        self._started = time.perf_counter()

    # ------------------------------------------------------------------------------------------- opening
    @classmethod
    def open(cls, out: str | Path, method: str, settings: dict[str, Any]) -> Journal:
        """Start a new output, or resume the one at ``out`` made with the same settings."""
        out = Path(out)
        settings = json.loads(json.dumps(settings, default=str))  # as it reads back from the manifest
        if out.is_dir():
            raise MixlabError(f"--out {out} is a folder; give a file name such as {out / 'generated.jsonl'}")
        manifest_file = out.parent / MANIFEST
        manifest = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.is_file() else None
        if manifest is not None and manifest.get("output") != out.name:
            raise MixlabError(f"{manifest_file} belongs to {manifest.get('output')!r}, not {out.name!r}: give each "
                              "generated file its own folder")
        if manifest is None:
            if out.exists() and out.stat().st_size:
                raise MixlabError(f"{out} exists but has no {MANIFEST} beside it, so it is not a run to resume; "
                                  "move it away or choose another --out")
            out.parent.mkdir(parents=True, exist_ok=True)
            return cls(out, method, settings, None)
        _check_same(manifest, method, settings, out)
        journal = cls(out, method, settings, manifest)
        journal.rows = journal._recover(out, "kept rows")
        journal._recover(journal.dropped_file, "dropped candidates")
        return journal

    def _recover(self, path: Path, what: str) -> list[dict[str, Any]]:
        """The committed rows of ``path``; a torn last line and rows of uncommitted steps are cut away."""
        if not path.exists():
            return []
        rows, cut = [], 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line) if line.endswith("\n") else None
                except json.JSONDecodeError:
                    row = None
                if row is None or _step(row) >= self.steps_done:
                    cut += 1
                    continue
                rows.append(row)
        if cut:
            import logging

            logging.getLogger(__name__).warning("%s: %d %s of an unfinished step removed; they are made again",
                                                path.name, cut, what)
            atomic_write_jsonl(path, rows)
        return rows

    # ------------------------------------------------------------------------------------------- writing
    def commit(self, step: int, round_key: str, rows: Sequence[Mapping[str, Any]],
               dropped: Sequence[Mapping[str, Any]]) -> None:
        """Append one step's rows and dropped candidates, then write the manifest (the commit)."""
        if step != self.steps_done:
            raise MixlabError(f"internal: step {step} committed after step {self.steps_done - 1}")
        for path, items in ((self.out, rows), (self.dropped_file, dropped)):
            with open(path, "a", encoding="utf-8") as f:
                for item in items:
                    f.write(json_line(item) + "\n")
                f.flush()
                os.fsync(f.fileno())
        reasons = Counter(str(d["reason"]) for d in dropped)
        _add(self.counts, len(rows), reasons)
        _add(self.per_round.setdefault(round_key, empty_counts()), len(rows), reasons)
        self.rows.extend(dict(r) for r in rows)
        self.steps_done = step + 1
        self.write_manifest()

    def write_manifest(self, *, complete: bool | None = None, **extra: Any) -> dict[str, Any]:
        if complete is not None:
            self.complete = complete
        self.extra.update(extra)
        now = time.perf_counter()
        self.seconds += now - self._started
        self._started = now
        manifest = {
            "output": self.out.name,
            "dropped": self.dropped_file.name,
            "method": self.method,
            "settings": self.settings,
            "settings_hash": content_hash(self.settings),
            "steps_done": self.steps_done,
            "complete": self.complete,
            "rows": self.counts["kept"],
            "counts": self.counts,
            "per_round": self.per_round,
            "seconds": round(self.seconds, 3),
            "rows_per_minute": round(60 * self.counts["kept"] / self.seconds, 3) if self.seconds else None,
            "extra": self.extra,
            "mixlab_version": __version__,
        }
        atomic_write_json(self.manifest_file, manifest)
        return manifest


def _step(row: Mapping[str, Any]) -> int:
    meta = row.get("meta") if isinstance(row.get("meta"), Mapping) else row
    value = meta.get("step") if isinstance(meta, Mapping) else None
    return int(value) if isinstance(value, int) else 1 << 60


def _check_same(manifest: Mapping[str, Any], method: str, settings: Mapping[str, Any], out: Path) -> None:
    if manifest.get("method") != method:
        raise MixlabError(f"{out} was made by {manifest.get('method')}, not {method}: choose another --out")
    old = manifest.get("settings") or {}
    diff = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
    if diff:
        shown = "; ".join(f"{k}: {old.get(k)!r} then, {settings.get(k)!r} now" for k in diff)
        raise MixlabError(f"{out} was made with other settings ({shown}); a re-run resumes only with the same "
                          "settings: choose another --out, or delete the output and its manifest.json")
