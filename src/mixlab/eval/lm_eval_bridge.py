"""A bridge to lm-evaluation-harness: its tasks against a mixlab ``LM``, or against lm-eval's own HF model.

Everything runs offline from local task files (``dataset_path: json``); the hub is never asked
(``HF_HUB_OFFLINE=1`` and ``HF_DATASETS_OFFLINE=1`` are set before lm-eval is imported, because importing an
evaluation library that reaches for the hub is a known trap: lm-eval #1697, #2394).

>>> rows = run_lm_eval("../shared/data/smollm2_135m_instruct_gguf", ["arc_easy_local"],
...                    data_dir="../shared/data", limit=20)  # doctest: +SKIP

Built-in local tasks (``BUILTIN_TASKS``) use the shared data files and the *same prompt format* as mixlab's
native suites, so the two runners can be compared item by item (``sample_predictions``):
``arc_easy_local`` / ``arc_challenge_local`` (cloze, ``<query>\\nAnswer:`` + `` <choice>``, acc and acc_norm).
Other lm-eval task YAMLs can be added with ``include=[folder]``; a ``{data_dir}`` placeholder in them is
filled in with the benchmark data folder.

``MixlabLMEvalAdapter(lm)`` is an ``lm_eval.api.model.LM`` over any mixlab ``LM``: ``loglikelihood`` and
``generate_until`` map one to one; ``loglikelihood_rolling`` scores the whole text after the BOS token with
no sliding window (texts longer than the model's context are cut from the left, and counted).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mixlab.errors import MixlabError, require
from mixlab.eval.lm import LM, GenerationRequest, LoglikelihoodRequest

_ARC_YAML = """\
task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data_file}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{query}}}}\\nAnswer:"
doc_to_target: "{{{{gold}}}}"
doc_to_choice: "{{{{choices}}}}"
target_delimiter: " "
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""

#: task name -> (YAML template, data file under the data folder)
BUILTIN_TASKS: dict[str, tuple[str, str]] = {
    "arc_easy_local": (_ARC_YAML, "arc/arc_easy.jsonl.gz"),
    "arc_challenge_local": (_ARC_YAML, "arc/arc_challenge.jsonl.gz"),
}


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def write_task_dir(out: str | Path, tasks: Sequence[str], data_dir: str | Path | None,
                   include: Sequence[str | Path] = ()) -> Path:
    """Write the YAMLs of the built-in ``tasks`` and the ``include`` folders (``{data_dir}`` filled in)."""
    from mixlab.eval.suites import data_dir as resolve_data_dir

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in [t for t in tasks if t in BUILTIN_TASKS]:
        template, rel = BUILTIN_TASKS[name]
        path = resolve_data_dir(data_dir).resolve() / rel
        if not path.is_file():
            raise MixlabError(f"lm-eval task {name}: data file not found: {path}")
        (out / f"{name}.yaml").write_text(template.format(task=name, data_file=path))
    for folder in include:
        folder = Path(folder)
        if not folder.is_dir():
            raise MixlabError(f"--include: not a folder: {folder}")
        for path in folder.glob("*.yaml"):
            text = path.read_text()
            if "{data_dir}" in text:
                text = text.replace("{data_dir}", str(resolve_data_dir(data_dir).resolve()))
            (out / path.name).write_text(text)
    return out


def adapter_class() -> type:
    """The ``lm_eval.api.model.LM`` subclass wrapping a mixlab ``LM`` (built on first use: lm-eval is heavy)."""
    global _ADAPTER
    if _ADAPTER is None:
        _offline()
        base = require("lm_eval.api.model", extra="dev", purpose="the lm-evaluation-harness bridge").LM

        class MixlabLMEvalAdapter(base):  # type: ignore[misc, valid-type]
            """lm-eval's model interface over a mixlab ``LM``."""

            def __init__(self, lm: LM):
                super().__init__()
                self.lm = lm

            def loglikelihood(self, requests: list[Any]) -> list[tuple[float, bool]]:
                reqs = [LoglikelihoodRequest(ctx, cont) for ctx, cont in (r.args for r in requests)]
                return [(r.logprob, r.is_greedy) for r in self.lm.loglikelihood(reqs)]

            def loglikelihood_rolling(self, requests: list[Any]) -> list[float]:
                reqs = [LoglikelihoodRequest("", r.args[0]) for r in requests]
                return [r.logprob for r in self.lm.loglikelihood(reqs)]

            def generate_until(self, requests: list[Any]) -> list[str]:
                return [out[0] for out in self.lm.generate([_generation_request(*r.args) for r in requests])]

            def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
                from mixlab.data.example import Message

                template, tokenizer = getattr(self.lm, "template", None), getattr(self.lm, "tokenizer", None)
                if template is None:
                    raise MixlabError("this backend renders its own conversations; run lm-eval without a chat template")
                msgs = tuple(Message(m["role"], m["content"]) for m in chat_history)
                return template.render(msgs, tokenizer, add_generation_prompt=add_generation_prompt)

            @property
            def tokenizer_name(self) -> str:
                return str(self.lm.identity().get("template", "none"))

            def chat_template(self, chat_template: bool | str = False) -> str | None:
                template = getattr(self.lm, "template", None)
                return getattr(template, "source", None) or ""

        _ADAPTER = MixlabLMEvalAdapter
    return _ADAPTER


