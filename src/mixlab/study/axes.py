"""Study axes: any field that changes a trained run, crossed with the mixture design.

A study crosses mixtures x volumes x seeds; ``axes`` cross that with named fields of the spec::

    axes:
      lr:     {field: train.lr, values: [1.0e-4, 3.0e-4]}
      size:   {field: model, values: [world, ./models/other]}
      A_data: {field: mixture.sources.A.path, values: [data/a_curated.jsonl, data/a_generated.jsonl]}

An axis field is one of:

- ``model`` (or ``world.<field>``, the world base model's recipe): the **base model** changes, so the base
  row (``mix=none``) is scored once per value;
- ``train.<field>``: any ``mixlab.train.TrainSpec`` field but ``model``, ``data``, ``out`` and ``seed``
  (``train.lora`` switches LoRA against full fine-tuning); the untrained base is shared by every value;
- ``mixture.sources.<alias>.<field>``: how one source is made (``path``, ``hf``, ``world``, ``format``,
  ``split``, ``subset``, ``rationale``): swap a curated file for a generated one, or train on a
  chain-of-thought file with and without its rationales; the base is shared.

``eval.*`` is refused: an axis must change the trained run, and every run of a study is scored on the same
items so that its runs compare paired. Each value is applied to the study spec and the variant is validated
as any study spec is (``StudySpec.from_dict``), so a bad value is reported like a bad field.

Values are labelled readably in run ids (``mix=A+C,n=100,seed=0,lr=0.0003``) and results columns: numbers
as Python's ``g`` form, booleans as ``true``/``false``, paths by their file name without a data or model
file suffix (``./models/other`` -> ``other``, ``data/a_curated.jsonl`` -> ``a_curated``); ``labels``
overrides them. A source axis over its origin (``path``, ``hf``, ``world``) replaces the source's origin: a
world source can be swapped for a file.

>>> a = AxisSpec(field="train.lr", values=(1e-4, 3e-4))
>>> a.labels_or_default(), a.changes_base
(('0.0001', '0.0003'), False)
>>> AxisSpec(field="model", values=("world", "./models/other.gguf", "org/SmolLM2-1.7B")).labels_or_default()
('world', 'other', 'SmolLM2-1.7B')
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict

#: columns of the results and item stores, and run-id keys: an axis may not take these names (an axis named
#: like a column of ``training.csv``, e.g. ``lr``, is written there as ``axis_lr``)
RESERVED_NAMES = ("run_id", "mixture", "n_train", "seed", "mix", "n", "model", "instruction_type", "ability",
                  "task", "metric", "value", "stderr", "n_items", "n_clusters", "primary", "chance", "scale_min",
                  "scale_max", "template", "item", "cluster")
#: TrainSpec fields a study sets per run: never an axis
PER_RUN_TRAIN = ("model", "data", "out", "seed")
#: source fields an axis may change (the alias and name label the arms; amounts are the design's)
SOURCE_FIELDS = ("path", "hf", "world", "format", "split", "subset", "upsample", "rationale")
#: where a source's rows come from: an axis over one of them replaces the others (a world source becomes a file)
ORIGINS = ("path", "hf", "world")
#: file suffixes left out of a path value's label
FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".arrow", ".txt", ".gguf", ".yaml", ".yml", ".gz")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


class AxisSpec(BaseModel):
    """One named axis: a spec field and the values it takes (the first is the reference value)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    """The spec field the axis sets: ``model``, ``world.<f>``, ``train.<f>`` or
    ``mixture.sources.<alias>.<f>``."""
    values: tuple[Any, ...]
    """The values, in order; the first is the reference an axis's own effect is measured against."""
    labels: tuple[str, ...] | None = None
    """Names of the values in run ids and results columns (default: derived from the values)."""

    @property
    def changes_base(self) -> bool:
        """True when the axis changes the untrained base model (then each value has its own base row)."""
        return self.field == "model" or self.field.startswith("world.")

    def labels_or_default(self) -> tuple[str, ...]:
        return self.labels if self.labels is not None else tuple(value_label(v) for v in self.values)


