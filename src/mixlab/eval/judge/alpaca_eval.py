"""AlpacaEval: 805 instructions; the model's answers against reference outputs, judged pairwise in both orders.

Reference outputs (``DATA/alpaca_eval/``): ``text_davinci_003`` for AlpacaEval 1 and ``gpt4_1106_preview`` for
AlpacaEval 2. Metrics: ``win_rate`` (ties half; orders that disagree are ties), ``lc_win_rate`` (the
length-controlled win rate of ``length_control.py``), win / tie / loss shares, position-bias statistics
(``flip_rate``, ``first_position_rate``), the mean answer length in characters of the model and of the
reference (``avg_length``, ``baseline_avg_length``), and ``win_rate_<dataset>`` per source dataset.
All rates are fractions in [0, 1] (AlpacaEval's leaderboard prints percent).

The judge prompt is mixlab's built-in pairwise prompt (``prompts.builtin_prompt``), not AlpacaEval's own
annotator prompts, so numbers are comparable across mixlab runs with the same judge, not with the leaderboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mixlab.errors import MixlabError
from mixlab.eval.judge.answers import answer_questions
from mixlab.eval.judge.engine import JudgeConfig, JudgeLog
from mixlab.eval.judge.files import read_records
from mixlab.eval.judge.grading import Question, grade_pairwise, length_metrics, pairwise_summary
from mixlab.eval.judge.options import judge_record, select
from mixlab.eval.judge.prompts import PromptSet
from mixlab.eval.lm import LM
from mixlab.eval.task import TaskResult

REFERENCES = {1: "text_davinci_003_model_outputs.json.gz", 2: "gpt4_1106_preview_model_outputs.json.gz"}


def load_alpaca_eval(folder: str | Path, version: int = 2) -> tuple[list[Question], list[str], str]:
    """Questions (id = position in the file, category = source dataset), reference outputs, reference name."""
    if version not in REFERENCES:
        raise MixlabError(f"alpaca_eval version {version!r} is not valid; use 1 or 2")
    path = Path(folder) / REFERENCES[version]
    if not path.is_file():
        raise MixlabError(f"AlpacaEval reference outputs not found: {path} (expected DATA/alpaca_eval/)")
    rows = read_records(path)
    questions = [Question(str(i), (r["instruction"],), str(r.get("dataset", ""))) for i, r in enumerate(rows)]
    generators = {str(r.get("generator", "")) for r in rows}
    return questions, [str(r["output"]) for r in rows], ",".join(sorted(generators))


@dataclass
class AlpacaEvalTask:
    questions: list[Question]
    references: list[str]
    reference_name: str
    judge: LM
    version: int = 2
    config: JudgeConfig = field(default_factory=JudgeConfig)
    max_new_tokens: int = 1024
    #: resumable log of judge texts (``None``: no log)
    log: JudgeLog | None = None
    name: str = "alpaca_eval_v2"
    ability: str = "helpfulness"
    instruction_type: str = "chat"
    chance: float | None = 0.5
    primary: str = "lc_win_rate"

    def evaluate(self, lm: LM, *, limit: int | None = None) -> TaskResult:
        picked = select(list(range(len(self.questions))), limit, seed=self.config.seed)
        questions = [self.questions[i] for i in picked]
        baseline = [(self.references[i],) for i in picked]
        answers = answer_questions(lm, questions, max_new_tokens=self.max_new_tokens, desc=f"{self.name}: answering")
        prompts = PromptSet()
        records, outcomes, counts = grade_pairwise(self.judge, questions, answers, baseline, prompts, self.config,
                                                   ref_categories=(), log=self.log, desc=f"{self.name}: judging")
        metrics, pair_counts = pairwise_summary(records, outcomes, seed=self.config.seed)
        metrics.update(length_metrics(records, outcomes, seed=self.config.seed))
        config = {**judge_record(self.judge, lm), "judge_config": self.config.to_dict(),
                  "judge_prompts": [prompts.get("pairwise", multi_turn=False, reference=False).describe()],
                  "baseline": self.reference_name, "version": self.version,
                  "answer_max_new_tokens": self.max_new_tokens, "length_unit": "characters"}
        return TaskResult(task=self.name, ability=self.ability, instruction_type=self.instruction_type,
                          primary=self.primary, chance=self.chance, metrics=metrics, items=records,
                          counts={**counts, **pair_counts}, config=config)
