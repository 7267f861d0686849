"""Format converters: each turns raw records into ``Example`` objects, or says why it cannot.

A format is anything with ``name``, ``detect(record) -> bool`` and ``convert(record, source, index) ->
list[Example | Rejected]`` (most return one ``Example`` or raise ``ConversionError``; formats whose records
hold several examples, like Self-Instruct seed tasks, return one item per example and quarantine bad
instances one by one). Two optional hooks:

- ``convert_all(records, source) -> Converted``: a whole-file step for formats whose examples span rows
  (OpenAssistant message trees). When present it replaces the per-record loop.
- ``meta_from_filename(name) -> dict``: meta taken from the file name (P3's ``<dataset>_<template>``).

Register new ones with ``@FORMATS.register("name")``; ``detect_format`` tries them in registration order,
most specific first, and takes the first one that recognises at least half of the sampled records.

>>> detect_format([{"prompt": "Is it good?", "completion": " yes<|endoftext|>"}])
'p3'
>>> detect_format([{"instruction": "Add.", "input": "1 2", "output": "3"}])
'alpaca'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mixlab.data.example import Example, Rejected
from mixlab.errors import MixlabError
from mixlab.registry import Registry


class ConversionError(ValueError):
    """A record cannot be converted; ``reason`` is a short, countable label (e.g. ``"missing field"``)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Format(Protocol):
    name: str

    def detect(self, record: Mapping[str, Any]) -> bool: ...

    def convert(self, record: Mapping[str, Any], source: str, index: int) -> list[Example]: ...


@dataclass
class Converted:
    """What a whole-file conversion returns: examples, bad rows, and rows left unused on purpose.

    ``unused`` is for rows that are fine but not selected by the format's rule (an OpenAssistant reply that
    is not the best-ranked one): they are counted apart from the quarantine, never dropped silently.
    """

    examples: list[Example] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    unused: list[Rejected] = field(default_factory=list)


#: format classes by name; ``get_format`` returns an instance
FORMATS: Registry[type] = Registry("format")

#: share of sampled records a format must recognise to be picked by ``detect_format``
DETECT_MIN_SHARE = 0.5


def get_format(name: str) -> Format:
    return FORMATS.get(name)()


#: Detection priority of the built-in formats: distinctive fields first, the generic Alpaca shape after
#: CodeAlpaca (same shape, code content). Formats registered by plugins come after these.
DETECTION_ORDER = ("oasst", "natinst", "self_instruct", "dolly", "gsm8k", "p3", "flan", "codealpaca", "alpaca",
                   "messages", "sharegpt")


def format_names() -> list[str]:
    """Registered format names in detection order (most specific first).

    >>> format_names()[:3]
    ['oasst', 'natinst', 'self_instruct']
    """
    names = list(FORMATS._entries)
    rank = {n: i for i, n in enumerate(DETECTION_ORDER)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), names.index(n)))


def detect_format(records: Sequence[Any], sample: int = 50) -> str:
    """Pick the format of ``records`` from the first ``sample`` JSON objects.

    The first format (in registration order, most specific first) that recognises at least
    ``DETECT_MIN_SHARE`` of the sample wins: CodeAlpaca is checked before Alpaca, so an Alpaca-shaped file
    whose rows are mostly code reads as ``codealpaca``. If none reaches that share, the one with most hits
    wins; if none recognises anything, the error lists the fields seen and the known formats.
    """
    head = [r for r in records[:sample] if isinstance(r, Mapping)]
    if not head:
        head = [r for r in records if isinstance(r, Mapping)][:sample]
    if not head:
        raise MixlabError("cannot detect the format: no record is a JSON object")
    hits_by_name: dict[str, int] = {}
    for name in format_names():
        fmt = get_format(name)
        hits = sum(1 for r in head if _safe_detect(fmt, r))
        if hits >= DETECT_MIN_SHARE * len(head):
            return name
        hits_by_name[name] = hits
    best = max(hits_by_name, key=lambda n: hits_by_name[n])  # max keeps the first of equals
    if hits_by_name[best] == 0:
        keys = sorted({str(k) for r in head for k in r})[:12]
        raise MixlabError(
            f"cannot detect the format from fields {keys}; pass --format explicitly "
            f"(known: {', '.join(format_names())})"
        )
    return best


def _safe_detect(fmt: Format, record: Mapping[str, Any]) -> bool:
    try:
        return bool(fmt.detect(record))
    except Exception:
        return False


def require_str(record: Mapping[str, Any], key: str, *, allow_empty: bool = False,
                empty_reason: str = "empty field") -> str:
    """Fetch a string field or raise the matching ``ConversionError``.

    >>> require_str({"output": 3}, "output")
    Traceback (most recent call last):
    ...
    mixlab.data.formats.ConversionError: wrong type: output is int, expected str
    """
    if key not in record or record[key] is None:
        raise ConversionError("missing field", key)
    value = record[key]
    if not isinstance(value, str):
        raise ConversionError("wrong type", f"{key} is {type(value).__name__}, expected str")
    if not allow_empty and not value.strip():
        raise ConversionError(empty_reason, key)
    return value


def optional_str(record: Mapping[str, Any], key: str) -> str:
    """A string field that may be absent or null (then ``""``); any other type is a ``wrong type`` error."""
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConversionError("wrong type", f"{key} is {type(value).__name__}, expected str")
    return value


def row_id(source: str, index: int, sub: int | None = None) -> str:
    """The id of a converted row: ``<source>-<row>`` (and ``-<k>`` for the k-th example of a row).

    >>> row_id("p3", 12), row_id("seed", 3, 1)
    ('p3-000012', 'seed-000003-001')
    """
    return f"{source}-{index:06d}" if sub is None else f"{source}-{index:06d}-{sub:03d}"


# Importing the modules registers the formats (detection order is DETECTION_ORDER, not import order).
from mixlab.data.formats import alpaca as _alpaca  # noqa: E402, F401
from mixlab.data.formats import dolly as _dolly  # noqa: E402, F401
from mixlab.data.formats import gsm8k as _gsm8k  # noqa: E402, F401
from mixlab.data.formats import messages as _messages  # noqa: E402, F401
from mixlab.data.formats import natinst as _natinst  # noqa: E402, F401
from mixlab.data.formats import oasst as _oasst  # noqa: E402, F401
from mixlab.data.formats import p3 as _p3  # noqa: E402, F401
from mixlab.data.formats import self_instruct as _self_instruct  # noqa: E402, F401
from mixlab.data.formats import sharegpt as _sharegpt  # noqa: E402, F401
