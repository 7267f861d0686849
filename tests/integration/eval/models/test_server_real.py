"""The OpenAI-compatible backend against a real server on loopback: ``transformers serve``, started and
stopped by the test, serving the shared SmolLM2.

The server (and why it serves a dequantized copy of the GGUF weights) is ``tests/serving.py``.
"""

from __future__ import annotations

import json

import pytest

from mixlab.data.example import Message
from mixlab.errors import MixlabError
from mixlab.eval.backends import load_lm
from mixlab.eval.lm import GenerationRequest as GR
from mixlab.eval.lm import LoglikelihoodRequest as LR
from serving import serve_smollm2

pytestmark = pytest.mark.integration

SECRET = "sk-mixlab-integration-secret-4242"


@pytest.fixture(scope="module")
def served(smollm2_lm, smollm2_dir, tmp_path_factory):
    with serve_smollm2(smollm2_lm, smollm2_dir, tmp_path_factory) as server:
        yield server


def _server_lm(served, **opts):
    return load_lm(served["model"], backend="openai", base_url=served["url"], timeout=300, max_concurrency=1, **opts)


def test_chat_endpoint_gives_the_same_greedy_answer_as_the_local_backend(served, smollm2_lm):
    question = (Message("user", "What is the capital of France?"),)
    remote = _server_lm(served).generate([GR(question, max_new_tokens=30)])[0][0]
    local = smollm2_lm.generate([GR(question, max_new_tokens=30)])[0][0]
    assert remote == local == "The capital of France is Paris."


def test_completions_endpoint_continues_raw_text_with_stop_strings(served, smollm2_lm):
    req = GR("The three primary colors are", max_new_tokens=16, stop=(".",))
    remote = _server_lm(served).generate([req])[0][0]
    assert remote == smollm2_lm.generate([req])[0][0] and "." not in remote and remote


def test_loglikelihood_through_a_server_without_echo_logprobs_is_refused(served):
    with pytest.raises(MixlabError, match="does not return prompt log-probabilities"):
        _server_lm(served).loglikelihood([LR("The capital of France is", " Paris")])


def test_the_key_reaches_no_output_file(served, shared_data, tmp_path, monkeypatch):
    from mixlab.cli import main

    monkeypatch.setenv("MIXLAB_IT_KEY", SECRET)
    out = tmp_path / "run"
    assert main(["eval", "--backend", "openai", "--model", served["model"], "--model-arg", f"base_url={served['url']}",
                 "--model-arg", "api_key_env=MIXLAB_IT_KEY", "--model-arg", "timeout=300", "--suite", "gsm8k",
                 "--limit", "2", "--suite-arg", "max_new_tokens=24", "--shots", "0",
                 "--data-dir", str(shared_data), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["backend"] == "openai" and summary["tasks"]["gsm8k"]["config"]["chat"] is True
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files and all(SECRET.encode() not in p.read_bytes() for p in files)
