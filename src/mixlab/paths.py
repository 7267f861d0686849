"""Where mixlab keeps what it caches, and where it finds the data folder: one environment variable each.

- ``MIXLAB_CACHE``: the cache root (default ``$XDG_CACHE_HOME/mixlab``, else ``~/.cache/mixlab``). Under it:
  ``tokens/`` (per-source token caches), ``gguf/`` (dequantized GGUF weights), and the world's base models.
- ``MIXLAB_DATA_DIR``: the folder holding benchmark files, instruction data and local models (a
  ``../shared/data`` style folder); suites read it when no ``data_dir`` option is given.

Older names still work and say so once: ``MIXLAB_CACHE_DIR`` (the token cache folder itself) and
``MIXLAB_SHARED_DATA`` (the data folder).

>>> import os
>>> os.environ["MIXLAB_CACHE"] = "/tmp/mixlab-cache"
>>> token_cache_dir().as_posix()
'/tmp/mixlab-cache/tokens'
>>> del os.environ["MIXLAB_CACHE"]
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

CACHE_ENV = "MIXLAB_CACHE"
DATA_ENV = "MIXLAB_DATA_DIR"
#: old name -> (new name, how the old value maps onto the new one)
DEPRECATED_ENV = {
    "MIXLAB_CACHE_DIR": (CACHE_ENV, "it named the token cache folder, now $MIXLAB_CACHE/tokens"),
    "MIXLAB_SHARED_DATA": (DATA_ENV, "the same folder"),
}


def cache_root() -> Path:
    """``$MIXLAB_CACHE``, else ``$XDG_CACHE_HOME/mixlab``, else ``~/.cache/mixlab``."""
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "mixlab"


def token_cache_dir() -> Path:
    """Per-source token caches: ``cache_root()/tokens`` (or the deprecated ``$MIXLAB_CACHE_DIR`` itself)."""
    old = _deprecated("MIXLAB_CACHE_DIR")
    return Path(old).expanduser() if old else cache_root() / "tokens"


def data_dir() -> Path | None:
    """``$MIXLAB_DATA_DIR`` (or the deprecated ``$MIXLAB_SHARED_DATA``); ``None`` when neither is set."""
    value = os.environ.get(DATA_ENV) or _deprecated("MIXLAB_SHARED_DATA")
    return Path(value).expanduser() if value else None


def _deprecated(name: str) -> str | None:
    """The value of an old variable, with a warning that names its replacement."""
    value = os.environ.get(name)
    if value:
        new, mapping = DEPRECATED_ENV[name]
        warnings.warn(f"${name} is deprecated; set ${new} instead ({mapping})", FutureWarning, stacklevel=3)
    return value
