"""Response-only labels: which tokens carry loss, for every template, with the real SmolLM2 tokenizer."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mixlab.data.example import Example, Message
from mixlab.data.tokenize import (
    IGNORE_INDEX,
    TemplateError,
    encode_example,
    encode_examples,
    template_id,
    tokenizer_fingerprint,
)


def trained_text(tok, enc) -> str:
    return tok.decode([int(t) for t, y in zip(enc.input_ids, enc.labels, strict=True) if y != IGNORE_INDEX])


def prompt_text(tok, enc) -> str:
    return tok.decode([int(t) for t, y in zip(enc.input_ids, enc.labels, strict=True) if y == IGNORE_INDEX])


PAIR = Example.from_pair("e1", "src", "Name a colour.", "Blue is a colour.")
MULTI = Example("m1", "chat", (
    Message("system", "Be brief."), Message("user", "First?"), Message("assistant", "One."),
    Message("user", "Second?"), Message("assistant", "Two."),
))


def test_prompt_tokens_carry_no_loss_and_end_token_does(smol_tok):
    enc = encode_example(PAIR, smol_tok, max_length=128)
    assert trained_text(smol_tok, enc) == "Blue is a colour.<|im_end|>"
    # the system prompt, the user turn and the generation prompt are all outside the loss
    prompt = prompt_text(smol_tok, enc)
    assert prompt.endswith("<|im_start|>assistant\n\n")  # the newline after <|im_end|> is not trained either
    assert "Name a colour." in prompt
    assert enc.n_trainable == int((enc.labels != IGNORE_INDEX).sum()) == 6
    assert not enc.truncated and enc.n_tokens_full == len(enc.input_ids)
    # labels equal the ids where trained
    m = enc.labels != IGNORE_INDEX
    assert np.array_equal(enc.labels[m], enc.input_ids[m])


def test_every_assistant_turn_is_trained_or_only_the_last(smol_tok):
    every = encode_example(MULTI, smol_tok, max_length=256)
    last = encode_example(MULTI, smol_tok, max_length=256, loss_on="last_assistant")
    assert trained_text(smol_tok, every) == "One.<|im_end|>Two.<|im_end|>"
    assert trained_text(smol_tok, last) == "Two.<|im_end|>"
    assert np.array_equal(every.input_ids, last.input_ids)  # same text, different labels


@pytest.mark.parametrize(("template", "text", "trained"), [
    ("none", "Name a colour.\nBlue is a colour.<|im_end|>", "Blue is a colour.<|im_end|>"),
    ("dataset-name", "[src]\nName a colour.\nBlue is a colour.<|im_end|>", "Blue is a colour.<|im_end|>"),
    ("alpaca", "### Instruction:\nName a colour.\n\n### Response:\nBlue is a colour.<|im_end|>\n\n",
     "Blue is a colour.<|im_end|>"),
    ("chatml", "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\nBlue is a colour.<|im_end|>\n",
     "Blue is a colour.<|im_end|>"),
])
def test_template_ablation_layouts(smol_tok, template, text, trained):
    enc = encode_example(PAIR, smol_tok, template=template, max_length=128)
    assert smol_tok.decode(enc.input_ids) == text
    assert trained_text(smol_tok, enc) == trained


def test_dataset_name_uses_the_task_tag_when_present(smol_tok):
    ex = Example.from_pair("e2", "p3", "Is it good?", "yes", meta={"task": "imdb"})
    enc = encode_example(ex, smol_tok, template="dataset-name", max_length=64)
    assert smol_tok.decode(enc.input_ids).startswith("[imdb]\n")


def test_instruction_is_the_chat_template(smol_tok):
    a = encode_example(PAIR, smol_tok, template="instruction", max_length=128)
    b = encode_example(PAIR, smol_tok, template="chat", max_length=128)
    assert np.array_equal(a.input_ids, b.input_ids) and np.array_equal(a.labels, b.labels)
    assert template_id(smol_tok, "instruction") == template_id(smol_tok, "chat")


def test_truncation_is_reported_and_can_leave_nothing_to_train(smol_tok):
    full = encode_example(PAIR, smol_tok, max_length=512)
    cut = encode_example(PAIR, smol_tok, max_length=len(full.input_ids) - 3)
    assert cut.truncated and cut.n_tokens_full == len(full.input_ids)
    assert len(cut.input_ids) == len(full.input_ids) - 3
    assert cut.n_trainable == full.n_trainable - 2  # the last 3 tokens: ".", "<|im_end|>" and an untrained "\n"
    nothing = encode_example(PAIR, smol_tok, max_length=10)  # cut inside the system prompt
    assert nothing.truncated and nothing.n_trainable == 0


def test_batch_encoding_equals_one_by_one(smol_tok):
    exs = [PAIR, MULTI, Example.from_pair("e3", "s", "x" * 40, "y" * 5)]
    batch = encode_examples(exs, smol_tok, max_length=64)
    for ex, b in zip(exs, batch, strict=True):
        one = encode_example(ex, smol_tok, max_length=64)
        assert np.array_equal(one.input_ids, b.input_ids) and np.array_equal(one.labels, b.labels)
        assert (b.source, b.id) == (ex.source, ex.id)


def test_tokenizer_without_chat_template_needs_a_named_one(smol_tok):
    bare = copy.deepcopy(smol_tok)
    bare.chat_template = None
    with pytest.raises(TemplateError, match="has none; name one instead: template='chatml'"):
        encode_example(PAIR, bare)
    assert encode_example(PAIR, bare, template="chatml").n_trainable == 6


def test_generation_tag_templates_and_a_distinct_end_token(smol_tok):
    # A template in the style of the embedded world's: its own end token, {% generation %} tags.
    tok = copy.deepcopy(smol_tok)
    tok.chat_template = (
        "{%- for m in messages -%}{%- if m['role'] == 'assistant' -%}"
        "{{ '<|im_start|>\n' }}{% generation %}{{ m['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
        "{%- else -%}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{%- endif -%}"
        "{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|im_start|>\n' }}{%- endif -%}"
    )
    enc = encode_example(MULTI, tok, max_length=128)
    assert trained_text(tok, enc) == "One.<|im_end|>Two.<|im_end|>"


def test_template_that_rewrites_earlier_turns_is_rejected(smol_tok):
    tok = copy.deepcopy(smol_tok)
    # Drops earlier assistant turns once a later one exists (as some "thinking" templates do).
    tok.chat_template = (
        "{% for m in messages %}{% if m['role'] != 'assistant' or loop.last %}"
        "{{ m['role'] + ': ' + m['content'] + '\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}"
    )
    with pytest.raises(TemplateError, match="not prefix-stable"):
        encode_example(MULTI, tok)


def test_fingerprint_tracks_token_ids_not_names(smol_tok, tmp_path):
    from transformers import AutoTokenizer

    smol_tok.save_pretrained(tmp_path / "copy")
    same = AutoTokenizer.from_pretrained(tmp_path / "copy")
    assert tokenizer_fingerprint(same) == tokenizer_fingerprint(smol_tok)
    grown = copy.deepcopy(smol_tok)
    grown.add_tokens(["<|new_token|>"])
    assert tokenizer_fingerprint(grown) != tokenizer_fingerprint(smol_tok)
    assert len(tokenizer_fingerprint(smol_tok)) == 16


def test_template_ids_name_and_hash_the_template(smol_tok):
    ids = {t: template_id(smol_tok, t) for t in ("chat", "chatml", "alpaca", "none", "dataset-name")}
    assert len(set(ids.values())) == 5
    assert ids["none"] == "none-v1" and ids["chat"].startswith("chat-")
    other = copy.deepcopy(smol_tok)
    other.chat_template = smol_tok.chat_template.replace("SmolLM", "Other")
    assert template_id(other, "chat") != ids["chat"]


def test_unknown_template_and_loss_on_are_errors(smol_tok):
    with pytest.raises(TemplateError, match="valid: chat, instruction"):
        encode_example(PAIR, smol_tok, template="chatt")
    with pytest.raises(TemplateError, match="loss_on"):
        encode_example(PAIR, smol_tok, loss_on="everything")
