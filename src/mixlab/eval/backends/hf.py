"""The transformers backend: scoring and generation with a causal LM (``TransformersLM``); loading it from a local
folder, a hub id, a GGUF file or a LoRA adapter is ``hf_loading.py``.

>>> lm = load_transformers_lm("path/to/model", chat_template="auto", batch_size=64)  # doctest: +SKIP
>>> lm.generate([GenerationRequest("2+2=", max_new_tokens=4, stop=("\\n",))])  # doctest: +SKIP
[['4']]

How it is fast without being wrong:

- log-likelihood packs every distinct context once with all its continuations as segments
  (``batching.pack_by_context``), puts contexts sharing a long prefix (few-shot examples) in one row with
  the prefix once (``batching.merge_shared_prefixes``), and computes the vocabulary projection only at the positions that predict a
  continuation token, not at every position (for a 49k vocabulary that projection dominates small models);
- generation runs length-sorted batches, left-padded with explicit position ids, a KV cache, greedy or
  seeded sampling per row (a row's output never depends on its batch), drops finished rows from the batch,
  checks stop strings on a short decoded window, and stops as soon as every row is done;
- batch size and padding do not change scores (tested: ``tests/unit/eval/backends``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mixlab.errors import MixlabError, SpecError
from mixlab.eval.backends import options_from_kwargs
from mixlab.eval.backends.batching import (
    StopChecker,
    merge_shared_prefixes,
    pack_by_context,
    pack_rows,
    segment_mask,
    token_budget_batches,
)
from mixlab.eval.backends.progress import progress_bar
from mixlab.eval.backends.templates import TEMPLATE_CHOICES, ChatTemplate, resolve_template
from mixlab.eval.backends.tokens import PromptEncoder
from mixlab.eval.lm import GenerationRequest, LoglikelihoodRequest, LoglikelihoodResult, cut_at_stop

log = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class TransformersOptions:
    """Options of the transformers backend (``load_lm(..., backend="transformers", **options)``)."""

    #: GGUF weights file inside the model folder or hub repository (dequantized on load)
    gguf_file: str | None = None
    #: a LoRA adapter folder to apply on top of the model (a folder holding an adapter is detected too)
    adapter: str | None = None
    #: merge the adapter into the weights after loading (faster inference, same scores)
    merge_adapter: bool = True
    #: hub revision (branch, tag or commit) for hub ids
    revision: str | None = None
    #: weights dtype; ``auto`` = float32 on CPU, bfloat16 on a GPU that supports it
    dtype: str = "auto"
    #: ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:1``, ...
    device: str = "auto"
    #: how conversation prompts are rendered (see ``backends.templates``)
    chat_template: str = "auto"
    #: most sequences per forward pass
    batch_size: int = 128
    #: most padded tokens per forward pass (batch rows x longest row)
    max_batch_tokens: int = 32768
    #: most cells (rows x longest row squared) per forward pass: bounds the attention mask's memory
    max_batch_cells: int = 2**24
    #: contexts sharing at least this many leading tokens (few-shot examples) are scored in one row, the
    #: shared part once; 0 switches this off
    min_shared_prefix: int = 32
    #: longest row such merging may build
    pack_tokens: int = 2048
    #: short contexts are packed together into rows of up to this many tokens, each seeing only itself
    #: (less padding, the same scores); 0 switches this off
    row_tokens: int = 256
    #: longest input in tokens; default: the model's ``max_position_embeddings``
    max_length: int | None = None
    #: add the tokenizer's special tokens (BOS) to raw-text prompts; None = the tokenizer's default
    add_bos: bool | None = None
    trust_remote_code: bool = False
    #: CPU threads during calls (restored after); None = 1 for models under 50M parameters (tiny matrix
    #: products lose more to thread synchronization than they gain, badly so on a busy machine), else torch's
    num_threads: int | None = None
    #: show progress bars on long calls (only on a terminal)
    progress: bool = True

    @classmethod
    def from_kwargs(cls, **options: Any) -> TransformersOptions:
        opts = options_from_kwargs(cls, "transformers backend options", options)
        opts.validate()
        return opts

    def validate(self) -> None:
        problems = []
        if self.dtype not in DTYPES:
            problems.append(f"dtype: {self.dtype!r} is not one of {', '.join(DTYPES)}")
        for name in ("batch_size", "max_batch_tokens", "max_batch_cells", "pack_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                problems.append(f"{name}: {value!r} must be a positive integer")
        if not isinstance(self.row_tokens, int) or self.row_tokens < 0:
            problems.append(f"row_tokens: {self.row_tokens!r} must be an integer >= 0 (0: off)")
        if not isinstance(self.min_shared_prefix, int) or self.min_shared_prefix < 0:
            problems.append(f"min_shared_prefix: {self.min_shared_prefix!r} must be an integer >= 0 (0: off)")
        if self.num_threads is not None and (not isinstance(self.num_threads, int) or self.num_threads < 1):
            problems.append(f"num_threads: {self.num_threads!r} must be a positive integer or None")
        if self.max_length is not None and (not isinstance(self.max_length, int) or self.max_length < 2):
            problems.append(f"max_length: {self.max_length!r} must be an integer >= 2")
        if self.gguf_file is not None and not str(self.gguf_file).endswith(".gguf"):
            problems.append(f"gguf_file: {self.gguf_file!r} must name a .gguf file")
        if not isinstance(self.chat_template, str) or not self.chat_template:
            problems.append(f"chat_template: {self.chat_template!r}; valid: {', '.join(TEMPLATE_CHOICES)}")
        if problems:
            raise SpecError("transformers backend options", problems)


class TransformersLM:
    """An ``LM`` over a loaded transformers causal LM and its tokenizer (build it with ``load_transformers_lm``)."""

    def __init__(self, model: Any, tokenizer: Any, options: TransformersOptions, identity: dict[str, Any]):
        import torch

        self.model = model
        self.tokenizer = tokenizer
        self.options = options
        self.template: ChatTemplate = resolve_template(options.chat_template, tokenizer)
        self.encoder = PromptEncoder(tokenizer, self.template, options.add_bos)
        self.device = next(model.parameters()).device
        config = model.config
        self.max_length = options.max_length or int(getattr(config, "max_position_embeddings", 0) or 2048)
        self.pad_id = _first_int(tokenizer.pad_token_id, tokenizer.eos_token_id, 0)
        self.eos_ids = _eos_ids(tokenizer, model)
        self._identity = {**identity, "template": self.template.id, "template_name": self.template.name,
                          "add_bos": options.add_bos, "max_length": self.max_length,
                          "dtype": str(next(model.parameters()).dtype).replace("torch.", "")}
        #: degradations counted across calls (left-truncated contexts and prompts); tasks report them
        self.counts: Counter[str] = Counter()
        self._torch = torch
        # an unmerged PEFT model wraps the transformers model: score through the wrapped one (LoRA layers included)
        self._core = model.get_base_model() if hasattr(model, "get_base_model") else model
        self._decoder = self._core.base_model if self._core.base_model is not self._core else None
        self._head = self._core.get_output_embeddings()
        self._cache_arg = _cache_keyword(self._core)
        n_params = sum(p.numel() for p in model.parameters())
        self.num_threads = options.num_threads or (1 if n_params < 50_000_000 else None)

    # ----- the LM protocol -------------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        pairs = [self.encoder.pair(r.context, r.continuation) for r in requests]
        with self._threads():
            return self.score_token_pairs(pairs)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[str]]:
        jobs: list[_GenJob] = []
        for i, r in enumerate(requests):
            ids = self.encoder.prompt(r.prompt)
            budget = self.max_length - r.max_new_tokens
            if len(ids) > budget:
                self.counts["truncated_prompts"] += 1
                ids = ids[-max(1, budget):]
            samples = 1 if r.temperature == 0 else r.n
            jobs.extend(_GenJob(i, s, ids, r) for s in range(samples))
        with self._threads():
            texts = self._run_generation(jobs)
        out: list[list[str]] = [[] for _ in requests]
        for job, text in zip(jobs, texts, strict=True):
            out[job.request_index].append(text)
        for i, r in enumerate(requests):
            if r.temperature == 0 and r.n > 1:  # greedy: every sample is the same; decode once
                out[i] = out[i] * r.n
        return out

    @contextmanager
    def _threads(self) -> Iterator[None]:
        """Run with ``num_threads`` CPU threads, then restore the process-wide setting."""
        torch = self._torch
        before = torch.get_num_threads()
        if self.num_threads and self.device.type == "cpu" and self.num_threads != before:
            torch.set_num_threads(self.num_threads)
        try:
            yield
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)

    # ----- log-likelihood --------------------------------------------------------------------------------
    def score_token_pairs(self, pairs: Sequence[tuple[list[int], list[int]]]) -> list[LoglikelihoodResult]:
        """Log-likelihood of each continuation token list after its context token list."""
        torch = self._torch
        results: list[LoglikelihoodResult | None] = [
            LoglikelihoodResult(0.0, True, 0) if not cont else None for _, cont in pairs
        ]
        rows = pack_by_context(pairs, max_tokens=self.max_length)
        self.counts["truncated_contexts"] += sum(1 for r in rows if r.truncated)
        if self.options.min_shared_prefix:
            rows = merge_shared_prefixes(rows, min(self.options.pack_tokens, self.max_length),
                                         self.options.min_shared_prefix)
        if self.options.row_tokens:
            rows = pack_rows(rows, min(self.options.row_tokens, self.max_length))
        batches = token_budget_batches([len(r) for r in rows], self.options.batch_size, self.options.max_batch_tokens,
                                       max_batch_cells=self.options.max_batch_cells)
        with torch.inference_mode(), progress_bar(len(pairs), "log-likelihood", self.options.progress) as bar:
            for batch in batches:
                for index, result in self._score_rows([rows[i] for i in batch]):
                    results[index] = result
                bar.update(sum(len(rows[i].targets) for i in batch))
        return results  # type: ignore[return-value]

    def _score_rows(self, rows: list) -> list[tuple[int, LoglikelihoodResult]]:
        torch = self._torch
        length = max(len(r) for r in rows)
        ids = torch.full((len(rows), length), self.pad_id, dtype=torch.long)
        segs = torch.full((len(rows), length), -1, dtype=torch.long)
        items = torch.full((len(rows), length), -1, dtype=torch.long)
        pos = torch.zeros((len(rows), length), dtype=torch.long)
        flat_b, flat_p, flat_t, owner = [], [], [], []
        for b, row in enumerate(rows):
            n = len(row)
            ids[b, :n] = torch.tensor(row.input_ids)
            segs[b, :n] = torch.tensor(row.segments)
            items[b, :n] = torch.tensor(row.items)
            pos[b, :n] = torch.tensor(row.positions)
            for index, pairs in row.targets:
                for p, t in pairs:
                    flat_b.append(b)
                    flat_p.append(p)
                    flat_t.append(t)
                    owner.append(index)
        mask = _additive(segment_mask(segs, items), self.model.dtype)
        hidden = self._hidden_states(ids.to(self.device), mask.to(self.device), pos.to(self.device))
        picked = hidden[torch.tensor(flat_b), torch.tensor(flat_p)]
        logprobs = self._project(picked).float().log_softmax(-1)
        targets = torch.tensor(flat_t, device=logprobs.device)
        token_lp = logprobs.gather(1, targets[:, None])[:, 0].tolist()
        greedy = (logprobs.argmax(-1) == targets).tolist()
        sums: dict[int, list] = {}
        for index, lp, g in zip(owner, token_lp, greedy, strict=True):
            acc = sums.setdefault(index, [0.0, True, 0])
            acc[0] += lp
            acc[1] = acc[1] and g
            acc[2] += 1
        return [(i, LoglikelihoodResult(float(v[0]), bool(v[1]), int(v[2]))) for i, v in sums.items()]

    def _hidden_states(self, ids: Any, mask: Any, pos: Any) -> Any:
        """Final hidden states of the decoder stack (the vocabulary projection is applied later, sparsely)."""
        if self._decoder is None:
            raise MixlabError(f"{type(self.model).__name__} has no separate decoder; cannot score log-likelihood")
        out = self._decoder(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False)
        return out.last_hidden_state

    def _project(self, hidden: Any) -> Any:
        """The LM head, with the output transforms some architectures add after it."""
        logits = self._head(hidden)
        config = self._core.config
        scale = getattr(config, "logit_scale", None)
        if isinstance(scale, (int, float)):
            logits = logits * scale
        cap = getattr(config, "final_logit_softcapping", None)
        if cap:
            logits = self._torch.tanh(logits / cap) * cap
        return logits

    # ----- generation ------------------------------------------------------------------------------------
    def _run_generation(self, jobs: list[_GenJob]) -> list[str]:
        torch = self._torch
        texts: list[str] = [""] * len(jobs)
        lengths = [len(j.ids) + j.request.max_new_tokens for j in jobs]
        batches = token_budget_batches(lengths, self.options.batch_size, self.options.max_batch_tokens)
        with torch.inference_mode(), progress_bar(len(jobs), "generate", self.options.progress) as bar:
            for batch in batches:
                for k, text in zip(batch, self._generate_batch([jobs[i] for i in batch]), strict=True):
                    texts[k] = text
                bar.update(len(batch))
        return texts

    def _generate_batch(self, jobs: list[_GenJob]) -> list[str]:
        torch = self._torch
        from transformers import DynamicCache

        width = max(len(j.ids) for j in jobs)
        ids = torch.full((len(jobs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(jobs), width), dtype=torch.long)
        for b, job in enumerate(jobs):  # left padding: every prompt ends at the same column
            ids[b, width - len(job.ids):] = torch.tensor(job.ids)
            mask[b, width - len(job.ids):] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.model.config)
        out = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                         position_ids=pos.to(self.device), use_cache=True, logits_to_keep=1,
                         **{self._cache_arg: cache})
        logits = out.logits[:, -1, :]
        next_pos = pos[:, -1] + 1
        mask = mask.to(self.device)
        checkers = [StopChecker(self._decode, j.request.stop) for j in jobs]
        generators = [j.generator(torch) for j in jobs]
        generated: list[list[int]] = [[] for _ in jobs]
        active = list(range(len(jobs)))
        while active:
            tokens = _pick_tokens(torch, logits, [jobs[a] for a in active], [generators[a] for a in active])
            keep = []
            for k, a in enumerate(active):
                tok = tokens[k]
                if tok in self.eos_ids:
                    continue
                generated[a].append(tok)
                if len(generated[a]) < jobs[a].request.max_new_tokens and not checkers[a].hit(generated[a]):
                    keep.append(k)
            if not keep:
                break
            if len(keep) < len(active):  # drop finished rows: later steps cost only what is still running
                index = torch.tensor(keep, device=self.device)
                cache.batch_select_indices(index)
                mask, next_pos = mask[index], next_pos[index.cpu()]
                active = [active[k] for k in keep]
            step_ids = torch.tensor([[generated[a][-1]] for a in active], device=self.device)
            mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
            out = self.model(input_ids=step_ids, attention_mask=mask, position_ids=next_pos[:, None].to(self.device),
                             use_cache=True, **{self._cache_arg: cache})
            logits = out.logits[:, -1, :]
            next_pos = next_pos + 1
        return [cut_at_stop(self._decode(g), j.request.stop) for g, j in zip(generated, jobs, strict=True)]

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


def _cache_keyword(model: Any) -> str:
    """The forward argument that takes the KV cache: ``cache`` (transformers 5.x renamed it; the old
    ``past_key_values`` warns) or ``past_key_values`` (older releases, whose ``**kwargs`` would silently
    swallow an unknown ``cache=`` and generate without one)."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


