"""Loading with the transformers backend: options validated at the door, templates recorded, LoRA
adapters, hub ids through the offline cache, GGUF file discovery."""

from __future__ import annotations

import shutil

import pytest
import torch

from mixlab.data.example import Message
from mixlab.errors import MixlabError, SpecError
from mixlab.eval.backends import load_lm
from mixlab.eval.backends.hf import TransformersOptions
from mixlab.eval.backends.templates import NAMED_TEMPLATES, resolve_template
from mixlab.eval.lm import LoglikelihoodRequest as LR

CHAT = (Message("user", "Name a colour."),)


def test_options_report_every_problem_at_once():
    with pytest.raises(SpecError) as err:
        TransformersOptions.from_kwargs(dtype="float8", batch_size=0, max_length=1, gguf_file="model.bin")
    assert len(err.value.problems) == 4
    assert "dtype: 'float8' is not one of auto, float32, bfloat16, float16" in str(err.value)
    with pytest.raises(SpecError, match=r"batchsize: unknown option \(did you mean 'batch_size'\?\); valid options: .*batch_size"):
        TransformersOptions.from_kwargs(batchsize=4)


def test_templates_resolve_and_are_named_in_the_identity(tiny_dir, tiny_lm, tmp_path):
    assert tiny_lm.identity()["template"].startswith("tokenizer:sha:")
    none = load_lm(str(tiny_dir), chat_template="none", progress=False)
    assert none.identity()["template"] == "none"
    assert none.encoder.prompt(CHAT) == none.tokenizer.encode("Name a colour.\n\n")
    zephyr = load_lm(str(tiny_dir), chat_template="zephyr", progress=False)
    assert zephyr.identity()["template"].startswith("zephyr:sha:")
    jinja = tmp_path / "mine.jinja"
    jinja.write_text(NAMED_TEMPLATES["alpaca"])
    from_file = load_lm(str(tiny_dir), chat_template=str(jinja), progress=False)
    assert from_file.identity()["template"].startswith("file:mine.jinja:sha:")
    assert from_file.tokenizer.decode(from_file.encoder.prompt(CHAT)) == "### Instruction:\nName a colour.\n\n### Response:\n"
    with pytest.raises(MixlabError, match="unknown value 'chatmlx'; valid values: auto, tokenizer, none, chatml"):
        resolve_template("chatmlx", tiny_lm.tokenizer)
    with pytest.raises(MixlabError, match="has no chat template"):
        resolve_template("tokenizer", type("T", (), {"chat_template": None})())


def test_a_rendered_conversation_gets_no_second_bos(tiny_lm):
    ids = tiny_lm.encoder.prompt(CHAT)
    bos = tiny_lm.tokenizer.bos_token_id
    assert ids[0] == bos and ids[1] != bos and ids.count(bos) == 2  # user turn + assistant generation prompt
    assert tiny_lm.tokenizer.decode(ids) == "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n"


def test_lora_adapter_on_its_base_changes_scores_like_peft_does(tiny_dir, tiny_lm, lora_dir):
    import peft
    from transformers import AutoModelForCausalLM

    req = [LR("The sky is", " blue today")]
    with_adapter = load_lm(str(tiny_dir), adapter=str(lora_dir), progress=False)
    auto = load_lm(str(lora_dir), progress=False)  # an adapter folder alone: its base is found
    unmerged = load_lm(str(tiny_dir), adapter=str(lora_dir), merge_adapter=False, progress=False)
    ref_model = peft.PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_dir), lora_dir).eval()
    ctx, cont = tiny_lm.encoder.pair(req[0].context, req[0].continuation)
    with torch.no_grad():
        logp = ref_model(torch.tensor([ctx + cont])).logits[0].log_softmax(-1)
    want = sum(logp[len(ctx) - 1 + j, t].item() for j, t in enumerate(cont))
    got = [lm.loglikelihood(req)[0].logprob for lm in (with_adapter, auto, unmerged)]
    assert got == pytest.approx([want] * 3, abs=1e-4)
    assert abs(tiny_lm.loglikelihood(req)[0].logprob - want) > 1e-2
    ident = with_adapter.identity()
    assert ident["adapter"] == str(lora_dir) and len(ident["adapter_weights"]) == 16
    assert ident["weights"] == tiny_lm.identity()["weights"]


