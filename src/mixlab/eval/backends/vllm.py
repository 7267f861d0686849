"""The vLLM backend (GPU): the same models, prompts and templates as the transformers backend, served by
vLLM's offline engine. An optional extra: ``pip install 'mixlab[vllm]'``; imported only when used.

>>> lm = load_vllm_lm("path/to/model", chat_template="auto", gpu_memory_utilization=0.8)  # doctest: +SKIP

- Prompts are tokenized by mixlab (``backends.tokens.PromptEncoder``) and given to vLLM as token ids, so a
  conversation renders and tokenizes exactly as with the transformers backend (one BOS, the same template).
- Log-likelihood: ``prompt_logprobs`` over context + continuation; a token is greedy when its rank is 1.
- Generation: ``SamplingParams`` with ``n``, temperature, top-p, the stop strings and the request's seed.
- A LoRA adapter is applied per request (``enable_lora``), not merged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixlab.errors import MixlabError, SpecError, require
from mixlab.eval.backends import options_from_kwargs
from mixlab.eval.backends.identity import weights_fingerprint
from mixlab.eval.backends.templates import resolve_template
from mixlab.eval.backends.tokens import PromptEncoder
from mixlab.eval.lm import GenerationRequest, LoglikelihoodRequest, LoglikelihoodResult, cut_at_stop


@dataclass(frozen=True)
class VLLMOptions:
    """Options of the ``vllm`` backend."""

    chat_template: str = "auto"
    #: ``auto`` (vLLM's choice from the checkpoint), ``bfloat16``, ``float16``, ``float32``
    dtype: str = "auto"
    gpu_memory_utilization: float = 0.85
    #: context length; default: the model's
    max_model_len: int | None = None
    tensor_parallel_size: int = 1
    #: a LoRA adapter folder applied to every request
    adapter: str | None = None
    max_lora_rank: int = 64
    #: GGUF weights file in the model folder
    gguf_file: str | None = None
    add_bos: bool | None = None
    seed: int = 0
    trust_remote_code: bool = False

    @classmethod
    def from_kwargs(cls, **options: Any) -> VLLMOptions:
        opts = options_from_kwargs(cls, "vllm backend options", options)
        if not 0 < opts.gpu_memory_utilization <= 1:
            raise SpecError("vllm backend options", [f"gpu_memory_utilization: {opts.gpu_memory_utilization} "
                                                     "must be in (0, 1]"])
        return opts


class VLLMLM:
    """An ``LM`` over a ``vllm.LLM`` engine (build it with ``load_vllm_lm``)."""

    def __init__(self, engine: Any, options: VLLMOptions, identity: dict[str, Any], lora: Any = None):
        self.engine = engine
        self.options = options
        self.tokenizer = engine.get_tokenizer()
        self.template = resolve_template(options.chat_template, self.tokenizer)
        self.encoder = PromptEncoder(self.tokenizer, self.template, options.add_bos)
        self.lora = lora
        self.counts: Counter[str] = Counter()
        self._identity = {**identity, "template": self.template.id, "template_name": self.template.name}

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        vllm = require("vllm", extra="vllm", purpose="the vllm backend")
        pairs = [self.encoder.pair(r.context, r.continuation) for r in requests]
        params = vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1)
        prompts = [{"prompt_token_ids": ctx + cont} for ctx, cont in pairs]
        outputs = self.engine.generate(prompts, params, lora_request=self.lora, use_tqdm=False)
        results = []
        for (ctx, cont), out in zip(pairs, outputs, strict=True):
            total, greedy = 0.0, True
            for j, tok in enumerate(cont):
                entry = out.prompt_logprobs[len(ctx) + j][tok]
                total += float(entry.logprob)
                greedy = greedy and entry.rank == 1
            results.append(LoglikelihoodResult(total, greedy, len(cont)))
        return results

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[str]]:
        vllm = require("vllm", extra="vllm", purpose="the vllm backend")
        prompts = [{"prompt_token_ids": self.encoder.prompt(r.prompt)} for r in requests]
        params = [vllm.SamplingParams(n=r.n, temperature=r.temperature, top_p=r.top_p, max_tokens=r.max_new_tokens,
                                      stop=list(r.stop) or None, seed=r.seed) for r in requests]
        outputs = self.engine.generate(prompts, params, lora_request=self.lora, use_tqdm=False)
        return [[cut_at_stop(c.text, r.stop) for c in out.outputs] for r, out in zip(requests, outputs, strict=True)]


def load_vllm_lm(model: str, **options: Any) -> VLLMLM:
    """Load ``model`` (a folder, hub id or GGUF) in a vLLM engine; fails clearly without vLLM or a GPU."""
    opts = VLLMOptions.from_kwargs(**options)
    vllm = require("vllm", extra="vllm", purpose="the vllm backend")
    import torch

    if not torch.cuda.is_available():
        raise MixlabError("the vllm backend needs a CUDA GPU; on CPU use backend='transformers'")
    path = Path(model)
    source = str(path / opts.gguf_file) if opts.gguf_file else model
    kwargs: dict[str, Any] = {"model": source, "dtype": opts.dtype, "seed": opts.seed,
                              "gpu_memory_utilization": opts.gpu_memory_utilization,
                              "tensor_parallel_size": opts.tensor_parallel_size,
                              "trust_remote_code": opts.trust_remote_code}
    if opts.gguf_file:
        kwargs["tokenizer"] = model
    if opts.max_model_len:
        kwargs["max_model_len"] = opts.max_model_len
    lora = None
    if opts.adapter:
        from vllm.lora.request import LoRARequest

        kwargs.update(enable_lora=True, max_lora_rank=opts.max_lora_rank)
        lora = LoRARequest("adapter", 1, opts.adapter)
    engine = vllm.LLM(**kwargs)
    identity: dict[str, Any] = {"backend": "vllm", "model": model, "gguf_file": opts.gguf_file, "dtype": opts.dtype,
                                "weights": weights_fingerprint(path, opts.gguf_file) if path.is_dir() else None}
    if opts.adapter:
        identity.update(adapter=opts.adapter, adapter_weights=weights_fingerprint(Path(opts.adapter), None))
    return VLLMLM(engine, opts, identity, lora)