@dataclass(frozen=True)
class _GenJob:
    request_index: int
    sample_index: int
    ids: list[int]
    request: GenerationRequest

    def generator(self, torch: Any) -> Any:
        """A per-sample random stream: a sample's text never depends on what else is in its batch."""
        if self.request.temperature == 0:
            return None
        g = torch.Generator()
        g.manual_seed((self.request.seed * 1_000_003 + self.sample_index) % (2**63))
        return g


def _pick_tokens(torch: Any, logits: Any, jobs: list[_GenJob], generators: list[Any]) -> list[int]:
    """Greedy argmax, or a seeded sample with temperature and top-p, per row."""
    picked = logits.argmax(-1).tolist()
    for k, job in enumerate(jobs):
        req = job.request
        if req.temperature == 0:
            continue
        probs = (logits[k].float() / req.temperature).softmax(-1).cpu()
        if req.top_p < 1.0:
            sorted_p, order = probs.sort(descending=True)
            outside = sorted_p.cumsum(0) - sorted_p > req.top_p  # keep the smallest set reaching top_p
            sorted_p[outside] = 0.0
            probs = torch.zeros_like(probs).scatter(0, order, sorted_p)
        picked[k] = int(torch.multinomial(probs, 1, generator=generators[k]).item())
    return picked


def _additive(allowed: Any, dtype: Any) -> Any:
    """Boolean mask -> additive float mask (0 where allowed): works for both eager and SDPA attention."""
    import torch

    mask = torch.zeros(allowed.shape, dtype=dtype)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


def _first_int(*values: Any) -> int:
    return next(int(v) for v in values if v is not None)


def _eos_ids(tokenizer: Any, model: Any) -> set[int]:
    ids: set[int] = set()
    for value in (tokenizer.eos_token_id, getattr(getattr(model, "generation_config", None), "eos_token_id", None)):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    return ids
