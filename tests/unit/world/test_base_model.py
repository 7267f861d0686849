"""The shipped base model: built from this world and the default recipe, loaded without pretraining."""

from __future__ import annotations

import json

from mixlab.world.model import SHIPPED, WorldModelSpec, ensure_base_model, shipped_base


def test_the_shipped_base_belongs_to_this_world_and_recipe():
    """Fails after a change to the world's generator, tokenizer or pretraining: rebuild the shipped base with
    `python -m mixlab.world.model ship` (docs/world.md)."""
    meta = json.loads((SHIPPED / "world_model.json").read_text())
    assert meta["key"] == WorldModelSpec().key(), "rebuild with: python -m mixlab.world.model ship"
    assert meta["spec"] == json.loads(json.dumps(WorldModelSpec().__dict__))
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= {p.name for p in SHIPPED.iterdir()}


def test_the_default_recipe_uses_the_shipped_base_without_pretraining(tmp_path):
    assert ensure_base_model(cache_dir=tmp_path) == SHIPPED
    assert list(tmp_path.iterdir()) == []  # nothing pretrained, nothing cached
    assert shipped_base(WorldModelSpec(pretrain_tokens=1000)) is None  # another recipe is pretrained here


def test_the_shipped_base_loads_and_answers_in_the_chat_format():
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(SHIPPED)
    model = AutoModelForCausalLM.from_pretrained(SHIPPED)
    assert 0.9e6 < sum(p.numel() for p in model.parameters()) < 1.2e6
    assert tok.pad_token_id != tok.eos_token_id and tok.chat_template
    ids = tok("the cat eats", return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.isfinite(model(ids).logits).all()
