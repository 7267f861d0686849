"""Turn an ``Example`` into token ids and labels for response-only training.

A conversation is rendered to text with a *template*, and every token that belongs to an assistant turn is
trained (its label is its own id); every other token (system prompt, user turns, role headers, the generation
prompt) gets the label ``-100`` and carries no loss. The assistant's end token is inside the loss, so the model
learns to stop; text the template writes *after* the end token (usually a newline) is not.

Templates (the FLAN template ablation, plus two named chat formats for tokenizers without one):

- ``chat`` (alias ``instruction``): the tokenizer's own chat template.
- ``chatml``, ``alpaca``: named templates, for base models whose tokenizer has no chat template.
- ``dataset-name``: only a task tag: ``[<task>]``, the user text, the response, EOS.
- ``none``: the user text and the response only, then EOS.

>>> from transformers import AutoTokenizer                                  # doctest: +SKIP
>>> tok = AutoTokenizer.from_pretrained("../shared/data/smollm2_135m_instruct_gguf")  # doctest: +SKIP
>>> ex = Example.from_pair("ex-1", "alpaca", "Say hi.", "Hi!")               # doctest: +SKIP
>>> enc = encode_example(ex, tok, max_length=64)                             # doctest: +SKIP
>>> tok.decode([t for t, y in zip(enc.input_ids, enc.labels) if y != -100])  # doctest: +SKIP
'Hi!<|im_end|>'
>>> enc.n_trainable, enc.truncated                                           # doctest: +SKIP
(3, False)

Spans are found by rendering each conversation prefix with the generation prompt (``P``) and up to the end of
the assistant turn (``T``): the assistant text is ``T[len(P):]``. The full text is tokenized once with
character offsets and a token is trained when it *starts* inside a span. Templates whose earlier text changes
when later turns are added (some "thinking" templates) are rejected with a clear error.
"""

from __future__ import annotations

import contextlib
import hashlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mixlab.data.example import Example, Message
from mixlab.errors import MixlabError

IGNORE_INDEX = -100

#: Bump when the way text and labels are produced changes: it is part of every template id (cache keys).
ENCODING_VERSION = 1

LOSS_ON = ("all_assistant", "last_assistant")

#: ``chat`` and ``instruction`` use the tokenizer's template; the others are defined here.
TEMPLATE_NAMES = ("chat", "instruction", "chatml", "alpaca", "dataset-name", "none")

CHATML_TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# The Stanford Alpaca prompt layout; the end of the response is the tokenizer's EOS.
ALPACA_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ m['content'] + '\n\n' }}"
    "{% elif m['role'] == 'user' %}{{ '### Instruction:\n' + m['content'] + '\n\n' }}"
    "{% if not loop.last or add_generation_prompt %}{{ '### Response:\n' }}{% endif %}"
    "{% else %}{{ m['content'] + eos_token + '\n\n' }}{% endif %}"
    "{% endfor %}"
)

NAMED_TEMPLATES = {"chatml": CHATML_TEMPLATE, "alpaca": ALPACA_TEMPLATE}


class TemplateError(MixlabError):
    """The template cannot be used with this tokenizer or conversation."""


@dataclass(frozen=True, slots=True)
class EncodedExample:
    """One tokenized training example.

    Attributes:
        input_ids: token ids (int32), at most ``max_length`` long.
        labels: same length; the token id where the token carries loss, ``-100`` elsewhere.
        n_trainable: number of labels that are not ``-100``.
        truncated: the rendered conversation was longer than ``max_length`` and was cut at the end.
        n_tokens_full: length before truncation.
        source: the example's source (for per-source telemetry).
        id: the example's id.
    """

    input_ids: np.ndarray
    labels: np.ndarray
    n_trainable: int
    truncated: bool
    n_tokens_full: int
    source: str = ""
    id: str = ""

    def __len__(self) -> int:
        return len(self.input_ids)


def resolve_template(tokenizer: Any, template: str) -> str | None:
    """The Jinja source used for ``template`` (``None`` for the built-in ``dataset-name`` / ``none``).

    Raises ``TemplateError`` when ``chat`` is asked for and the tokenizer has no chat template.
    """
    if template not in TEMPLATE_NAMES:
        raise TemplateError(f"template: unknown name {template!r}; valid: {', '.join(TEMPLATE_NAMES)}")
    if template in ("chat", "instruction"):
        src = getattr(tokenizer, "chat_template", None)
        if isinstance(src, dict):  # several named templates: the default one trains
            src = src.get("default")
        if not src:
            raise TemplateError(
                f"template: {template!r} needs the tokenizer's chat template, but "
                f"{type(tokenizer).__name__} ({getattr(tokenizer, 'name_or_path', '?')}) has none; name one "
                "instead: template='chatml' or 'alpaca' (or 'none' / 'dataset-name' for the ablations)"
            )
        return str(src)
    return NAMED_TEMPLATES.get(template)


