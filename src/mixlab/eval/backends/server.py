"""An OpenAI-compatible server as an ``LM``: chat and completions endpoints, retries, rate limits.

>>> lm = load_server_lm("my-model", base_url="http://localhost:8000/v1", api_key_env="MY_KEY")  # doctest: +SKIP

- Generation: a conversation prompt goes to ``/chat/completions`` (the *server* applies its chat template,
  recorded as template ``server``); raw text goes to ``/completions``. Stop strings are sent (at most 4, the
  OpenAI limit) and applied again on the returned text. When a server returns fewer than ``n`` choices
  (many ignore ``n``), the missing samples are requested one by one with seeds ``seed+1, ...`` and counted.
- Log-likelihood: only through ``/completions`` with ``echo`` and ``logprobs`` (the prompt's token
  log-probabilities); a chat endpoint cannot give them (lm-eval #3275). A server that ignores ``echo`` /
  ``logprobs`` (``transformers serve`` does) gets a clear error instead of silently wrong scores.
- Failures: connection errors, timeouts, HTTP 429 and 5xx are retried with exponential backoff and jitter
  (honouring ``Retry-After``), up to ``max_retries``; retries are counted. Other HTTP errors stop at once with
  the server's message.
- Rate limits: ``requests_per_minute`` spaces requests out; ``max_concurrency`` bounds requests in flight.
- The API key is read from the environment variable named by ``api_key_env`` at each request. It is never
  stored on the object, put in the identity, logged, cached or written to any output file.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mixlab.errors import MixlabError, SpecError
from mixlab.eval.backends import options_from_kwargs
from mixlab.eval.lm import GenerationRequest, LoglikelihoodRequest, LoglikelihoodResult, cut_at_stop

log = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_STOP = 4  # the OpenAI API's limit on stop sequences


@dataclass(frozen=True)
class ServerOptions:
    """Options of the ``openai`` backend."""

    #: the API root, ending in ``/v1`` for most servers
    base_url: str = "http://localhost:8000/v1"
    #: environment variable holding the API key; None or an unset variable sends no key
    api_key_env: str | None = "OPENAI_API_KEY"
    #: seconds before a request is abandoned (and retried)
    timeout: float = 120.0
    #: retries after the first attempt, for connection errors, timeouts, 429 and 5xx
    max_retries: int = 5
    #: first backoff in seconds; doubles per retry, with up to 25 % random jitter
    backoff: float = 1.0
    #: longest wait between retries, in seconds
    max_backoff: float = 60.0
    #: most requests started per minute (None: no limit)
    requests_per_minute: float | None = None
    #: most requests in flight at once
    max_concurrency: int = 4
    #: extra JSON fields sent with every request (e.g. ``{"top_k": 1}``)
    extra_body: dict[str, Any] | None = None

    @classmethod
    def from_kwargs(cls, **options: Any) -> ServerOptions:
        opts = options_from_kwargs(cls, "openai backend options", options)
        if problems := opts.problems():
            raise SpecError("openai backend options", problems)
        return opts

    def problems(self) -> list[str]:
        out = []
        if urlsplit(self.base_url).scheme not in ("http", "https"):
            out.append(f"base_url: {self.base_url!r} must start with http:// or https://")
        for name in ("timeout", "backoff", "max_backoff"):
            if not isinstance(getattr(self, name), (int, float)) or getattr(self, name) <= 0:
                out.append(f"{name}: {getattr(self, name)!r} must be a positive number of seconds")
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            out.append(f"max_retries: {self.max_retries!r} must be an integer >= 0")
        if not isinstance(self.max_concurrency, int) or self.max_concurrency < 1:
            out.append(f"max_concurrency: {self.max_concurrency!r} must be an integer >= 1")
        if self.requests_per_minute is not None and self.requests_per_minute <= 0:
            out.append(f"requests_per_minute: {self.requests_per_minute!r} must be positive (or None)")
        return out


class _RateLimiter:
    """Start at most ``per_minute`` requests per minute, evenly spaced, across threads."""

    def __init__(self, per_minute: float | None):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.next_slot = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class ServerLM:
    """An ``LM`` over an OpenAI-compatible HTTP server (build it with ``load_server_lm``)."""

    def __init__(self, model: str, options: ServerOptions):
        self.model = model
        self.options = options
        self.counts: Counter[str] = Counter()
        self._limiter = _RateLimiter(options.requests_per_minute)
        self._local = threading.local()
        self._counts_lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        return {"backend": "openai", "model": self.model, "base_url": _redact_url(self.options.base_url),
                "template": "server"}

    # ----- the LM protocol -------------------------------------------------------------------------------
    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[str]]:
        return self._map(self._generate_one, requests)

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        return self._map(self._loglikelihood_one, requests)

    # ----- one request -----------------------------------------------------------------------------------
    def _generate_one(self, req: GenerationRequest) -> list[str]:
        chat = not isinstance(req.prompt, str)
        body: dict[str, Any] = {"model": self.model, "max_tokens": req.max_new_tokens, "temperature": req.temperature,
                                "top_p": req.top_p, "n": req.n, "seed": req.seed}
        if req.stop:
            body["stop"] = list(req.stop[:MAX_STOP])
        if isinstance(req.prompt, str):
            body["prompt"] = req.prompt
        else:
            body["messages"] = [m.to_dict() for m in req.prompt]
        texts = self._texts(self._post("/chat/completions" if chat else "/completions", body), chat)
        extra = 0
        while len(texts) < req.n:  # the server ignored n: ask for the rest one by one
            extra += 1
            more = {**body, "n": 1, "seed": req.seed + extra}
            texts += self._texts(self._post("/chat/completions" if chat else "/completions", more), chat)
        if extra:
            self._count("n_ignored_by_server")
        if req.temperature == 0 and len(set(texts)) > 1:
            self._count("greedy_samples_differ")
        return [cut_at_stop(t, req.stop) for t in texts[: req.n]]

    @staticmethod
    def _texts(response: dict[str, Any], chat: bool) -> list[str]:
        choices = sorted(response.get("choices") or [], key=lambda c: c.get("index", 0))
        if chat:
            return [(c.get("message") or {}).get("content") or "" for c in choices]
        return [c.get("text") or "" for c in choices]

    def _loglikelihood_one(self, req: LoglikelihoodRequest) -> LoglikelihoodResult:
        if not isinstance(req.context, str):
            raise MixlabError(
                "the openai backend scores log-likelihood through /completions, which takes raw text: a "
                "conversation context would need the server's chat template, which a client cannot apply. "
                "Use raw-text prompts (chat=False) or the transformers / vllm backend"
            )
        prompt = req.context + req.continuation
        body = {"model": self.model, "prompt": prompt, "max_tokens": 1, "temperature": 0.0, "echo": True,
                "logprobs": 1}
        response = self._post("/completions", body)
        choice = (response.get("choices") or [{}])[0]
        lp = choice.get("logprobs") or {}
        tokens, token_lps = lp.get("tokens"), lp.get("token_logprobs")
        offsets, tops = lp.get("text_offset"), lp.get("top_logprobs") or []
        if not tokens or not token_lps or not offsets or not str(choice.get("text", "")).startswith(prompt):
            raise MixlabError(
                f"the server at {_redact_url(self.options.base_url)} does not return prompt log-probabilities "
                "(/completions with echo=true and logprobs): log-likelihood tasks (multiple choice) cannot be scored "
                "through it. Chat endpoints never can (lm-eval #3275). Use a server that supports echo + logprobs "
                "(vLLM's OpenAI server does), or the transformers / vllm backend"
            )
        start, end = len(req.context), len(prompt)
        total, greedy, n = 0.0, True, 0
        for i, (tok, value, off) in enumerate(zip(tokens, token_lps, offsets, strict=False)):
            if off < start or off >= end:
                if off < start < off + len(tok):
                    self._count("token_straddles_context_end")
                continue
            if value is None:  # the first token of a text has no log-probability
                raise MixlabError("the server gave no log-probability for a continuation token (empty context?)")
            total += float(value)
            n += 1
            top = tops[i] if i < len(tops) and tops[i] else None
            if top:
                greedy = greedy and max(top.items(), key=lambda kv: kv[1])[0] == tok
        return LoglikelihoodResult(total, greedy, n)

    # ----- HTTP ------------------------------------------------------------------------------------------
    def _map(self, fn: Any, requests: Sequence[Any]) -> list[Any]:
        if len(requests) <= 1 or self.options.max_concurrency == 1:
            return [fn(r) for r in requests]
        with ThreadPoolExecutor(max_workers=self.options.max_concurrency) as pool:
            return list(pool.map(fn, requests))

    def _session(self) -> Any:
        import requests

        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        name = self.options.api_key_env
        key = os.environ.get(name) if name else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import requests

        url = self.options.base_url.rstrip("/") + path
        payload = {**body, **(self.options.extra_body or {})}
        last = ""
        for attempt in range(self.options.max_retries + 1):
            self._limiter.wait()
            retry_after: float | None = None
            try:
                resp = self._session().post(url, json=payload, headers=self._headers(), timeout=self.options.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__}"
            else:
                if resp.status_code < 400:
                    try:
                        return resp.json()
                    except ValueError as exc:
                        raise MixlabError(f"{_redact_url(url)} returned a body that is not JSON") from exc
                last = f"HTTP {resp.status_code}: {_short(resp.text)}"
                if resp.status_code not in RETRY_STATUS:
                    raise MixlabError(f"{_redact_url(url)} refused the request ({last})")
                retry_after = _retry_after(resp.headers.get("Retry-After"))
            if attempt == self.options.max_retries:
                break
            self._count("retries")
            delay = min(self.options.max_backoff, self.options.backoff * 2**attempt) * (1 + 0.25 * random.random())
            time.sleep(max(delay, retry_after or 0.0))
        raise MixlabError(f"{_redact_url(url)} failed after {self.options.max_retries + 1} attempts (last: {last})")

    def _count(self, what: str) -> None:
        with self._counts_lock:
            self.counts[what] += 1


def _retry_after(value: str | None) -> float | None:
    try:
        return min(float(value), 300.0) if value else None
    except ValueError:
        return None


def _short(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


def _redact_url(url: str) -> str:
    """The URL without user:password (a key can hide there too)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def load_server_lm(model: str, **options: Any) -> ServerLM:
    """An ``LM`` for ``model`` as served at ``base_url`` (options: see ``ServerOptions``)."""
    return ServerLM(model, ServerOptions.from_kwargs(**options))
