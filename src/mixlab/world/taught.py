"""Generated instruction data on the world: ``world: bullets:taught`` answers the world's instructions by a
teacher, a world model fine-tuned on curated rows, instead of by the world itself.

The instruction-dynamics paper (DoIT, arXiv 2310.19651) finds that human-curated data keeps improving with
volume while GPT-4-generated data reaches a ceiling. On the world the teacher is real: the world's base model
(size ``m``) fine-tuned on ``TEACHER_ROWS`` curated rows of the same type or ability, with the recipe of the
world presets; it answers ``POOL`` train-split instructions greedily. Its answers carry its real errors;
nothing in the world writes a ceiling into them, and nothing checks or filters them (an empty answer is
dropped and counted). The teacher's own scores are the study's to measure: a taught source is ordinary data.

The instructions are drawn from the train split as the curated source draws its rows (same generator, same
kind and seed), so a study comparing ``bullets`` with ``bullets:taught`` at equal volume compares questions
of one distribution answered two ways. The teacher learns from other train rows (drawn with another seed),
never from the instructions it answers.

Built once per (kind, seed, world, recipe) and cached under ``$MIXLAB_CACHE/world-taught-<key>/``, with the
teacher's training result and every row's provenance (teacher, prompt, generation settings) in
``manifest.json``; processes that ask at once build it once. Building one took 7 s on 2 CPU cores (100 rows
of fine-tuning, 400 greedy answers; measured 2026-12-05).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from mixlab.artifacts import atomic_write_text, content_hash, source_bytes
from mixlab.data.example import Example, Message
from mixlab.data.load import LoadedSource
from mixlab.errors import MixlabError
from mixlab.paths import cache_root

log = logging.getLogger(__name__)

#: instructions a taught source answers (the top of a x4 ladder 25 / 100 / 400)
POOL = 400
#: curated rows the teacher is fine-tuned on (the quickstart's single-source arms have 100)
TEACHER_ROWS = 100


@dataclass(frozen=True)
class TeacherRecipe:
    """How the teacher is made and asked: the world presets' fine-tuning recipe, greedy answers."""

    size: str = "m"
    rows: int = TEACHER_ROWS
    epochs: int = 3
    lr: float = 3.0e-3
    batch_size: int = 8
    max_length: int = 128
    schedule: str = "linear"
    warmup_ratio: float = 0.1
    seed: int = 0
    max_new_tokens: int = 96


def _key(kind: str, seed: int, recipe: TeacherRecipe) -> str:
    from mixlab.world.model import sized, world_fingerprint

    code = hashlib.sha256(source_bytes(Path(__file__))).hexdigest()[:12]  # how rows are written and labelled
    return content_hash({"kind": kind, "seed": seed, "pool": POOL, "recipe": asdict(recipe),
                         "base": sized(recipe.size).key(), "world": world_fingerprint(), "code": code}, 12)


def load_taught_source(kind: str, seed: int = 0, recipe: TeacherRecipe | None = None) -> LoadedSource:
    """``POOL`` rows of the world source ``kind`` (a type or ability), answered by the teacher (cached); their
    source is ``<kind>:taught``."""
    recipe = recipe or TeacherRecipe()
    folder = cache_root() / f"world-taught-{_key(kind, seed, recipe)}"
    if not (folder / "COMPLETE").exists():
        _build(kind, seed, recipe, folder)
    label = f"{kind}:taught"
    examples = [Example.from_dict(json.loads(line))
                for line in (folder / "rows.jsonl").read_text(encoding="utf-8").splitlines()]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return LoadedSource(label, "world", f"world:{label}:seed={seed}", examples, rows_read=manifest["asked"],
                        sha256=manifest["rows_sha256"])


def _build(kind: str, seed: int, recipe: TeacherRecipe, folder: Path) -> None:
    from mixlab.world.source import load_world_source

    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log.info("world: making the taught source %s (a teacher fine-tuned on %d curated rows answers %d "
             "instructions; cached)", kind, recipe.rows, POOL)
    asked = load_world_source(kind, seed=seed, size=POOL).examples
    lessons = _teacher_rows(kind, seed, recipe.rows, {ex.prompt for ex in asked})
    teacher = _train_teacher(lessons, recipe, tmp / "teacher")
    rows, dropped = _answer(teacher, asked, kind, recipe)
    text = "".join(json.dumps(ex.to_dict(), ensure_ascii=False) + "\n" for ex in rows)
    atomic_write_text(tmp / "rows.jsonl", text)
    manifest = {"kind": kind, "seed": seed, "recipe": asdict(recipe), "asked": len(asked), "rows": len(rows),
                "dropped": dropped, "teacher": str(teacher.relative_to(tmp)),
                "teacher_rows": [ex.id for ex in lessons], "rows_sha256": content_hash(text, 64)}
    atomic_write_text(tmp / "manifest.json", json.dumps(manifest, indent=1))
    (tmp / "COMPLETE").touch()
    if folder.exists():  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, folder)


def _teacher_rows(kind: str, seed: int, n: int, answered: set[str]) -> list[Example]:
    """``n`` curated rows of the train split that are not among the instructions the teacher will answer."""
    from mixlab.world.source import load_world_source

    pool = load_world_source(kind, seed=seed + 7919, size=n + POOL).examples
    lessons = [ex for ex in pool if ex.prompt not in answered][:n]
    if len(lessons) < n:
        raise MixlabError(f"world source {kind}: only {len(lessons)} train rows apart from the {POOL} the teacher "
                          f"answers; it needs {n}")
    return lessons


def _train_teacher(lessons: list[Example], recipe: TeacherRecipe, out: Path) -> Path:
    from mixlab.train import TrainSpec, train
    from mixlab.world.model import ensure_base_model, sized

    base = ensure_base_model(sized(recipe.size))
    data = out.parent / "teacher_rows.jsonl"
    data.write_text("".join(json.dumps(ex.to_dict(), ensure_ascii=False) + "\n" for ex in lessons), encoding="utf-8")
    result = train(TrainSpec(model=str(base), data=str(data), out=str(out), epochs=recipe.epochs, lr=recipe.lr,
                             batch_size=recipe.batch_size, max_length=recipe.max_length, schedule=recipe.schedule,
                             warmup_ratio=recipe.warmup_ratio, seed=recipe.seed))
    return Path(result.final_dir)


def _answer(teacher: Path, asked: list[Example], kind: str,
            recipe: TeacherRecipe) -> tuple[list[Example], int]:
    from mixlab.eval.backends import load_lm
    from mixlab.eval.lm import GenerationRequest

    lm = load_lm(str(teacher), backend="transformers", progress=False)
    outputs = lm.generate([GenerationRequest((Message("user", ex.prompt),), max_new_tokens=recipe.max_new_tokens)
                           for ex in asked])
    rows, dropped = [], 0
    for ex, texts in zip(asked, outputs, strict=True):
        answer = texts[0].strip()
        if not answer:
            dropped += 1
            continue
        meta = {**ex.meta, "method": "taught", "parent": ex.id, "teacher": f"world:{recipe.size} fine-tuned on "
                f"{recipe.rows} {kind} rows", "generation": {"temperature": 0.0,
                                                           "max_new_tokens": recipe.max_new_tokens}}
        rows.append(Example(f"{ex.id}-taught", f"{kind}:taught", (*ex.messages[:-1], Message("assistant", answer)),
                            ex.instruction_type, ex.abilities, meta))
    return rows, dropped