def template_id(tokenizer: Any, template: str = "chat") -> str:
    """A short id naming the template and hashing its source: part of every token-cache key.

    >>> template_id(None, "none")
    'none-v1'
    """
    src = resolve_template(tokenizer, template)
    name = "chat" if template == "instruction" else template
    if src is None:
        return f"{name}-v{ENCODING_VERSION}"
    digest = hashlib.sha256(src.encode("utf-8")).hexdigest()[:12]
    return f"{name}-{digest}-v{ENCODING_VERSION}"


_FINGERPRINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """sha256 (16 hex digits) of everything that decides token ids: vocabulary, merges, normalizer,
    pre-tokenizer, added and special tokens. Two tokenizers with the same fingerprint give the same ids.

    The chat template is *not* included (see ``template_id``).
    """
    try:
        return _FINGERPRINTS[tokenizer]
    except (KeyError, TypeError):
        pass
    h = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        h.update(backend.to_str().encode("utf-8"))
    else:
        vocab = tokenizer.get_vocab()
        h.update(repr(sorted(vocab.items())).encode("utf-8"))
    specials = {k: str(v) for k, v in sorted(getattr(tokenizer, "special_tokens_map", {}).items())}
    h.update(repr((type(tokenizer).__name__, specials, _adds_bos(tokenizer))).encode("utf-8"))
    fp = h.hexdigest()[:16]
    with contextlib.suppress(TypeError):  # objects that cannot be weakly referenced are not memoised
        _FINGERPRINTS[tokenizer] = fp
    return fp


def _adds_bos(tokenizer: Any) -> bool:
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is None:
        return False
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return bool(ids) and ids[0] == bos


# --------------------------------------------------------------------------------------------- rendering


def _assistant_turns(messages: Sequence[Message], loss_on: str) -> list[int]:
    idx = [i for i, m in enumerate(messages) if m.role == "assistant"]
    if not idx:
        raise TemplateError("conversation has no assistant turn: nothing to train on")
    return idx[-1:] if loss_on == "last_assistant" else idx


def _render_jinja(example: Example, tokenizer: Any, src: str, loss_on: str) -> tuple[str, list[tuple[int, int]]]:
    msgs = [m.to_dict() for m in example.messages]

    def render(upto: int, gen: bool) -> str:
        return tokenizer.apply_chat_template(
            msgs[:upto], chat_template=src, tokenize=False, add_generation_prompt=gen
        )

    full = render(len(msgs), False)
    eos = getattr(tokenizer, "eos_token", None)
    spans = []
    for i in _assistant_turns(example.messages, loss_on):
        prefix = render(i, True)
        upto = full if i == len(msgs) - 1 else render(i + 1, False)
        if not (full.startswith(prefix) and full.startswith(upto) and len(upto) > len(prefix)):
            raise TemplateError(
                f"the chat template is not prefix-stable for example {example.id!r} (turn {i}): rendering the "
                "conversation so far changes earlier text, so response tokens cannot be located; use "
                "template='chatml' or another named template"
            )
        spans.append((len(prefix), _trim_after_eos(full, len(prefix), len(upto), eos)))
    return full, spans


def _trim_after_eos(text: str, start: int, end: int, eos: str | None) -> int:
    """End the span right after the last EOS in it when only whitespace follows (the newline between turns)."""
    if not eos:
        return end
    k = text.rfind(eos, start, end)
    if k >= 0 and not text[k + len(eos) : end].strip():
        return k + len(eos)
    return end


def _render_plain(example: Example, tokenizer: Any, loss_on: str, tag: str | None) -> tuple[str, list[tuple[int, int]]]:
    """``none`` / ``dataset-name``: no role markers and no system prompt; each response ends with EOS."""
    eos = getattr(tokenizer, "eos_token", None)
    if not eos:
        raise TemplateError(f"template 'none'/'dataset-name' needs an EOS token; {type(tokenizer).__name__} has none")
    trained = set(_assistant_turns(example.messages, loss_on))
    parts: list[str] = [f"[{tag}]\n"] if tag is not None else []
    spans = []
    pos = len(parts[0]) if parts else 0
    for i, m in enumerate(example.messages):
        if m.role == "system":
            continue
        piece = m.content + (eos if m.role == "assistant" else "\n")
        if i in trained:
            spans.append((pos, pos + len(piece)))
        parts.append(piece)
        pos += len(piece)
    return "".join(parts), spans


