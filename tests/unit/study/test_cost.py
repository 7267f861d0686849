"""The study cost estimate: tokens from each run's rows and budget, FLOPs by recipe, GPU-hours at a stated MFU."""

from __future__ import annotations

import pytest

from mixlab.cli import main
from mixlab.errors import MixlabError
from mixlab.study.cost import (
    GPUS,
    SourceTokens,
    TokenCounts,
    count_source_tokens,
    default_mfu,
    model_parameters,
    run_rows,
    study_cost,
    training_cost,
)
from mixlab.study.spec import StudySpec, expand

TOKENS = TokenCounts("tokenizer", {
    "chat": SourceTokens(available=1000, sampled=100, tokens_per_row=300.0, trainable_per_row=200.0),
    "code": SourceTokens(available=50, sampled=50, tokens_per_row=100.0, trainable_per_row=50.0),
})


def test_epochs_tokens_and_flops_add_up_over_runs():
    runs = [{"chat": 100}, {"code": 50}, {"chat": 100, "code": 50}]
    full = training_cost(TOKENS, runs, {"epochs": 2}, params=1_000_000_000)
    data = 2 * (100 * 300 + 50 * 100)  # each source twice: once alone, once in the pair
    assert full.tokens == 2 * data and full.epochs == 2.0
    assert full.trainable_tokens == 2 * 2 * (100 * 200 + 50 * 50)
    assert full.flops == 6 * 1e9 * full.tokens and full.mfu == 0.4
    assert full.gpu_hours == pytest.approx(full.flops / (989e12 * 0.4) / 3600)
    lora = training_cost(TOKENS, runs, {"epochs": 2, "lora": True}, params=1_000_000_000)
    assert lora.flops == pytest.approx(full.flops * 4 / 6)  # no weight gradients for frozen weights
    ckpt = training_cost(TOKENS, runs, {"epochs": 2, "lora": True, "gradient_checkpointing": True}, params=10**9)
    assert ckpt.flops == pytest.approx(full.flops)  # one more forward: 4 + 2
    a100 = training_cost(TOKENS, runs, {"epochs": 2}, params=10**9, gpu=GPUS["a100"], mfu=0.5)
    assert a100.gpu_hours == pytest.approx(full.flops / (312e12 * 0.5) / 3600)


def test_step_and_token_budgets_convert_to_tokens_processed():
    steps = training_cost(TOKENS, [{"chat": 100}], {"max_steps": 10, "batch_size": 4, "max_length": 512,
                                                    "packing": True}, params=None)
    assert steps.tokens == 10 * 4 * 512 and steps.epochs == pytest.approx(20480 / 30000)
    unpacked = training_cost(TOKENS, [{"chat": 100}], {"max_steps": 10, "batch_size": 4}, params=None)
    assert unpacked.tokens == 10 * 4 * 300
    budget = training_cost(TOKENS, [{"chat": 100}], {"max_tokens": 40_000}, params=None)
    assert budget.trainable_tokens == pytest.approx(40_000) and budget.tokens == pytest.approx(60_000)
    assert budget.flops is None and budget.gpu_hours is None  # no parameter count: no FLOPs, said so


def test_the_assumed_mfu_depends_on_model_size():
    assert default_mfu(135_000_000) == 0.2 and default_mfu(7_000_000_000) == 0.4


def _world_spec(**kw):
    return StudySpec.from_dict({"name": "t", "model": "world", "mixture": {"sources": [
        {"name": "chat", "alias": "A", "world": "chat", "count": 10},
        {"name": "code", "alias": "C", "world": "code", "fraction": 0.5}]}, "design": "subsets", **kw})


def test_run_rows_resolve_every_amount_against_the_source_sizes():
    spec = _world_spec()
    runs = expand(spec)
    both = next(r for r in runs if r.mixture_label == "A+C")
    assert run_rows(both, TOKENS) == {"chat": 10, "code": 25}  # fraction 0.5 of 50 rows
    laddered = next(r for r in expand(_world_spec(volumes=[40])) if r.mixture_label == "C")
    assert run_rows(laddered, TOKENS) == {"code": 40}
    tokens = StudySpec.from_dict({"name": "t", "mixture": {"sources": [
        {"name": "chat", "world": "chat", "tokens": 1000}]}, "design": "single"})
    assert run_rows(expand(tokens)[1], TOKENS) == {"chat": 5}  # 200 trainable tokens per row


