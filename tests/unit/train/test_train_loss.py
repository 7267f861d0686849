"""Loss semantics: packing, padding and micro-batching never change what is learned."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mixlab.data.example import Example, Message
from mixlab.data.tokenize import encode_examples
from mixlab.train.batch_plan import pack_rows
from mixlab.train.collate import collate
from mixlab.train.loop import TokenLoss, run_step, supports_keep_mask

WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu']


def examples(n: int = 10) -> list[Example]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        q = " ".join(rng.choice(WORDS, size=rng.integers(2, 10)))
        a = " ".join(rng.choice(WORDS, size=rng.integers(1, 25)))
        src = "s0" if i % 3 else "s1"
        if i % 4 == 0:  # multi-turn: every assistant turn trains
            out.append(Example(f"m{i}", src, (Message("user", q), Message("assistant", a[:9] or "ok"),
                                              Message("user", "again"), Message("assistant", a))))
        else:
            out.append(Example.from_pair(f"e{i}", src, f"Repeat: {q}", a))
    return out


@pytest.fixture(scope="module")
def setup(micro_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(micro_model_dir)
    model = AutoModelForCausalLM.from_pretrained(micro_model_dir, attn_implementation="sdpa")
    enc = encode_examples(examples(), tok, max_length=128)
    return tok, model, enc, {"s0": 0, "s1": 1}


def loss_and_grad(module: TokenLoss, mb) -> tuple[float, int, torch.Tensor]:
    module.zero_grad()
    losses = module(mb.input_ids, mb.position_ids, mb.keep, mb.targets)
    losses.sum().backward()
    grad = module.model.model.layers[0].self_attn.q_proj.weight.grad.clone()
    return float(losses.detach().sum()), losses.numel(), grad


def one_by_one(module, enc, index, pad_id):
    total, n, grad = 0.0, 0, None
    for i in range(len(enc)):
        s, k, g = loss_and_grad(module, collate(enc, [(i,)], index, pad_id=pad_id, packing=False))
        total, n = total + s, n + k
        grad = g if grad is None else grad + g
    return total / n, n, grad / n


def test_packed_loss_equals_the_per_token_mean_of_examples_run_one_by_one(setup):
    tok, model, enc, index = setup
    module = TokenLoss(model)
    ref, n, ref_grad = one_by_one(module, enc, index, tok.pad_token_id)
    rows = pack_rows([len(e) for e in enc], 128, list(range(len(enc))))
    assert any(len(r) > 2 for r in rows)  # several examples share a row
    mb = collate(enc, rows, index, pad_id=tok.pad_token_id, packing=True)
    s, k, grad = loss_and_grad(module, mb)
    assert k == n
    assert abs(s / k - ref) < 1e-5
    assert torch.allclose(grad / k, ref_grad, atol=1e-6, rtol=1e-4)


def test_packing_without_position_reset_would_leak_across_examples(setup):
    # The control: the same packed rows with positions running on let examples attend to each other, and the
    # loss moves. If this ever passes, the test above could not fail.
    tok, model, enc, index = setup
    module = TokenLoss(model)
    ref, _, _ = one_by_one(module, enc, index, tok.pad_token_id)
    rows = pack_rows([len(e) for e in enc], 128, list(range(len(enc))))
    mb = collate(enc, rows, index, pad_id=tok.pad_token_id, packing=True)
    leaky = module(mb.input_ids, None, mb.keep, mb.targets)
    # a random-init model is nearly uniform, so the leak is small, but 10x above the tolerance used above
    assert abs(float(leaky.detach().mean()) - ref) > 1e-4


def test_padded_batches_equal_one_by_one_and_padding_carries_no_loss(setup):
    tok, model, enc, index = setup
    module = TokenLoss(model)
    ref, n, _ = one_by_one(module, enc, index, tok.pad_token_id)
    mb = collate(enc, [(i,) for i in range(len(enc))], index, pad_id=tok.pad_token_id, packing=False)
    assert mb.input_ids.shape[1] == max(len(e) for e in enc)  # really padded
    losses = module(mb.input_ids, mb.position_ids, mb.keep, mb.targets)
    assert losses.numel() == n == sum(int((e.labels[1:] != -100).sum()) for e in enc)
    assert abs(float(losses.detach().mean()) - ref) < 1e-5


def test_logits_only_on_trainable_positions_match_full_logits(setup):
    tok, model, enc, index = setup
    assert supports_keep_mask(model, torch.device("cpu"))
    mb = collate(enc, [(0,), (1,)], index, pad_id=tok.pad_token_id, packing=False)
    fast = TokenLoss(model, select_in_model=True)(mb.input_ids, None, mb.keep, mb.targets)
    full = TokenLoss(model, select_in_model=False)(mb.input_ids, None, mb.keep, mb.targets)
    assert torch.allclose(fast, full, atol=1e-6)


def _step_grads(model_dir, enc, index, pad_id, micro: int) -> torch.Tensor:
    from accelerate import Accelerator
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    seqs = [(i,) for i in range(8)]
    chunks = [seqs[k : k + micro] for k in range(0, 8, micro)]
    acc = Accelerator(cpu=True, gradient_accumulation_steps=len(chunks))
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    module, opt = acc.prepare(TokenLoss(model), opt)
    batches = [collate(enc, c, index, pad_id=pad_id, packing=False) for c in chunks]
    step_tokens = sum(b.n_targets for b in batches)
    before = [p.detach().clone() for p in model.parameters()]
    run_step(accelerator=acc, module=module, optimizer=opt, params=list(model.parameters()), batches=batches,
             step_tokens=step_tokens, lr=1.0, max_grad_norm=None, on_losses=lambda losses, src: None)
    return torch.cat([(b - p.detach()).flatten() for b, p in zip(before, model.parameters(), strict=True)])


def test_gradient_accumulation_gives_the_per_token_mean_not_a_mean_of_batch_means(setup, micro_model_dir):
    tok, _, enc, index = setup
    whole = _step_grads(micro_model_dir, enc, index, tok.pad_token_id, micro=8)
    split = _step_grads(micro_model_dir, enc, index, tok.pad_token_id, micro=1)
    assert torch.allclose(whole, split, atol=1e-6)
    assert whole.abs().max() > 1e-4  # the step moved the weights
