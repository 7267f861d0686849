"""The teacher: any mixlab ``LM`` backend, its generation settings, and a record of both that holds no secret.

>>> settings = GenerationSettings(temperature=0.7, top_p=0.5, max_new_tokens=256, seed=1)
>>> settings.request("Name a colour.", seed_offset=3).seed
4
>>> safe_options({"base_url": "http://user:pw@host:8000/v1", "api_key_env": "MY_KEY", "api_key": "sk-1"})
{'base_url': 'http://host:8000/v1', 'api_key_env': 'MY_KEY'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mixlab.errors import MixlabError, SpecError
from mixlab.eval.lm import LM, GenerationRequest, Prompt
from mixlab.generate.prompts import STYLES, as_prompt


@dataclass(frozen=True)
class GenerationSettings:
    """How the teacher samples; recorded in every row and in the manifest."""

    #: sampling temperature (0 = greedy)
    temperature: float = 0.7
    #: nucleus sampling mass
    top_p: float = 0.5
    #: most tokens the teacher writes per request
    max_new_tokens: int = 512
    #: base seed: a request's seed is this plus its position in the run, so a resumed run asks the same
    seed: int = 0
    #: ``chat`` (a user turn, the teacher's chat template) or ``text`` (raw text to continue, for base models)
    style: str = "chat"

    def problems(self) -> list[str]:
        out = []
        if not 0 <= self.temperature <= 5:
            out.append(f"temperature: {self.temperature!r} must be between 0 and 5")
        if not 0 < self.top_p <= 1:
            out.append(f"top_p: {self.top_p!r} must be in (0, 1]")
        if self.max_new_tokens < 1:
            out.append(f"max_new_tokens: {self.max_new_tokens!r} must be >= 1")
        if self.style not in STYLES:
            out.append(f"style: {self.style!r} must be one of {', '.join(STYLES)}")
        return out

    def check(self) -> GenerationSettings:
        if problems := self.problems():
            raise SpecError("generation settings", problems)
        return self

    def request(self, prompt: Prompt, seed_offset: int) -> GenerationRequest:
        return GenerationRequest(prompt, max_new_tokens=self.max_new_tokens, temperature=self.temperature,
                                 top_p=self.top_p, seed=self.seed + seed_offset)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_SECRET_WORDS = ("key", "token", "secret", "password", "auth")


def _redact_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme and (parts.username or parts.password):
        netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return text


def safe_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Backend options fit to write down: options named like secrets are left out (``api_key_env`` names an
    environment variable, not a key, and stays), and credentials inside URLs are removed."""
    out = {}
    for k, v in options.items():
        if any(w in k.lower() for w in _SECRET_WORDS) and k != "api_key_env":
            continue
        out[k] = _redact_url(v) if isinstance(v, str) else v
    return out


@dataclass
class Teacher:
    """An ``LM`` and what to record about it: ``spec`` (model, backend, safe options) and its identity."""

    lm: LM
    spec: dict[str, Any]

    def record(self) -> dict[str, Any]:
        return {**self.spec, "identity": self.lm.identity()}


def teacher_from_lm(lm: LM, model: str | None = None, backend: str | None = None) -> Teacher:
    """Wrap an ``LM`` object (tests, notebooks) as a teacher."""
    ident = lm.identity()
    return Teacher(lm, {"model": model or str(ident.get("model")), "backend": backend or str(ident.get("backend")),
                        "options": {}})


def teacher_spec(model: str, backend: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """What rows and the manifest record about a teacher before it is loaded: no secret, no credentials."""
    return {"model": _redact_url(model), "backend": backend, "options": safe_options(options)}


def load_teacher(model: str, backend: str = "transformers", options: Mapping[str, Any] | None = None, *,
                 style: str = "chat") -> Teacher:
    """Load the teacher through ``mixlab.eval.backends.load_lm`` and make sure it answers.

    One short request is sent at once, so that an unreachable server or a broken model fails before anything
    is written, with the backend's reason.
    """
    from mixlab.eval.backends import load_lm

    options = dict(options or {})
    try:
        lm = load_lm(model, backend=backend, **options)
    except MixlabError:
        raise
    except (OSError, ValueError) as exc:
        raise MixlabError(f"cannot load the teacher {model!r} with the {backend} backend: {exc}") from exc
    try:
        lm.generate([GenerationRequest(as_prompt("Say OK.", style), max_new_tokens=1)])
    except MixlabError as exc:
        raise MixlabError(f"the teacher {_redact_url(model)!r} ({backend}) does not answer: {exc}") from exc
    return Teacher(lm, teacher_spec(model, backend, options))