_ADAPTER: type | None = None


def _generation_request(context: str, gen_kwargs: dict[str, Any]) -> GenerationRequest:
    until = gen_kwargs.get("until") or ()
    until = (until,) if isinstance(until, str) else tuple(until)
    sample = bool(gen_kwargs.get("do_sample", False))
    return GenerationRequest(
        prompt=context, max_new_tokens=int(gen_kwargs.get("max_gen_toks", 256)), stop=until,
        temperature=float(gen_kwargs.get("temperature", 1.0)) if sample else 0.0,
        top_p=float(gen_kwargs.get("top_p", 1.0)) if sample else 1.0,
    )


def hf_model(model: str, *, batch_size: int = 32, **options: Any) -> Any:
    """lm-eval's own ``HFLM`` on a local folder, CPU float32. Its GGUF file is found as mixlab finds it, and a
    LoRA adapter folder is loaded on its base (``adapter_base``: a GGUF base included) with its own tokenizer."""
    _offline()
    from lm_eval.models.huggingface import HFLM

    from mixlab.eval.backends.hf_loading import _has_tokenizer, adapter_base, gguf_location

    gguf_file = options.pop("gguf_file", None)
    adapter = Path(model) if (Path(model) / "adapter_config.json").is_file() else None
    folder, gguf = adapter_base(adapter, gguf_file) if adapter else gguf_location(model, gguf_file)
    path = Path(folder)
    kwargs: dict[str, Any] = {"pretrained": str(path), "batch_size": batch_size, "device": options.pop("device", "cpu"),
                              "dtype": options.pop("dtype", "float32"), **options}
    if gguf:
        kwargs["gguf_file"] = gguf
        if _has_tokenizer(path):
            kwargs["tokenizer"] = str(path)
    if adapter is not None:
        kwargs["peft"] = str(adapter)
        if _has_tokenizer(adapter):  # training saves the tokenizer (and the template it used) with the adapter
            kwargs["tokenizer"] = str(adapter)
    return HFLM(**kwargs)


def run_lm_eval(
    model: str | LM,
    tasks: Sequence[str],
    *,
    out_dir: str | Path | None = None,
    via: str = "mixlab",
    **options: Any,
) -> list[dict[str, Any]]:
    """Run lm-eval ``tasks``; return tidy score rows (and write ``results.json``, ``scores.csv``, samples).

    ``options`` are those of ``lm_eval_results`` (``include``, ``data_dir``, ``limit``, ``samples``,
    ``num_fewshot``, ``backend``, ``model_options``).
    """
    results, name = lm_eval_results(model, tasks, via=via, **options)
    rows = lm_eval_rows(results, model=name, via=via)
    if out_dir is not None:
        _write_results(Path(out_dir), results, rows)
    return rows