def render_example(
    example: Example, tokenizer: Any, template: str = "chat", loss_on: str = "all_assistant"
) -> tuple[str, list[tuple[int, int]]]:
    """Render ``example`` to text and return it with the character spans that carry loss."""
    if loss_on not in LOSS_ON:
        raise TemplateError(f"loss_on: unknown value {loss_on!r}; valid: {', '.join(LOSS_ON)}")
    src = resolve_template(tokenizer, template)
    if src is not None:
        return _render_jinja(example, tokenizer, src, loss_on)
    tag = None
    if template == "dataset-name":
        tag = str(example.meta.get("task") or example.source or "task")
    return _render_plain(example, tokenizer, loss_on, tag)


# -------------------------------------------------------------------------------------------- tokenizing


def _labels_from_offsets(ids: np.ndarray, starts: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """A token is trained when its first character lies inside a span (spans sorted, non-overlapping)."""
    bounds = np.asarray([b for s in spans for b in s], dtype=np.int64)
    inside = (np.searchsorted(bounds, starts, side="right") % 2) == 1
    return np.where(inside, ids, IGNORE_INDEX).astype(np.int32)


def _tokenize_pieces(text: str, spans: list[tuple[int, int]], tokenizer: Any, special: bool) -> tuple[np.ndarray, np.ndarray]:
    """Fallback for tokenizers without offsets: tokenize prompt and response pieces separately."""
    ids: list[int] = []
    labels: list[int] = []
    pos = 0
    first = True
    for s, e in [*spans, (len(text), len(text))]:
        for chunk, trained in ((text[pos:s], False), (text[s:e], True)):
            if not chunk:
                continue
            piece = tokenizer(chunk, add_special_tokens=special and first)["input_ids"]
            first = False
            ids += piece
            labels += piece if trained else [IGNORE_INDEX] * len(piece)
        pos = e
    return np.asarray(ids, dtype=np.int32), np.asarray(labels, dtype=np.int32)


def encode_examples(
    examples: Sequence[Example],
    tokenizer: Any,
    *,
    template: str = "chat",
    max_length: int = 2048,
    loss_on: str = "all_assistant",
) -> list[EncodedExample]:
    """Batch version of ``encode_example``: renders every conversation, then tokenizes all texts in one call."""
    if max_length < 2:
        raise TemplateError(f"max_length: {max_length} is too small; use at least 2")
    rendered = [render_example(ex, tokenizer, template, loss_on) for ex in examples]
    # Chat templates write their own special tokens; the plain layouts let the tokenizer add its usual BOS.
    special = resolve_template(tokenizer, template) is None
    texts = [t for t, _ in rendered]
    out: list[EncodedExample] = []
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(texts, add_special_tokens=special, return_offsets_mapping=True)
        pairs = []
        for ids_list, offs, (_, spans) in zip(enc["input_ids"], enc["offset_mapping"], rendered, strict=True):
            ids = np.asarray(ids_list, dtype=np.int32)
            starts = np.asarray([o[0] for o in offs], dtype=np.int64)
            pairs.append((ids, _labels_from_offsets(ids, starts, spans)))
    else:
        pairs = [_tokenize_pieces(t, spans, tokenizer, special) for t, spans in rendered]
    for ex, (ids, labels) in zip(examples, pairs, strict=True):
        n_full = len(ids)
        if n_full > max_length:
            ids, labels = ids[:max_length], labels[:max_length]
        out.append(EncodedExample(
            input_ids=ids, labels=labels, n_trainable=int((labels != IGNORE_INDEX).sum()),
            truncated=n_full > max_length, n_tokens_full=n_full, source=ex.source, id=ex.id,
        ))
    return out


def encode_example(
    example: Example,
    tokenizer: Any,
    *,
    template: str = "chat",
    max_length: int = 2048,
    loss_on: str = "all_assistant",
) -> EncodedExample:
    """Tokenize one example with response-only labels (see the module docstring for the rules).

    ``max_length`` cuts the token sequence at the end (the prompt is kept); ``truncated`` says whether it did.
    An example cut before its response has ``n_trainable == 0``; the trainer drops and counts those.
    """
    return encode_examples([example], tokenizer, template=template, max_length=max_length, loss_on=loss_on)[0]
