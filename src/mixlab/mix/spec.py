"""Mixture specs: which sources, how much of each, and how, checked when the spec is built.

A spec is data: YAML in, the same frozen object out. Every source names exactly one origin (``path``, ``hf``
or ``world``) and exactly one amount key, each with one meaning (see ``docs/mixtures.md``):

=========  ==========================================================================================
key        meaning
=========  ==========================================================================================
count      that many rows of the source, drawn at random (an integer: ``count: 1`` is one row)
fraction   that part of the source's available rows, ``round(fraction * available)`` (0 < f <= 1)
share      that part of the final mixture, ``share * total`` rows (needs the top-level ``total``)
tokens     rows drawn at random until that many *trainable* (response) tokens (needs a tokenizer)
epochs     passes over the source: whole repeats plus a seeded random remainder (2.5 = 2 x all + half)
=========  ==========================================================================================

Validation reports every problem at once, each naming the field, the bad value and what would be valid:

>>> MixtureSpec.model_validate({"sources": [{"name": "a", "path": "a.json", "count": 1.0}]})
Traceback (most recent call last):
...
mixlab.errors.SpecError: mixture spec has 1 problem:
  - sources[0].count: 1.0 is not a whole number of rows; use count: 1 for one row, or fraction for the whole source

>>> spec = MixtureSpec.model_validate({"seed": 1, "total": 100, "sources": [
...     {"name": "chat", "path": "chat.json", "share": 0.75},
...     {"name": "code", "path": "code.json", "share": 0.25}]})
>>> [(s.name, s.amount) for s in spec.sources]
[('chat', ('share', 0.75)), ('code', ('share', 0.25))]
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mixlab.artifacts import content_hash
from mixlab.data.rationale import RATIONALE
from mixlab.errors import MixlabError, SpecError

AMOUNT_KEYS = ("count", "fraction", "share", "tokens", "epochs")
ORIGIN_KEYS = ("path", "hf", "world")
#: source names and aliases: letters, digits, ``_ . -`` (they become labels like ``A+C`` and file names)
NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
SHARE_TOLERANCE = 1e-6

SOURCE_KEYS = ("name", *ORIGIN_KEYS, "split", "subset", "format", *AMOUNT_KEYS, "upsample", "alias", "rationale")
TOP_KEYS = ("name", "seed", "total", "sources", "dedup", "decontaminate", "max_length", "shuffle")
DEDUP_MODES = ("none", "exact", "near")
DEDUP_KEYS = ("mode", "across_sources", "threshold")
DECONTAM_KEYS = ("against", "ngram")


class SourceSpec(BaseModel):
    """One source of a mixture."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    """Unique name; the ``source`` field of every row taken from it."""
    path: str | None = None
    """A local file or folder; relative paths are resolved against the spec file's folder."""
    hf: str | None = None
    """A Hugging Face dataset id (or a local dataset folder) read through ``datasets``."""
    split: str = "train"
    """Split of an ``hf`` source."""
    subset: str | None = None
    """Configuration (subset) of an ``hf`` source."""
    world: str | None = None
    """A type of the embedded world (``chat``, ...)."""
    format: str = "auto"
    """Format name, or ``auto`` to detect it."""
    count: int | None = None
    """Rows to take."""
    fraction: float | None = None
    """Part of the source's available rows, 0 < fraction <= 1."""
    share: float | None = None
    """Part of the final mixture (of ``total`` rows), 0 < share <= 1."""
    tokens: int | None = None
    """Budget of trainable (response) tokens."""
    epochs: float | None = None
    """Passes over the source; non-integers = whole repeats plus a seeded random remainder."""
    upsample: bool = False
    """Let ``count`` / ``share`` / ``tokens`` ask for more than the source holds (rows then repeat)."""
    alias: str | None = None
    """Short label used by designs (``A`` in ``A+C``); defaults to ``name``."""
    rationale: Literal["keep", "drop"] = "keep"
    """``drop``: train on each response's final answer only, without the written steps before it
    (chain-of-thought data with and without rationales; ``mixlab.data.rationale``)."""

    @model_validator(mode="before")
    @classmethod
    def _check_raw(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            problems = _check_source(data, "source")
            if problems:
                raise SpecError("source spec", problems)
        return data

    @property
    def amount(self) -> tuple[str, float]:
        """``(key, value)`` of the one amount key that is set."""
        for key in AMOUNT_KEYS:
            value = getattr(self, key)
            if value is not None:
                return key, value
        raise MixlabError(f"source '{self.name}' has no amount")  # unreachable after validation

    @property
    def origin(self) -> tuple[str, str]:
        """``(kind, value)``: ``("path", "data/a.json")``, ``("hf", "owner/name")`` or ``("world", "chat")``."""
        for key in ORIGIN_KEYS:
            value = getattr(self, key)
            if value is not None:
                return key, value
        raise MixlabError(f"source '{self.name}' has no origin")  # unreachable after validation

    @property
    def label(self) -> str:
        return self.alias or self.name

    def with_amount(self, key: str, value: float, *, upsample: bool | None = None) -> SourceSpec:
        """A copy with one amount key replaced by another (designs use this).

        >>> SourceSpec(name="a", path="a.json", count=10).with_amount("share", 0.5).amount
        ('share', 0.5)
        """
        update: dict[str, Any] = dict.fromkeys(AMOUNT_KEYS)
        update[key] = value
        if upsample is not None:
            update["upsample"] = upsample
        return self.model_copy(update=update)


class DedupSpec(BaseModel):
    """Duplicate removal, run before any upsampling (so intended repeats survive)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["none", "exact", "near"] = "none"
    """``exact`` (same conversation after whitespace/case normalisation), ``near`` (MinHash-LSH), ``none``."""
    across_sources: bool = True
    """Also drop rows duplicated in an earlier-listed source (the first-listed source keeps its rows)."""
    threshold: float = 0.8
    """Jaccard similarity above which ``near`` calls two rows duplicates."""


class DecontaminateSpec(BaseModel):
    """Drop training rows that share an n-gram with an evaluation set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    against: tuple[str, ...]
    """Evaluation data files (every string field of every record is checked); relative to the spec file."""
    ngram: int = 13
    """n-gram length in words (13 is the common default)."""


class MixtureSpec(BaseModel):
    """A mixture: sources with amounts, a seed, and optional cleaning. Build it with ``build_mixture``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    """Optional human name (not used for identity)."""
    seed: int = 0
    """Seeds every random choice: per-source row order and the final shuffle."""
    total: int | None = None
    """Rows of the final mixture that ``share`` refers to."""
    sources: tuple[SourceSpec, ...] = ()
    dedup: DedupSpec = DedupSpec()
    decontaminate: DecontaminateSpec | None = None
    max_length: int | None = None
    """Token limit per row for the token cache (longer rows are truncated, counted in the manifest)."""
    shuffle: bool = True
    """Shuffle the final mixture with the seed (off: rows grouped by source, in sampled order)."""
    base_dir: str | None = Field(default=None, exclude=True)
    """Folder relative paths are resolved against (the spec file's folder); not part of the spec's identity."""

    @model_validator(mode="before")
    @classmethod
    def _check_raw(cls, data: Any) -> Any:
        if isinstance(data, BaseModel):
            return data
        problems = check_mixture_dict(data)
        if problems:
            raise SpecError("mixture spec", problems)
        return _normalise(data)

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> MixtureSpec:
        """Validate a dict; every problem (ours or pydantic's) is reported at once as a ``SpecError``."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise SpecError("mixture spec", [_pydantic_problem(e) for e in exc.errors()]) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> MixtureSpec:
        """Read a YAML spec; relative source paths are resolved against the file's folder."""
        path = Path(path)
        if not path.is_file():
            raise MixlabError(f"mixture spec not found: {path}")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise MixlabError(f"{path}: not valid YAML: {exc}") from None
        if isinstance(data, Mapping):
            data = {**data, "base_dir": str(path.resolve().parent)}
        return cls.model_validate(data)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (unset optional fields left out), as YAML would hold it."""
        d: dict[str, Any] = {"seed": self.seed}
        d.update(self.model_dump(mode="json", exclude_none=True, exclude_defaults=True))
        d["sources"] = [source_dict(s) for s in self.sources]
        return d

    def spec_hash(self) -> str:
        """Identity of the spec (not of the data: the manifest adds the data's content hashes)."""
        return content_hash(self.to_dict())

    def to_yaml(self, path: str | Path) -> Path:
        """Write the spec as YAML; relative source paths are rewritten relative to the new file's folder."""
        from mixlab.artifacts import atomic_write_text

        path = Path(path)
        target = path.resolve().parent
        d = self.to_dict()
        for raw, s in zip(d["sources"], self.sources, strict=True):
            if s.path is not None and not Path(s.path).is_absolute():
                raw["path"] = os.path.relpath(self.resolve_path(s), target)
        if self.decontaminate is not None:
            d["decontaminate"]["against"] = [
                p if Path(p).is_absolute() else os.path.relpath(self.resolve(p), target)
                for p in self.decontaminate.against
            ]
        atomic_write_text(path, yaml.safe_dump(d, sort_keys=False, allow_unicode=True))
        return path

    def resolve(self, path: str) -> Path:
        """Resolve a path of the spec against ``base_dir`` (the spec file's folder) or the working folder.

        ``~`` and environment variables (``${MIXLAB_DATA_DIR}/...``) are expanded first.
        """
        p = Path(os.path.expandvars(path)).expanduser()
        if p.is_absolute():
            return p
        return Path(self.base_dir or os.getcwd()) / p

    def resolve_path(self, source: SourceSpec) -> Path:
        if source.path is None:
            raise MixlabError(f"source '{source.name}' has no path")
        return self.resolve(source.path)

    def source(self, name: str) -> SourceSpec:
        for s in self.sources:
            if s.name == name or s.alias == name:
                return s
        known = [s.name for s in self.sources]
        raise MixlabError(f"no source named '{name}' in this mixture; known: {', '.join(known)}")

    def replace(self, **update: Any) -> MixtureSpec:
        """A validated copy with fields replaced (``sources`` may be a list of ``SourceSpec``)."""
        d = self.to_dict()
        for key, value in update.items():
            if key == "sources":
                value = [source_dict(s) if isinstance(s, SourceSpec) else s for s in value]
            d[key] = value
        d = {k: v for k, v in d.items() if v is not None}
        return MixtureSpec.model_validate({**d, "base_dir": self.base_dir})


def source_dict(src: SourceSpec) -> dict[str, Any]:
    """A source as YAML would hold it: its name and the fields that differ from their defaults."""
    return {"name": src.name, **src.model_dump(mode="json", exclude_none=True, exclude_defaults=True)}


# ------------------------------------------------------------------------------------------- raw checks
def check_mixture_dict(data: Any) -> list[str]:
    """All problems of a raw mixture dict, each naming the field, the bad value and what is valid."""
    if not isinstance(data, Mapping):
        return [f"the spec is a {type(data).__name__}; expected a mapping with a 'sources' list"]
    problems = _unknown_keys(data, (*TOP_KEYS, "base_dir"), "")
    seed = data.get("seed", 0)
    if not _is_int(seed) or seed < 0:
        problems.append(f"seed: {seed!r} is not a whole number >= 0")
    total = data.get("total")
    if total is not None and (not _is_int(total) or total <= 0):
        problems.append(f"total: {total!r} is not a whole number of rows > 0")
    max_length = data.get("max_length")
    if max_length is not None and (not _is_int(max_length) or max_length <= 0):
        problems.append(f"max_length: {max_length!r} is not a whole number of tokens > 0")
    if "shuffle" in data and not isinstance(data["shuffle"], bool):
        problems.append(f"shuffle: {data['shuffle']!r} is not true or false")
    problems += _check_dedup(data.get("dedup"))
    problems += _check_decontaminate(data.get("decontaminate"))
    sources = data.get("sources", [])
    if not isinstance(sources, (list, tuple)):
        problems.append(f"sources: expected a list of sources, got {type(sources).__name__}")
        return problems
    for i, src in enumerate(sources):
        problems += _check_source(src, f"sources[{i}]")
    problems += _check_across_sources(sources, total)
    return problems


def _check_source(src: Any, where: str) -> list[str]:
    if isinstance(src, SourceSpec):
        src = source_dict(src)
    if not isinstance(src, Mapping):
        return [f"{where}: expected a mapping with name, an origin and an amount, got {type(src).__name__}"]
    problems = _unknown_keys(src, SOURCE_KEYS, f"{where}.")
    name = src.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append(f"{where}.name: {name!r} is not a name of letters, digits, '_', '.', '-'")
    alias = src.get("alias")
    if alias is not None and (not isinstance(alias, str) or not NAME_RE.match(alias)):
        problems.append(f"{where}.alias: {alias!r} is not a label of letters, digits, '_', '.', '-'")
    origins = [k for k in ORIGIN_KEYS if src.get(k) is not None]
    if len(origins) != 1:
        got = f"got {', '.join(origins)}" if origins else "got none"
        problems.append(f"{where}: needs exactly one origin of path, hf, world ({got})")
    for key in (*ORIGIN_KEYS, "split", "format"):
        value = src.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"{where}.{key}: {value!r} is not a non-empty string")
    if src.get("subset") is not None and not isinstance(src.get("subset"), str):
        problems.append(f"{where}.subset: {src['subset']!r} is not a string")
    for key in ("split", "subset"):
        if key in src and src.get("hf") is None:
            problems.append(f"{where}.{key}: only an hf source has a {key}")
    problems += _check_format(src.get("format"), where)
    if src.get("rationale", "keep") not in RATIONALE:
        problems.append(f"{where}.rationale: {src['rationale']!r} is not {' or '.join(RATIONALE)}")
    if "upsample" in src and not isinstance(src["upsample"], bool):
        problems.append(f"{where}.upsample: {src['upsample']!r} is not true or false")
    amounts = [k for k in AMOUNT_KEYS if src.get(k) is not None]
    if len(amounts) != 1:
        got = f"got {', '.join(amounts)}" if amounts else "got none"
        problems.append(f"{where}: needs exactly one amount of {', '.join(AMOUNT_KEYS)} ({got})")
    for key in amounts:
        problems += _check_amount(key, src[key], f"{where}.{key}")
    if src.get("upsample") is True and "epochs" in amounts:
        problems.append(f"{where}.upsample: epochs repeat rows already; drop upsample")
    return problems


def _check_amount(key: str, value: Any, where: str) -> list[str]:
    if key in ("count", "tokens"):
        unit = "rows" if key == "count" else "trainable tokens"
        if isinstance(value, float) and key == "count" and value.is_integer():
            n = int(value)
            rows, part = ("one row", "the whole source") if n == 1 else (f"{n} rows", "a part of the source")
            return [f"{where}: {value!r} is not a whole number of rows; use count: {n} for {rows}, "
                    f"or fraction for {part}"]
        if isinstance(value, float) and key == "count":
            return [f"{where}: {value!r} is not a whole number of rows; use a whole count, fraction (a part "
                    "of the source, <= 1) or epochs (passes over the source)"]
        if not _is_int(value) or value < 0:
            return [f"{where}: {value!r} is not a whole number of {unit} >= 0"]
        if key == "tokens" and value == 0:
            return [f"{where}: 0 tokens selects nothing; leave the source out instead"]
        return []
    if not _is_number(value) or not math.isfinite(value):
        return [f"{where}: {value!r} is not a number"]
    if key in ("fraction", "share") and not 0 < value <= 1:
        hint = "; for repeats use epochs" if key == "fraction" and value > 1 else ""
        meaning = "of the source" if key == "fraction" else "of the mixture"
        return [f"{where}: {value!r} is outside (0, 1]; a {key} is a part {meaning}{hint}"]
    if key == "epochs" and value <= 0:
        return [f"{where}: {value!r} is not > 0 passes over the source"]
    return []


def _check_across_sources(sources: Sequence[Any], total: Any) -> list[str]:
    problems: list[str] = []
    maps = [source_dict(s) if isinstance(s, SourceSpec) else s for s in sources]
    maps = [s for s in maps if isinstance(s, Mapping)]
    names: dict[str, int] = {}
    labels: dict[str, int] = {}
    for i, s in enumerate(maps):
        name, label = s.get("name"), s.get("alias") or s.get("name")
        if isinstance(name, str) and name in names:
            problems.append(f"sources[{i}].name: {name!r} is used twice (also sources[{names[name]}]); "
                            "names must be unique")
        elif isinstance(label, str) and label in labels:  # labels name design arms (A+C): unique too
            problems.append(f"sources[{i}].alias: {label!r} is used twice (also sources[{labels[label]}]); "
                            "aliases (default: the name) must be unique")
        if isinstance(name, str):
            names.setdefault(name, i)
        if isinstance(label, str):
            labels.setdefault(label, i)
    shares = [s["share"] for s in maps if _is_number(s.get("share"))]
    if shares and total is None:
        problems.append("total: needed because a source uses share (share is a part of total rows); "
                        "add e.g. total: 2000")
    if shares:
        all_share = len(shares) == len(maps)
        s = math.fsum(shares)
        if all_share and abs(s - 1) > SHARE_TOLERANCE:
            problems.append(f"sources[*].share: the shares sum to {s:g}; when every source uses share they "
                            "must sum to 1")
        elif s > 1 + SHARE_TOLERANCE:
            problems.append(f"sources[*].share: the shares sum to {s:g} > 1; shares are parts of one mixture")
    return problems


def _check_dedup(value: Any) -> list[str]:
    if value is None or isinstance(value, DedupSpec):
        return []
    if isinstance(value, str):
        return [] if value in DEDUP_MODES else [f"dedup: {value!r} is not one of {', '.join(DEDUP_MODES)}"]
    if not isinstance(value, Mapping):
        return [f"dedup: expected one of {', '.join(DEDUP_MODES)} or a mapping with mode"]
    problems = _unknown_keys(value, DEDUP_KEYS, "dedup.")
    if value.get("mode", "none") not in DEDUP_MODES:
        problems.append(f"dedup.mode: {value.get('mode')!r} is not one of {', '.join(DEDUP_MODES)}")
    if "across_sources" in value and not isinstance(value["across_sources"], bool):
        problems.append(f"dedup.across_sources: {value['across_sources']!r} is not true or false")
    thr = value.get("threshold", 0.8)
    if not _is_number(thr) or not 0 < thr <= 1:
        problems.append(f"dedup.threshold: {thr!r} is not a Jaccard similarity in (0, 1]")
    return problems


def _check_decontaminate(value: Any) -> list[str]:
    if value is None or isinstance(value, DecontaminateSpec):
        return []
    if not isinstance(value, Mapping):
        return ["decontaminate: expected a mapping with 'against' (a list of evaluation files) and 'ngram'"]
    problems = _unknown_keys(value, DECONTAM_KEYS, "decontaminate.")
    against = value.get("against")
    if isinstance(against, str):
        against = [against]
    if not isinstance(against, (list, tuple)) or not against or not all(isinstance(a, str) for a in against):
        problems.append(f"decontaminate.against: {against!r} is not a non-empty list of evaluation files")
    n = value.get("ngram", 13)
    if not _is_int(n) or n < 1:
        problems.append(f"decontaminate.ngram: {n!r} is not a whole number of words >= 1")
    return problems


def _check_format(fmt: Any, where: str) -> list[str]:
    if fmt is None or fmt == "auto" or not isinstance(fmt, str):
        return []
    from mixlab.data.formats import FORMATS

    if fmt in FORMATS:
        return []
    close = difflib.get_close_matches(fmt, FORMATS.names(), n=2)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return [f"{where}.format: {fmt!r} is not a known format; {hint}known: auto, {', '.join(FORMATS.names())}"]


def _unknown_keys(d: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> list[str]:
    problems = []
    for key in d:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(f"{prefix}{key}: unknown key; {hint}known: {', '.join(known)}")
    return problems


def _normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    d = dict(data)
    if isinstance(d.get("dedup"), str):
        d["dedup"] = {"mode": d["dedup"]}
    dec = d.get("decontaminate")
    if isinstance(dec, Mapping) and isinstance(dec.get("against"), str):
        d["decontaminate"] = {**dec, "against": [dec["against"]]}
    sources = []
    for s in d.get("sources") or []:
        if isinstance(s, Mapping):
            s = dict(s)
            for key in ("fraction", "share", "epochs"):
                if _is_number(s.get(key)):
                    s[key] = float(s[key])
        sources.append(s)
    d["sources"] = sources
    return d


def _pydantic_problem(err: Mapping[str, Any]) -> str:
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.get("loc", ())).lstrip(".")
    return f"{loc or 'spec'}: {err.get('input')!r}: {err.get('msg')}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
