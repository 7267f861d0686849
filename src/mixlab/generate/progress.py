"""Progress of a generation run on stderr: a bar on a terminal, one log line per step everywhere.

>>> with StepProgress(10, 0, "self-instruct", enabled=False) as bar:
...     bar.update(3, {"proposed": 8, "kept": 3, "dropped": {"too short": 5}})
"""

from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger("mixlab.generate")


class StepProgress:
    """``total`` rows wanted, ``done`` already there (a resumed run); ``update`` after each committed step."""

    def __init__(self, total: int, done: int, what: str, enabled: bool = True):
        from tqdm.auto import tqdm

        self.what, self.enabled = what, enabled
        self.bar = tqdm(total=total, initial=min(done, total), desc=what, unit="row", file=sys.stderr,
                        disable=not (enabled and sys.stderr.isatty()), leave=False)

    def __enter__(self) -> StepProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()

    def update(self, kept: int, counts: dict[str, Any]) -> None:
        self.bar.update(kept)
        dropped = sum(counts["dropped"].values())
        self.bar.set_postfix(proposed=counts["proposed"], dropped=dropped)
        if self.enabled:
            log.info("%s: %d kept of %d proposed; dropped %s", self.what, counts["kept"], counts["proposed"],
                     counts["dropped"] or "none")
