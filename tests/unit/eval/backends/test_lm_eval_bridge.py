"""The lm-evaluation-harness bridge, offline: built-in and shipped local tasks, both model routes, and
item-by-item agreement with mixlab's native multiple-choice runner (tiny model; SmolLM2 in integration)."""

from __future__ import annotations

import pytest

from mixlab.errors import MixlabError
from mixlab.eval.lm_eval_bridge import hf_model, lm_eval_results, run_lm_eval, sample_predictions
from mixlab.eval.tasks.arc import arc_task
from mixlab.eval.tasks.sampling import select_items

pytest.importorskip("lm_eval")


def _native(lm, data_dir, n, prompt_format="cloze"):
    task = arc_task("arc_easy", data_dir=data_dir, prompt_format=prompt_format)
    indices = select_items(list(range(len(task.items))), n, seed=0)
    task.items = [task.items[i] for i in indices]
    result = task.evaluate(lm)
    return indices, {i: it["pred"] for i, it in zip(indices, result.items, strict=True)}, result


def test_builtin_task_agrees_with_the_native_runner_on_every_item(tiny_lm, tiny_dir, shared_data):
    indices, ours, native = _native(tiny_lm, shared_data, 24)
    samples = {"arc_easy_local": indices}
    via_mixlab, _ = lm_eval_results(tiny_lm, ["arc_easy_local"], data_dir=shared_data, samples=samples)
    via_hf, _ = lm_eval_results(hf_model(str(tiny_dir), batch_size=8), ["arc_easy_local"], via="hf",
                                data_dir=shared_data, samples=samples)
    assert sample_predictions(via_mixlab, "arc_easy_local") == ours == sample_predictions(via_hf, "arc_easy_local")
    assert via_hf["results"]["arc_easy_local"]["acc_norm,none"] == pytest.approx(native.metrics["acc_norm"].value)


def test_lm_evals_own_model_loads_an_adapter_folder_on_its_base(lora_dir, shared_data):
    from mixlab.eval.backends import load_lm

    ours = load_lm(str(lora_dir), progress=False)  # merged into its base
    indices, preds, _ = _native(ours, shared_data, 12)
    theirs = hf_model(str(lora_dir), batch_size=8)
    assert type(theirs.model).__name__ == "PeftModel"
    via_hf, _ = lm_eval_results(theirs, ["arc_easy_local"], via="hf", data_dir=shared_data,
                                samples={"arc_easy_local": indices})
    assert sample_predictions(via_hf, "arc_easy_local") == preds


def test_shipped_letter_config_matches_the_native_letter_format(tiny_lm, shared_data, repo_root):
    indices, ours, _ = _native(tiny_lm, shared_data, 16, prompt_format="letter")
    results, _ = lm_eval_results(tiny_lm, ["arc_easy_letter_local"], data_dir=shared_data,
                                 include=[repo_root / "configs" / "lm_eval"], samples={"arc_easy_letter_local": indices})
    assert sample_predictions(results, "arc_easy_letter_local") == ours
    first = results["samples"]["arc_easy_letter_local"][0]
    args = str(first["arguments"])
    assert "\\nA. " in args and "Answer:', ' A'" in args  # options listed, the letter scored


def test_rows_and_files_in_the_tidy_shape(tiny_dir, shared_data, tmp_path):
    rows = run_lm_eval(str(tiny_dir), ["arc_easy_local"], data_dir=shared_data, limit=5, out_dir=tmp_path,
                       model_options={"progress": False})
    assert {r["metric"] for r in rows} == {"acc", "acc_norm"} and all(r["n_items"] == 5 for r in rows)
    assert [r["metric"] for r in rows if r["primary"]] == ["acc_norm"]
    assert (tmp_path / "results.json").exists() and (tmp_path / "samples" / "arc_easy_local.jsonl").exists()
    assert (tmp_path / "scores.csv").read_text().startswith("model,instruction_type,ability,task,metric")


def test_unknown_task_names_the_builtins(tiny_lm, shared_data):
    with pytest.raises(MixlabError, match="lm-eval tasks not found: arc_esy_local; built in: arc_easy_local"):
        lm_eval_results(tiny_lm, ["arc_esy_local"], data_dir=shared_data)
