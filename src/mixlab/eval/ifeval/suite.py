"""The ``ifeval`` suite: IFEval-format prompts, answered by the model, verified by mixlab's checks.

Data: Google's IFEval ``input_data.jsonl`` (541 prompts; ``google-research/instruction_following_eval/data``,
or the ``google/IFEval`` dataset on the Hugging Face hub exported to JSON lines). mixlab ships no copy. Point
the suite at it with the option ``ifeval_file`` (``mixlab eval --suite-arg ifeval_file=PATH``), or put it at
``DATA/ifeval/input_data.jsonl``. ``ifeval_file=builtin`` uses mixlab's own 200 IFEval-format prompts instead
(``ifeval.builtin``: the same checks, other prompts; not comparable with published IFEval scores).

Metrics, as IFEval reports them: ``prompt_level_strict_acc`` (share of prompts whose every instruction is
followed; the headline), ``inst_level_strict_acc`` (share of instructions followed), and both ``loose``
variants. Prompts with an instruction mixlab cannot check are left out whole and counted
(``counts["prompts_unsupported"]``, per id in ``config["unsupported_ids"]``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixlab.errors import MixlabError, SpecError
from mixlab.eval.ifeval.ifeval_ids import Unsupported, to_spec
from mixlab.eval.ifeval.verify import check_instructions, follows_all, validate_instructions
from mixlab.eval.stats import Score, mean_with_stderr
from mixlab.eval.task import TaskResult

#: the ``ifeval_file`` value that selects mixlab's own IFEval-format prompts
BUILTIN = "builtin"


@dataclass(frozen=True)
class IFEvalPrompt:
    key: str
    prompt: str
    instruction_ids: tuple[str, ...]
    specs: tuple[dict[str, Any], ...]


def load_ifeval(path: str | Path) -> tuple[list[IFEvalPrompt], Counter[str], int]:
    """Supported prompts, a count of unsupported instruction ids, and how many prompts were left out.
    ``path`` ``builtin`` gives mixlab's own IFEval-format prompts (``ifeval.builtin``)."""
    from mixlab.eval.judge.files import read_records

    if str(path) == BUILTIN:
        from mixlab.eval.ifeval.builtin import builtin_records

        return parse_ifeval(builtin_records(), BUILTIN)
    return parse_ifeval(read_records(path), str(path))


def parse_ifeval(records: Iterable[dict[str, Any]], where: str) -> tuple[list[IFEvalPrompt], Counter[str], int]:
    """``load_ifeval`` on records already read."""
    prompts: list[IFEvalPrompt] = []
    unsupported: Counter[str] = Counter()
    left_out = 0
    problems = []
    for i, row in enumerate(records, 1):
        ids, kwargs = row.get("instruction_id_list"), row.get("kwargs")
        if not isinstance(row.get("prompt"), str) or not isinstance(ids, list) or not isinstance(kwargs, list) \
                or len(ids) != len(kwargs):
            problems.append(f"record {i}: needs 'prompt' (str) and equally long 'instruction_id_list' and 'kwargs'")
            continue
        specs, bad = [], []
        for iid, kw in zip(ids, kwargs, strict=True):
            try:
                spec = to_spec(iid, kw)
                validate_instructions([spec])
                specs.append(spec)
            except (Unsupported, SpecError):
                bad.append(iid)
        if bad:
            unsupported.update(bad)
            left_out += 1
            continue
        prompts.append(IFEvalPrompt(str(row.get("key", i)), row["prompt"], tuple(ids), tuple(specs)))
    if problems:
        raise SpecError(f"IFEval file {where}", problems[:20])
    return prompts, unsupported, left_out