def lm_eval_results(
    model: str | LM | Any,
    tasks: Sequence[str],
    *,
    via: str = "mixlab",
    include: Sequence[str | Path] = (),
    data_dir: str | Path | None = None,
    limit: int | None = None,
    samples: dict[str, list[int]] | None = None,
    num_fewshot: int | None = None,
    backend: str = "transformers",
    model_options: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """lm-eval's raw ``results`` dict (samples included) and the model's name.

    ``model`` is a mixlab ``LM`` object, a model path, or an already built lm-eval model (an ``HFLM`` from
    ``hf_model``, to reuse it); with a path, ``via="mixlab"`` loads it with a mixlab ``backend`` and
    ``model_options``, ``via="hf"`` with lm-eval's ``HFLM``. ``samples`` picks documents by index per task
    (lm-eval's option).
    """
    if via not in ("mixlab", "hf"):
        raise MixlabError(f"via: {via!r} is not one of mixlab, hf")
    _offline()
    evaluator = require("lm_eval", extra="dev", purpose="the lm-evaluation-harness bridge")
    from lm_eval.tasks import TaskManager

    opts = dict(model_options or {})
    if hasattr(model, "loglikelihood_rolling"):  # already an lm-eval model
        lm_obj, name = model, str(getattr(model, "pretrained", type(model).__name__))
    elif not isinstance(model, str):
        lm_obj, name = adapter_class()(model), str(model.identity().get("model"))
    elif via == "hf":
        lm_obj, name = hf_model(model, batch_size=int(opts.pop("batch_size", 32)), **opts), model
    else:
        from mixlab.eval.backends import load_lm

        lm_obj, name = adapter_class()(load_lm(model, backend=backend, **opts)), model
    with tempfile.TemporaryDirectory(prefix="mixlab-lm-eval-") as tmp:
        task_dir = write_task_dir(tmp, tasks, data_dir, include)
        manager = TaskManager(include_path=str(task_dir), include_defaults=False)
        unknown = [t for t in tasks if t not in manager.all_tasks]
        if unknown:
            raise MixlabError(f"lm-eval tasks not found: {', '.join(unknown)}; built in: {', '.join(BUILTIN_TASKS)}"
                              " (more with --include DIR)")
        results = evaluator.simple_evaluate(
            model=lm_obj, tasks=list(tasks), task_manager=manager, limit=limit, samples=samples,
            num_fewshot=num_fewshot, log_samples=True, bootstrap_iters=1000, batch_size=opts.get("batch_size"),
        )
    return results, name


def lm_eval_rows(results: dict[str, Any], *, model: str, via: str) -> list[dict[str, Any]]:
    """lm-eval's ``results`` as mixlab's tidy score rows (metric ``acc,none`` -> ``acc``).

    The headline (``primary``) is ``acc_norm`` when the task has it, else ``acc``, else its first metric.
    """
    rows = []
    for task, metrics in results["results"].items():
        n = int(results.get("n-samples", {}).get(task, {}).get("effective", 0))
        task_rows = []
        for key, value in metrics.items():
            metric, _, flt = key.partition(",")
            if metric.endswith("_stderr") or not isinstance(value, (int, float)) or "," not in key:
                continue
            stderr = metrics.get(f"{metric}_stderr,{flt}")
            task_rows.append({
                "model": model, "instruction_type": "nlp", "ability": "lm_eval", "task": task,
                "metric": metric if flt in ("none", "") else f"{metric}_{flt}", "value": float(value),
                "stderr": float(stderr) if isinstance(stderr, (int, float)) else float("nan"), "n_items": n,
                "primary": False, "chance": None, "template": f"lm-eval via {via}",
            })
        names = [r["metric"] for r in task_rows]
        headline = next((m for m in ("acc_norm", "acc") if m in names), names[0] if names else None)
        for r in task_rows:
            r["primary"] = r["metric"] == headline
        rows.extend(task_rows)
    return rows


def _write_results(out: Path, results: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    from mixlab.artifacts import atomic_write_json, atomic_write_jsonl, atomic_write_text
    from mixlab.eval.run import SCORE_COLUMNS, rows_to_csv

    for task, samples in (results.get("samples") or {}).items():
        atomic_write_jsonl(out / "samples" / f"{task}.jsonl", samples)
    slim = {k: v for k, v in results.items() if k != "samples"}
    atomic_write_json(out / "results.json", slim)
    atomic_write_jsonl(out / "scores.jsonl", rows)
    atomic_write_text(out / "scores.csv", rows_to_csv(rows, SCORE_COLUMNS))


def sample_predictions(results: dict[str, Any], task: str) -> dict[int, int]:
    """Per document index, the choice lm-eval picked by raw log-likelihood (for item-by-item comparison)."""
    picks = {}
    for s in results["samples"][task]:
        lls = [float(r[0]) for r in s["filtered_resps"]]
        picks[int(s["doc_id"])] = max(range(len(lls)), key=lambda i: (lls[i], -i))
    return picks
