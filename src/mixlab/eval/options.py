"""Options with declared types: ``KEY=VALUE`` text from the command line (or values from YAML) become the type
the option declares, and an option nobody declares is an error that lists the valid ones.

Reading a value by its own look (``none`` -> None, ``no`` -> False, ``0123`` -> 123) turns a chat template
named ``none`` into "no template", an adapter folder named ``no`` into False and a numeric hub revision
into an int. Here the option's declared kind decides:

=========  ====================================================================================
kind       accepts
=========  ====================================================================================
``str``    any text, as written (``none`` stays the text ``none``)
``int``    whole numbers (``8``); ``float``: numbers (``.5``, ``1e-3``)
``bool``   ``true/false``, ``yes/no``, ``1/0``, ``on/off`` (any case)
``list``   a comma-separated text (``anatomy,virology``), a JSON list, or a list
``dict``   a JSON object (``{"top_k": 1}``) or a mapping
``any``    anything (an ``LM`` object passed from Python)
=========  ====================================================================================

A kind ending in ``?`` also accepts None (YAML's null) and, except for text, ``none`` / ``null`` as None: a
text option keeps ``none`` (an MMLU ``split`` named none, a chat template named none). A declared name ending in
``*`` stands for every name with that prefix (``judge_arg_*``: options passed on to the judge's backend).

>>> typed_options({"shots": "0", "chat": "yes", "chat_template": "none"},
...               {"shots": "int", "chat": "bool", "chat_template": "str"}, "--suite-arg")
{'shots': 0, 'chat': True, 'chat_template': 'none'}
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import types
import typing
from collections.abc import Mapping
from typing import Any

from mixlab.errors import SpecError

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
_NONE = {"none", "null"}


def coerce(value: Any, kind: str) -> Any:
    """``value`` as ``kind`` (see the module table); raises ``ValueError`` saying what was expected."""
    optional = kind.endswith("?")
    base = kind.rstrip("?")
    text_none = isinstance(value, str) and value.strip().lower() in _NONE and base != "str"  # a text stays text
    if value is None or (optional and text_none):
        if optional or base == "any":
            return None
        raise ValueError(f"expected {_describe(base)}, got nothing")
    if base == "any":
        return value
    if base == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # a YAML number where text is meant (a revision such as 20240101)
        raise ValueError(f"expected text, got {value!r}; quote it in YAML")
    if base == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"expected true or false, got {value!r}")
    if base == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ValueError(f"expected a whole number, got {value!r}")
    if base == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ValueError(f"expected a number, got {value!r}")
    if base == "list":
        if isinstance(value, (list, tuple)):
            return list(value)
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return list(json.loads(text))
            return [x.strip() for x in text.split(",") if x.strip()]
        raise ValueError(f"expected a comma-separated list, got {value!r}")
    if base == "dict":
        if isinstance(value, Mapping):
            return dict(value)
        if isinstance(value, str):
            try:
                loaded = json.loads(value)
            except ValueError:
                loaded = None
            if isinstance(loaded, dict):
                return loaded
        raise ValueError(f'expected a JSON object such as {{"top_k": 1}}, got {value!r}')
    raise ValueError(f"unknown option kind {kind!r}")  # pragma: no cover - a declaration bug


def _describe(kind: str) -> str:
    return {"str": "text", "int": "a whole number", "float": "a number", "bool": "true or false",
            "list": "a list", "dict": "a JSON object"}.get(kind, kind)


def typed_options(options: Mapping[str, Any], declared: Mapping[str, str], what: str) -> dict[str, Any]:
    """``options`` with every value as its declared kind; all unknown names and bad values reported at once."""
    problems, out = [], {}
    valid = ", ".join(sorted(declared))
    prefixes = {k[:-1]: kind for k, kind in declared.items() if k.endswith("*")}
    for key, value in options.items():
        prefix = next((p for p in prefixes if key.startswith(p) and len(key) > len(p)), None)
        if key not in declared and prefix is not None:
            try:
                out[key] = coerce(value, prefixes[prefix])
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
            continue
        if key not in declared:
            close = difflib.get_close_matches(key, list(declared), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{key}: unknown option{hint}; valid options: {valid}")
            continue
        try:
            out[key] = coerce(value, declared[key])
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    if problems:
        raise SpecError(what, problems)
    return out


def dataclass_kinds(cls: type) -> dict[str, str]:
    """Option kinds from a dataclass's field annotations (``int | None`` -> ``int?``)."""
    hints = typing.get_type_hints(cls)
    return {f.name: _kind_of(hints[f.name]) for f in dataclasses.fields(cls)}


def _kind_of(tp: Any) -> str:
    optional = False
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        optional = type(None) in args
        rest = [a for a in args if a is not type(None)]
        tp = rest[0] if len(rest) == 1 else Any
    origin = typing.get_origin(tp) or tp
    kind = {str: "str", bool: "bool", int: "int", float: "float", list: "list", tuple: "list",
            dict: "dict"}.get(origin, "any")
    return kind + ("?" if optional and kind != "any" else "")