@dataclass
class IFEvalTask:
    prompts: list[IFEvalPrompt]
    unsupported: Counter[str] = field(default_factory=Counter)
    left_out: int = 0
    max_new_tokens: int = 1280
    seed: int = 0
    source: str = ""
    name: str = "ifeval"
    ability: str = "instruction_following"
    instruction_type: str = "chat"
    chance: float | None = None
    primary: str = "prompt_level_strict_acc"

    def evaluate(self, lm: Any, *, limit: int | None = None) -> TaskResult:
        from mixlab.eval.judge.answers import answer_questions
        from mixlab.eval.judge.grading import Question
        from mixlab.eval.judge.options import select

        prompts = select(self.prompts, limit, seed=self.seed)
        answers = answer_questions(lm, [Question(p.key, (p.prompt,)) for p in prompts],
                                   max_new_tokens=self.max_new_tokens, desc=f"{self.name}: answering")
        records: list[dict[str, Any]] = []
        for p, a in zip(prompts, answers, strict=True):
            results = check_instructions(a[0], list(p.specs))
            records.append({
                "key": p.key, "prompt": p.prompt, "output": a[0], "instruction_ids": list(p.instruction_ids),
                "instructions": [r.to_dict() for r in results],
                "follow_all_strict": follows_all(results, "strict"), "follow_all_loose": follows_all(results, "loose"),
            })
        counts = {"prompts": len(records), "prompts_unsupported": self.left_out,
                  "instructions": sum(len(r["instructions"]) for r in records),
                  "instructions_unsupported": sum(self.unsupported.values())}
        config = {"source": self.source, "max_new_tokens": self.max_new_tokens,
                  "unsupported_ids": dict(sorted(self.unsupported.items()))}
        mode = "loose" if "loose" in self.primary else "strict"
        item_scores = [{"item": str(r["key"]), "cluster": str(r["key"]), "value": float(r[f"follow_all_{mode}"])}
                       for r in records] if self.primary.startswith("prompt_level") else []
        return TaskResult(task=self.name, ability=self.ability, instruction_type=self.instruction_type,
                          primary=self.primary, chance=self.chance, metrics=ifeval_metrics(records, self.seed),
                          items=records, counts=counts, config=config, item_scores=item_scores)


def ifeval_metrics(records: Sequence[dict[str, Any]], seed: int = 0) -> dict[str, Score]:
    """Prompt- and instruction-level accuracy, strict and loose, with bootstrap standard errors."""
    out = {}
    for mode in ("strict", "loose"):
        out[f"prompt_level_{mode}_acc"] = mean_with_stderr([r[f"follow_all_{mode}"] for r in records], seed=seed)
        flat = [i[mode] for r in records for i in r["instructions"]]
        out[f"inst_level_{mode}_acc"] = mean_with_stderr(flat, seed=seed)
    return out


def _ifeval_path(options: dict[str, Any]) -> Path | str:
    if options.get("ifeval_file") == BUILTIN:
        return BUILTIN
    if options.get("ifeval_file"):
        path = Path(options["ifeval_file"])
        if not path.is_file():
            raise MixlabError(f"IFEval file not found: {path}")
        return path
    from mixlab.paths import data_dir

    base = options.get("data_dir") or data_dir()
    folder = Path(base) / "ifeval" if base else None
    for name in ("input_data.jsonl", "ifeval.jsonl", "input_data.jsonl.gz"):
        if folder is not None and (folder / name).is_file():
            return folder / name
    where = f"or put it at {folder / 'input_data.jsonl'}" if folder else "or put it in DATA/ifeval/ and pass --data-dir"
    raise MixlabError(
        f"no IFEval data: pass the option ifeval_file (mixlab eval --suite-arg ifeval_file=PATH to IFEval's "
        f"input_data.jsonl) {where}; mixlab ships no copy of IFEval, but ifeval_file=builtin gives its own "
        "IFEval-format prompts (not comparable with published IFEval scores; see docs/judges.md)"
    )


def ifeval_suite(**options: Any) -> list[IFEvalTask]:
    """The ``ifeval`` task. Options: ``ifeval_file`` or ``data_dir``, ``limit``, ``max_new_tokens``, ``seed``."""
    path = _ifeval_path(options)
    prompts, unsupported, left_out = load_ifeval(path)
    from mixlab.eval.judge.options import check_limit, select

    seed = int(options.get("seed") or 0)
    prompts = select(prompts, check_limit(options.get("limit")), seed=seed)
    return [IFEvalTask(prompts, unsupported, left_out, max_new_tokens=int(options.get("max_new_tokens") or 1280),
                       seed=seed, source=str(path))]