def value_label(value: Any) -> str:
    """A value as it appears in a run id: ``3e-4 -> '0.0003'``, ``True -> 'true'``, ``'./m/x.gguf' -> 'x'``."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, (int, float)):
        text = format(value, "g")
    elif value is None:
        text = "none"
    else:
        text = str(value)
        if "/" in text or "\\" in text or text.lower().endswith(FILE_SUFFIXES):
            p = PurePosixPath(text.replace("\\", "/").rstrip("/"))
            text = p.name[:-len(p.suffix)] if p.suffix.lower() in FILE_SUFFIXES else p.name
    return UNSAFE.sub("-", text).strip("-") or "-"


def check_axes(axes: Any, data: Mapping[str, Any], train_fields: Sequence[str],
               world_fields: Sequence[str], inert_train: Sequence[str] = ()) -> list[str]:
    """Problems with the ``axes`` mapping of a study dict (names, fields, labels); the values themselves are
    checked by building each variant spec (``variant_dict``)."""
    if axes is None:
        return []
    if not isinstance(axes, Mapping):
        return [f"axes: must map axis names to {{field, values}}, got {type(axes).__name__}"]
    problems: list[str] = []
    fields_seen: dict[str, str] = {}
    for name, ax in axes.items():
        where = f"axes.{name}"
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(f"{where}: an axis name is a letter then letters, digits or _ (it names a column)")
        elif name in RESERVED_NAMES:
            problems.append(f"{where}: {name!r} is a column of the results store; name the axis otherwise "
                            f"(e.g. {name}_axis, or size for model)")
        if not isinstance(ax, Mapping):
            problems.append(f"{where}: must be a mapping {{field: ..., values: [...]}}")
            continue
        unknown = sorted(set(ax) - set(AxisSpec.model_fields))
        if unknown:
            problems.append(f"{where}: unknown keys {', '.join(map(str, unknown))}; an axis has field, values, labels")
        fld = ax.get("field")
        if not isinstance(fld, str):
            problems.append(f"{where}.field: missing; one of {valid_fields_text(data, train_fields, world_fields)}")
        else:
            problems += [f"{where}.field: {p}" for p in _check_field(fld, data, train_fields, world_fields,
                                                                     inert_train)]
            if fld in fields_seen:
                problems.append(f"{where}.field: {fld} is already the field of axis {fields_seen[fld]}")
            fields_seen[fld] = str(name)
        values = ax.get("values")
        if not isinstance(values, (list, tuple)) or len(values) < 2:
            problems.append(f"{where}.values: {values!r} must be a list of at least two values (the first is "
                            "the reference)")
            continue
        labels = ax.get("labels")
        if labels is not None:
            if not isinstance(labels, (list, tuple)) or len(labels) != len(values):
                problems.append(f"{where}.labels: {labels!r} must name each of the {len(values)} values")
                continue
            bad = [x for x in labels if not isinstance(x, str) or value_label(x) != x]
            if bad:
                problems.append(f"{where}.labels: {bad!r} may use only letters, digits and . _ + -")
        else:
            labels = [value_label(v) for v in values]
        if len(set(labels)) < len(labels):
            problems.append(f"{where}: values {list(values)!r} give repeated labels {list(labels)!r} in run ids; "
                            "give distinct values or `labels: [...]`")
    return problems


def valid_fields_text(data: Mapping[str, Any], train_fields: Sequence[str], world_fields: Sequence[str]) -> str:
    aliases = _aliases(data)
    train = ", ".join(f"train.{f}" for f in train_fields if f not in PER_RUN_TRAIN)
    world = ", ".join(f"world.{f}" for f in world_fields)
    sources = f"mixture.sources.<{'|'.join(aliases) or 'alias'}>.<{'|'.join(SOURCE_FIELDS)}>"
    return f"model; {train}; {world}; {sources}"


def _check_field(fld: str, data: Mapping[str, Any], train_fields: Sequence[str],
                 world_fields: Sequence[str], inert_train: Sequence[str] = ()) -> list[str]:
    parts = fld.split(".")
    valid = valid_fields_text(data, [f for f in train_fields if f not in inert_train], world_fields)
    if parts[0] == "eval":
        return [f"{fld}: an axis must change the trained run; evaluation options are the study's, the same for "
                "every run, so that all runs are scored on the same items (run a second study to vary them)"]
    if fld == "model":
        return []
    if parts[0] == "train" and len(parts) == 2:
        if parts[1] in PER_RUN_TRAIN:
            return [f"{fld}: set per run by the study, not an axis (use the field `model` for the base model)"]
        if parts[1] in inert_train:
            return [f"{fld}: does not change what is learned (logging, saving, threads), so runs along it would "
                    "be the same run; an axis must change the trained run"]
        if parts[1] in train_fields:
            return []
        return [f"{fld}: not a TrainSpec field; valid fields: {valid}"]
    if parts[0] == "world" and len(parts) == 2:
        if not str(data.get("model", "world")).startswith("world"):
            return [f"{fld}: the world recipe applies only to `model: world` (or `world:SIZE`)"]
        if parts[1] in world_fields:
            return []
        return [f"{fld}: not a world model field; valid fields: {valid}"]
    if parts[:2] == ["mixture", "sources"] and len(parts) == 4:
        aliases = _aliases(data)
        if parts[2] not in aliases:
            return [f"{fld}: no source {parts[2]!r}; sources: {', '.join(aliases)}"]
        if parts[3] not in SOURCE_FIELDS:
            return [f"{fld}: {parts[3]!r} cannot vary along an axis; a source axis sets one of "
                    f"{', '.join(SOURCE_FIELDS)} (amounts are the design's and volumes')"]
        return []
    return [f"{fld}: not a field an axis can set; valid fields: {valid}"]


def _aliases(data: Mapping[str, Any]) -> list[str]:
    mix = data.get("mixture")
    sources = mix.get("sources") if isinstance(mix, Mapping) else None
    if not isinstance(sources, (list, tuple)):
        return []
    return [str(s.get("alias") or s.get("name")) for s in sources if isinstance(s, Mapping)]


def combinations(axes: Mapping[str, AxisSpec]) -> list[dict[str, int]]:
    """Every combination of axis values as ``{axis: index of its value}``, the first axis slowest."""
    names = list(axes)
    return [dict(zip(names, idx, strict=True))
            for idx in itertools.product(*(range(len(axes[n].values)) for n in names))]


def variant_dict(data: Mapping[str, Any], axes: Mapping[str, AxisSpec], combo: Mapping[str, int]) -> dict[str, Any]:
    """The study dict ``data`` with each axis's field set to its value in ``combo``, and no ``axes``."""
    out = {k: v for k, v in data.items() if k != "axes"}
    for name, i in combo.items():
        out = set_field(out, axes[name].field, axes[name].values[i])
    return out


def set_field(data: Mapping[str, Any], fld: str, value: Any) -> dict[str, Any]:
    """A copy of the study dict ``data`` with ``fld`` (an axis field) set to ``value``."""
    parts = fld.split(".")
    out = dict(data)
    if fld == "model":
        out["model"] = value
    elif parts[0] in ("train", "world"):
        out[parts[0]] = {**(out.get(parts[0]) or {}), parts[1]: value}
    else:  # mixture.sources.<alias>.<field>; a new origin (path, hf, world) replaces the source's own
        drop = ORIGINS if parts[3] in ORIGINS else ()
        mix = dict(out["mixture"])
        mix["sources"] = [{**{k: v for k, v in s.items() if k not in drop}, parts[3]: value}
                          if str(s.get("alias") or s.get("name")) == parts[2] else s for s in mix["sources"]]
        out["mixture"] = mix
    return out
