"""Error types users see. Each message names the field, the bad value and what would be valid."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator


class MixlabError(Exception):
    """Base class: an error mixlab explains to the user (the CLI prints it without a traceback)."""


class SpecError(MixlabError):
    """A spec failed validation. Carries *all* problems found, not just the first.

    >>> raise SpecError("mixture spec", ["sources[0].count: -1 is negative; use a count >= 0"])
    Traceback (most recent call last):
    ...
    mixlab.errors.SpecError: mixture spec has 1 problem:
      - sources[0].count: -1 is negative; use a count >= 0
    """

    def __init__(self, what: str, problems: list[str]):
        self.what = what
        self.problems = list(problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{what} has {len(self.problems)} {noun}:\n{lines}")


class MissingDependencyError(MixlabError):
    """An optional dependency is not installed; the message carries the pip command that fixes it."""

    def __init__(self, module: str, extra: str | None = None, purpose: str = ""):
        fix = f"pip install 'mixlab[{extra}]'" if extra else f"pip install {module}"
        why = f" (needed for {purpose})" if purpose else ""
        super().__init__(f"the optional package '{module}' is not installed{why}; install it with: {fix}")
        self.module = module


def require(module: str, extra: str | None = None, purpose: str = ""):
    """Import an optional dependency or fail with the pip command that fixes it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(module, extra, purpose) from exc


#: third-party deprecation warnings raised inside the libraries themselves, not by mixlab's calls
#: (peft's PeftModel reads transformers' renamed ``is_gradient_checkpointing``): nothing a user can act on
LIBRARY_INTERNAL_WARNINGS = (r"`is_gradient_checkpointing` is deprecated",)


@contextlib.contextmanager
def library_quietly() -> Iterator[None]:
    """A context in which ``LIBRARY_INTERNAL_WARNINGS`` are not shown (every other warning is)."""
    with warnings.catch_warnings():
        for message in LIBRARY_INTERNAL_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=FutureWarning)
        yield