def test_hub_id_resolves_through_the_offline_cache(tiny_dir, tmp_path, monkeypatch):
    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--mixlab-test--tiny"
    shutil.copytree(tiny_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    lm = load_lm("mixlab-test/tiny", progress=False)
    ident = lm.identity()
    assert ident["model"] == "mixlab-test/tiny" and ident["revision"] == commit
    assert lm.loglikelihood([LR("a", " b")])[0].logprob == pytest.approx(
        load_lm(str(tiny_dir), progress=False).loglikelihood([LR("a", " b")])[0].logprob, abs=1e-6)
    with pytest.raises(MixlabError, match="not found in the local hub cache"):
        load_lm("mixlab-test/absent", progress=False)


def test_folder_errors_are_clear(tmp_path):
    with pytest.raises(MixlabError, match="model folder not found"):
        load_lm(str(tmp_path / "nope"), progress=False)
    (tmp_path / "a.gguf").write_bytes(b"")
    (tmp_path / "b.gguf").write_bytes(b"")
    with pytest.raises(MixlabError, match=r"several \.gguf files \(a\.gguf, b\.gguf\); pass gguf_file="):
        load_lm(str(tmp_path), progress=False)


def test_gguf_only_folders_and_gguf_paths_locate_their_file(tmp_path):
    from mixlab.eval.backends.hf_loading import gguf_location

    only = tmp_path / "only"
    only.mkdir()
    (only / "m.Q4.gguf").write_bytes(b"")
    assert gguf_location(str(only)) == (str(only), "m.Q4.gguf")
    assert gguf_location(str(only / "m.Q4.gguf")) == (str(only), "m.Q4.gguf")
    assert gguf_location(str(only), "other.gguf") == (str(only), "other.gguf")  # a named file wins
    (only / "model.safetensors").write_bytes(b"")
    assert gguf_location(str(only)) == (str(only), None)
    assert gguf_location("org/hub-id") == ("org/hub-id", None)


def test_an_adapter_on_a_gguf_base_finds_its_gguf_file(tmp_path, monkeypatch):
    """A LoRA adapter's config names only its base folder; on a GGUF base that folder has no safetensors."""
    import json

    from mixlab.eval.backends.hf_loading import adapter_base

    base = tmp_path / "base"
    base.mkdir()
    (base / "m.Q4.gguf").write_bytes(b"")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(base)}))
    assert adapter_base(adapter) == (str(base), "m.Q4.gguf")  # the folder's single .gguf, as for a model
    (base / "m.Q8.gguf").write_bytes(b"")
    with pytest.raises(MixlabError, match=r"several \.gguf files"):
        adapter_base(adapter)
    # what mixlab's training records beside the adapter says which file, and where the base is
    record = {"base": {"name_or_path": "base", "path": str(base), "gguf_file": "m.Q8.gguf"}}
    (adapter / "mixlab_train.json").write_text(json.dumps(record))
    assert adapter_base(adapter) == (str(base), "m.Q8.gguf")
    assert adapter_base(adapter, "m.Q4.gguf") == (str(base), "m.Q4.gguf")  # a named file wins
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "base"}))
    monkeypatch.chdir(adapter)  # trained with a relative path, evaluated from another folder
    assert adapter_base(adapter) == (str(base), "m.Q8.gguf")
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/other"}))
    assert adapter_base(adapter) == ("org/other", None)  # another base: the record does not apply


def test_unknown_backend_suggests_the_right_name():
    with pytest.raises(MixlabError, match="did you mean 'transformers'"):
        load_lm("x", backend="transformer")