def test_without_a_tokenizer_tokens_are_chars_over_four_cut_at_max_length():
    spec = _world_spec(train={"max_length": 16})
    counts = count_source_tokens(spec, sample=20)
    assert counts.method == "chars/4" and set(counts.sources) == {"chat", "code"}
    chat = counts.sources["chat"]
    assert chat.sampled == 20 and 0 < chat.trainable_per_row <= chat.tokens_per_row <= 16


def test_parameters_come_from_the_config_else_the_name(tmp_path):
    from transformers import LlamaConfig

    LlamaConfig(vocab_size=100, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                tie_word_embeddings=True).save_pretrained(tmp_path)  # a config, no weights: nothing is read
    n, source = model_parameters(str(tmp_path), {})
    per_layer = 4 * 16 * 16 + 3 * 16 * 32 + 2 * 16
    assert n == 100 * 16 + 2 * per_layer + 16 and source == "counted from its config"
    n, source = model_parameters("some-org/Llama-2-7b-hf", {})  # not in the offline cache
    assert n == 7_000_000_000 and "name" in source
    assert model_parameters("some-org/Llama-2-7b-hf", {})[0] == model_parameters("x/m-7B", {})[0]
    assert model_parameters("x/SmolLM2-135M-Instruct", {})[0] == 135_000_000
    assert model_parameters("x/unsized", {})[0] is None


def world_spec(tmp_path, sources: list[str], design: str, seeds: str):
    """A world study spec file with these source lines (YAML flow mappings), scored on 7 items per ability."""
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nmodel: world\nmixture:\n  sources:\n" + "".join(f"    - {s}\n" for s in sources)
                    + f"design: {design}\nseeds: {seeds}\neval: {{suites: [world], limit: 7}}\n")
    return path


def test_expand_prints_the_cost_and_says_what_it_could_not_count(tmp_path, capsys):
    path = world_spec(tmp_path, ["{name: chat, alias: A, world: chat, count: 10}",
                                 "{name: code, alias: C, world: code, count: 10}"], "subsets", "[0, 1]")
    assert main(["study", "expand", str(path)]) == 0
    out = capsys.readouterr().out
    assert "7 runs" in out and "cost: 7 runs (6 trained, 1 base model only)" in out
    assert "counted with chars/4 (no tokenizer)" in out and "GPU-hours: unknown (the world's base model" in out
    assert "evaluation: 49 items per run (world 49), 343 in all" in out  # 7 abilities x 7 items
    assert main(["study", "expand", str(path), "--no-cost"]) == 0
    assert "cost:" not in capsys.readouterr().out
    assert main(["study", "expand", str(path), "--mfu", "40"]) != 0
    assert "--mfu: 40.0 must be in (0, 1]" in capsys.readouterr().err
    with pytest.raises(MixlabError, match="gpu: 'v100' is not one of h100, h200, a100"):
        study_cost(StudySpec.from_yaml(path), [], gpu="v100")


def test_expand_without_the_hub_lists_the_runs_and_says_why_there_is_no_cost(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # what a machine without the hub sees, at once
    path = world_spec(tmp_path, ["{name: m, alias: M, hf: mixlab-test/no-such-dataset, count: 10}"], "single", "[0]")
    assert main(["study", "expand", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 runs" in out and "cost: not estimated: a source or the model could not be read here" in out


def test_the_cpu_preset_counts_the_items_of_every_suite_from_one_options_dict(repo_root, shared_data):
    from mixlab.study.cost import eval_items

    spec = StudySpec.from_yaml(repo_root / "configs" / "studies" / "paper1_smollm2_cpu.yaml")
    # one options dict serves five suites: each suite reads its own options, none is refused
    assert eval_items(spec) == {"arc_easy": 20, "mmlu": 40, "humaneval": 20, "mbpp": 20, "ifeval": 20}
