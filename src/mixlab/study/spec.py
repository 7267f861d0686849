"""Study specs: a design over mixtures x volumes x seeds that expands into frozen run specs.

A study spec is YAML (see ``configs/studies/``)::

    name: mixture-paper
    model: world                  # a model folder / hub id / .gguf, or `world` for the embedded base model
    mixture:                      # a mixture spec (see docs/mixtures.md); aliases label the arms
      sources:
        - {name: chat, alias: A, world: chat, count: 100}
        - {name: code, alias: C, world: code, count: 100}
        - {name: nlp,  alias: P, world: nlp,  count: 100}
    design: subsets               # a name of mixlab.mix.design.DESIGNS: subsets, leave_one_out, ...
    volumes: [100, 400]           # rows per source (nested); omit to use the amounts as written
    seeds: [0, 1]
    train: {epochs: 3, lr: 3.0e-3, batch_size: 16, max_length: 128}   # TrainSpec fields
    eval: {suites: [world]}

Every run is a pure function of its ``RunSpec``; the spec's hash is the run's identity, and its name encodes
what varies: ``mix=A+C,n=400,seed=1``. ``axes`` (``mixlab.study.axes``) cross the design with any field that
changes a trained run, and their values join the name: ``mix=A+C,n=400,seed=1,lr=0.0003``.

>>> spec = StudySpec.model_validate({"name": "s", "model": "world", "mixture": {"sources": [
...     {"name": "chat", "alias": "A", "world": "chat", "count": 10},
...     {"name": "code", "alias": "C", "world": "code", "count": 10}]},
...     "design": "subsets", "volumes": [10, 40], "seeds": [0, 1]})
>>> [r.run_id for r in expand(spec)][:4]
['mix=none', 'mix=A,n=10,seed=0', 'mix=C,n=10,seed=0', 'mix=A+C,n=10,seed=0']
>>> len(expand(spec))   # base once + 3 arms x 2 volumes x 2 seeds
13
>>> lr = spec.model_copy(update={"axes": {"lr": AxisSpec(field="train.lr", values=(1e-4, 3e-4))}})
>>> [r.run_id for r in expand(lr)][:2], len(expand(lr))   # the base is shared: lr does not change it
(['mix=none', 'mix=A,n=10,seed=0,lr=0.0001'], 25)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mixlab.artifacts import canonical_json, content_hash
from mixlab.errors import MixlabError, SpecError
from mixlab.mix.design import DESIGNS, Design, get_design
from mixlab.mix.spec import MixtureSpec
from mixlab.registry import UnknownNameError
from mixlab.study.axes import AxisSpec, check_axes, combinations, set_field, variant_dict


def _beside(base: Path, path: str) -> str:
    """``path`` with ``~`` and environment variables expanded, relative to ``base`` (the study file's folder)."""
    p = Path(os.path.expandvars(path)).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


class EvalOptions(BaseModel):
    """What every run is scored on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    suites: tuple[str, ...] = ("world",)
    """Suite names (``mixlab eval --list``)."""
    limit: int | None = None
    """Items per task (``None``: the suite's default)."""
    limits: dict[str, int] = Field(default_factory=dict)
    """Items per task of the named suites, instead of ``limit`` (``{arc_easy: 200, mmlu: 60}``): a
    log-likelihood item costs a fraction of a generated answer, so the cheap suites can carry more items."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Suite options (``data_dir``, ``shots``, ``n_samples``, ``judge``, ...)."""
    backend: str = "transformers"
    """Model backend for evaluation (``transformers``, ``vllm``)."""
    batch_size: int | None = None
    """Generation / scoring batch size (``None``: the backend's default)."""

    @model_validator(mode="after")
    def _check_limits(self) -> EvalOptions:
        problems = [f"limits.{k}: not one of the suites ({', '.join(self.suites)})" for k in self.limits
                    if k not in self.suites]
        problems += [f"limits.{k}: {v!r} is not a number of items >= 1" for k, v in self.limits.items()
                     if isinstance(v, bool) or not isinstance(v, int) or v < 1]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ExecutorOptions(BaseModel):
    """Where runs execute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = "local"
    """``local`` (a process pool on this machine), ``ray`` (a Ray cluster) or ``slurm`` (an sbatch array)."""
    workers: int | None = None
    """Runs at once (local: default ``min(2, cores)``; each gets ``cores / workers`` threads)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Executor options (ray: ``address``, ``num_cpus`` per run; slurm: ``partition``, ``time``, ...)."""


class StudySpec(BaseModel):
    """A whole mixture study."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "study"
    """Study name (the default output folder)."""
    model: str = "world"
    """Base model: a folder, hub id, ``.gguf`` file, or ``world`` (the embedded world's pretrained base;
    ``world:xs`` / ``world:s`` / ``world:m`` name its sizes, ``world`` is ``world:m``)."""
    world: dict[str, Any] = Field(default_factory=dict)
    """Recipe overrides for the world base model (``mixlab.world.model.WorldModelSpec`` fields)."""
    mixture: MixtureSpec
    """The sources (with aliases and amounts) the design varies."""
    source_types: dict[str, str] = Field(default_factory=dict)
    """Instruction type of each source alias (``{A: chat}``), to tell direct from cross-type effects; world
    sources are known without it."""
    design: str = "subsets"
    """How the mixture expands into arms: a name of ``mixlab.mix.design.DESIGNS`` (``subsets``,
    ``leave_one_out``, ``single``, ``simplex``, ``scale_one``, ``ladder``, ``dirichlet``)."""
    design_options: dict[str, Any] = Field(default_factory=dict)
    """Options of the design (simplex: ``steps``; scale_one: ``source``, ``factors``; dirichlet: ``n``, ``alpha``;
    ladder: ``per_source``); each design declares the ones it reads."""
    volumes: tuple[int, ...] | None = None
    """Rows per source for every arm, nested (``None``: the amounts as written). For the share designs
    (``simplex``, ``dirichlet``, ``ladder``) a volume is the mixture's total rows instead."""
    seeds: tuple[int, ...] = (0,)
    """Seeds: each seeds both the mixture's sampling and training."""
    include_base: bool = True
    """Score the base model once as the ``none`` row."""
    train: dict[str, Any] = Field(default_factory=dict)
    """``mixlab.train.TrainSpec`` fields shared by every run (model, data, out and seed are set per run)."""
    eval: EvalOptions = Field(default_factory=EvalOptions)
    """Evaluation of every run."""
    executor: ExecutorOptions = Field(default_factory=ExecutorOptions)
    """Where runs execute."""
    axes: dict[str, AxisSpec] = Field(default_factory=dict)
    """Named axes crossed with the design: ``{lr: {field: train.lr, values: [1e-4, 3e-4]}}``
    (``mixlab.study.axes``)."""

    @field_validator("design")
    @classmethod
    def _known_design(cls, v: str) -> str:
        try:
            return get_design(v).name
        except UnknownNameError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("model")
    @classmethod
    def _known_world_size(cls, v: str) -> str:
        if v.startswith("world:"):
            from mixlab.errors import MixlabError
            from mixlab.world.model import world_size

            try:
                world_size(v)
            except MixlabError as exc:
                raise ValueError(str(exc)) from None
        return v

    @classmethod
    def from_yaml(cls, path: str | Path) -> StudySpec:
        path = Path(path)
        if not path.is_file():
            raise MixlabError(f"study spec not found: {path}")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise MixlabError(f"{path}: not valid YAML: {exc}") from None
        base = path.resolve().parent
        if isinstance(data, Mapping) and isinstance(data.get("mixture"), Mapping):
            # source paths in the mixture are relative to the study file
            data = {**data, "mixture": {**data["mixture"], "base_dir": str(base)}}
        ev = data.get("eval") if isinstance(data, Mapping) else None
        if isinstance(ev, Mapping) and isinstance(ev.get("options"), Mapping) and ev["options"].get("data_dir"):
            opts = {**ev["options"], "data_dir": _beside(base, str(ev["options"]["data_dir"]))}
            data = {**data, "eval": {**ev, "options": opts}}
        model = data.get("model") if isinstance(data, Mapping) else None
        if isinstance(model, str) and model.startswith((".", "~", "$")):  # a path, not a hub id
            data = {**data, "model": _beside(base, model)}
        axes = data.get("axes") if isinstance(data, Mapping) else None
        if isinstance(axes, Mapping):  # a model axis's paths are relative to the study file too
            data = {**data, "axes": {k: _model_paths(ax, base) for k, ax in axes.items()}}
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that ``from_dict`` reads back to an equal spec (source paths keep their base folder)."""
        d = self.model_dump(mode="json")
        d["mixture"] = {**self.mixture.to_dict(), **({"base_dir": self.mixture.base_dir}
                                                      if self.mixture.base_dir else {})}
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudySpec:
        problems = check_study_dict(data)
        if problems:
            raise SpecError("study spec", problems)
        try:
            return cls.model_validate(data)
        except SpecError as exc:
            raise SpecError("study spec", [f"mixture: {p}" for p in exc.problems]) from exc
        except ValidationError as exc:
            raise SpecError("study spec", [_problem(e) for e in exc.errors()]) from exc

    def variant(self, combo: Mapping[str, int]) -> StudySpec:
        """This spec with each axis set to its value ``combo[axis]`` (an index), without axes."""
        return StudySpec.from_dict(variant_dict(self.to_dict(), self.axes, combo))


def _model_paths(axis: Any, base: Path) -> Any:
    if not (isinstance(axis, Mapping) and axis.get("field") == "model" and isinstance(axis.get("values"), list)):
        return axis
    values = [_beside(base, v) if isinstance(v, str) and v.startswith((".", "~", "$")) else v
              for v in axis["values"]]
    return {**axis, "values": values}


def check_study_dict(data: Any) -> list[str]:
    """Problems that pydantic would report one at a time, or not in words a user can act on."""
    if not isinstance(data, Mapping):
        return [f"the study spec must be a mapping, got {type(data).__name__}"]
    problems = []
    known = set(StudySpec.model_fields)
    for key in data:
        if key not in known:
            problems.append(f"{key}: unknown field; known fields: {', '.join(sorted(known))}")
    if "mixture" not in data:
        problems.append("mixture: missing; give the sources the design varies (see docs/mixtures.md)")
    vols = data.get("volumes")
    if vols is not None and (not isinstance(vols, (list, tuple)) or not vols
                             or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in vols)):
        problems.append(f"volumes: {vols!r} must be a list of whole numbers >= 1 (rows per source)")
    elif vols is not None and list(vols) != sorted(set(vols)):
        problems.append(f"volumes: {vols!r} must be increasing without repeats")
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, (list, tuple)) or not seeds or any(not isinstance(s, int) for s in seeds):
        problems.append(f"seeds: {seeds!r} must be a non-empty list of integers")
    train = data.get("train", {})
    if isinstance(train, Mapping):
        for k in ("model", "data", "out", "seed"):
            if k in train:
                problems.append(f"train.{k}: set per run by the study; remove it (use the top-level field)")
    opts = data.get("design_options") or {}
    try:
        design: Design | None = get_design(str(data.get("design", "subsets")))
    except UnknownNameError:
        design = None
        problems.append(f"design: {data.get('design')!r} is unknown; use one of {', '.join(DESIGNS.names())}")
    if design is not None and isinstance(opts, Mapping):
        unknown = sorted(set(opts) - set(design.options))
        if unknown:
            problems.append(f"design_options: {', '.join(unknown)} not read by the {design.name} design; it reads "
                            f"{', '.join(design.options) or 'no options'}")
        if design.volume_is_total and vols is not None and "total" in opts:
            problems.append(f"design_options.total: {opts['total']!r} and volumes {vols!r} both set the mixture's "
                            "size for a share design; keep one (volumes: several totals; total: one)")
    if data.get("axes"):
        problems += _axis_problems(data)
    return problems


def _axis_problems(data: Mapping[str, Any]) -> list[str]:
    """The axes' names and fields, then each value applied to the spec and validated as a spec is."""
    from mixlab.train.spec import NON_IDENTITY_FIELDS, TrainSpec
    from mixlab.world.model import WorldModelSpec

    train_fields = [f.name for f in dataclasses.fields(TrainSpec)]
    world_fields = [f.name for f in dataclasses.fields(WorldModelSpec)]
    problems = check_axes(data["axes"], data, train_fields, world_fields, NON_IDENTITY_FIELDS)
    if not isinstance(data["axes"], Mapping):
        return problems
    base = {k: v for k, v in data.items() if k != "axes"}
    for name, ax in data["axes"].items():
        if any(p.startswith((f"axes.{name}:", f"axes.{name}.")) for p in problems):
            continue  # its field or values are wrong already
        for i, value in enumerate(ax["values"]):
            where = f"axes.{name}.values[{i}] ({value!r})"
            variant = set_field(base, ax["field"], value)
            found = check_study_dict(variant)
            if not found:
                try:
                    StudySpec.model_validate(variant)
                except SpecError as exc:
                    found = [f"mixture: {p}" for p in exc.problems]
                except ValidationError as exc:
                    found = [_problem(e) for e in exc.errors()]
            if not found and ax["field"].startswith("train."):
                found = _train_problems(variant.get("train") or {}, TrainSpec)
            if not found and ax["field"].startswith("world."):
                try:
                    WorldModelSpec(**(variant.get("world") or {}))
                except (TypeError, ValueError) as exc:
                    found = [f"world: {exc}"]
            problems += [f"{where}: {p}" for p in found]
    return problems


def _train_problems(train: Mapping[str, Any], train_spec: Any) -> list[str]:
    """A study's ``train`` fields validated as TrainSpec validates them (model, data, out stand in)."""
    try:
        train_spec.from_dict({**train, "model": "m", "data": "d", "out": "o"})
    except SpecError as exc:
        return [f"train.{p}" for p in exc.problems]
    return []


def source_types(spec: StudySpec) -> dict[str, str]:
    """``{alias: instruction type}`` for every source whose type is declared or known (world sources)."""
    out = {}
    for s in spec.mixture.sources:
        if s.label in spec.source_types:
            out[s.label] = spec.source_types[s.label]
        elif s.name in spec.source_types:
            out[s.label] = spec.source_types[s.name]
        elif s.world:
            from mixlab.world.source import world_type

            out[s.label] = world_type(s.world)
    return out


def _problem(err: Mapping[str, Any]) -> str:
    where = ".".join(str(p) for p in err.get("loc", ())) or "spec"
    return f"{where}: {err.get('msg')} (got {err.get('input')!r})"


@dataclass(frozen=True)
class RunSpec:
    """One run of a study: a mixture, a volume, a seed and the axis values. Its ``identity`` hash is its cache
    key."""

    run_id: str
    mixture_label: str
    n_train: int
    seed: int
    model: str
    mixture: MixtureSpec | None
    train: Mapping[str, Any] = field(default_factory=dict)
    eval: EvalOptions = field(default_factory=EvalOptions)
    coords: Mapping[str, Any] = field(default_factory=dict)
    #: ``{axis: value label}`` of the study's axes that apply to this run (a shared base row has none)
    axes: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_base(self) -> bool:
        return self.mixture is None

    def identity(self) -> str:
        """The hash of everything that changes this run's result: its spec, the code that trains and scores,
        the libraries' versions and the base model's content (``study.fingerprint``)."""
        from mixlab.study.fingerprint import code_fingerprint, library_versions, model_fingerprint

        content = model_fingerprint(self.model)  # a local folder by its content: retrained in place is noticed,
        return content_hash({                    # moved or reinstalled elsewhere is the same model
            "code": code_fingerprint(),  # a fix to training or scoring redoes the run
            "libraries": library_versions(),
            "model": self.model if content is None else None,
            "model_content": content,
            "mixture": None if self.mixture is None else self.mixture.to_dict(),
            "train": dict(self.train) if not self.is_base else None,
            # per-suite limits only when set: a study without them keeps the identities (and finished runs) it had
            "eval": self.eval.model_dump(mode="json", exclude={"limits"} if not self.eval.limits else None),
            # only with axes: a study without them keeps the identities (and finished runs) it had
            **({"axes": dict(self.axes)} if self.axes else {}),
        })

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "mixture": self.mixture_label, "n_train": self.n_train, "seed": self.seed,
            "model": self.model, "coords": dict(self.coords), "identity": self.identity(),
            "mixture_spec": None if self.mixture is None else self.mixture.to_dict(),
            "train": dict(self.train), "eval": self.eval.model_dump(mode="json"), "axes": dict(self.axes),
        }


def expand(spec: StudySpec, model: str | Mapping[str, str] | None = None) -> list[RunSpec]:
    """The study's runs: the base model once (``none``), then every arm x volume x seed; with axes, that for
    every combination of axis values, with the base once per value of the axes that change it (``model``).

    ``model`` replaces ``spec.model`` (the study resolves ``world`` to the built base model's folder); with
    axes that change the base model it maps each variant's ``base_key`` to its resolved model.
    """
    if not spec.axes:
        return _expand_design(spec, model if isinstance(model, str) else None if model is None
                              else model.get(base_key(spec)))
    bases: list[RunSpec] = []
    trained: list[RunSpec] = []
    seen: set[str] = set()
    for combo in combinations(spec.axes):
        variant = spec.variant(combo)
        labels = {name: spec.axes[name].labels_or_default()[i] for name, i in combo.items()}
        for run in _expand_design(variant, _variant_model(spec, variant, model)):
            axes = {k: v for k, v in labels.items() if spec.axes[k].changes_base} if run.is_base else labels
            run_id = run.run_id + "".join(f",{k}={v}" for k, v in axes.items())
            if run_id not in seen:
                seen.add(run_id)
                (bases if run.is_base else trained).append(dataclasses.replace(run, run_id=run_id, axes=axes))
    return bases + trained


def base_key(spec: StudySpec) -> str:
    """What names a spec's untrained base model: ``model``, with the world recipe when it is the world's."""
    return spec.model if not spec.world else f"{spec.model} {canonical_json(spec.world)}"


def base_variants(spec: StudySpec) -> list[StudySpec]:
    """One variant of ``spec`` per distinct base model (``[spec]`` without axes that change it)."""
    out: dict[str, StudySpec] = {}
    for combo in combinations({k: a for k, a in spec.axes.items() if a.changes_base}):
        variant = spec.variant(combo) if combo else spec
        out.setdefault(base_key(variant), variant)
    return list(out.values()) or [spec]


def _variant_model(spec: StudySpec, variant: StudySpec, model: str | Mapping[str, str] | None) -> str | None:
    if model is None:
        return None
    if isinstance(model, Mapping):
        return model.get(base_key(variant))
    return model if base_key(variant) == base_key(spec) else None


def _expand_design(spec: StudySpec, model: str | None = None) -> list[RunSpec]:
    """The runs of one spec without axes: the base once, then every arm x volume x seed."""
    design = get_design(spec.design)
    base_model = model or spec.model
    runs: list[RunSpec] = []
    seen: set[str] = set()
    volumes: tuple[int | None, ...] = spec.volumes or (None,)
    for seed in spec.seeds:
        for n in volumes:
            mix = spec.mixture.replace(seed=seed)
            if n is not None and not design.volume_is_total:
                mix = mix.replace(sources=[s.with_amount("count", n, upsample=s.upsample) for s in mix.sources])
            for point in _design_points(design, spec, mix, n):
                if not point.spec.sources:
                    if spec.include_base and "mix=none" not in seen:
                        seen.add("mix=none")
                        runs.insert(0, RunSpec("mix=none", "none", 0, spec.seeds[0], base_model, None,
                                               eval=spec.eval, coords={"volume": 0}))
                    continue
                n_label = n if n is not None else _rows_asked(point.spec)
                run_id = f"mix={point.label},n={n_label},seed={seed}"
                if run_id in seen:
                    continue
                seen.add(run_id)
                train = {**spec.train}
                runs.append(RunSpec(run_id, point.label, int(n_label), seed, base_model, point.spec, train,
                                    spec.eval, {**point.coords, "volume": n_label}))
    if spec.include_base and "mix=none" not in seen:
        runs.insert(0, RunSpec("mix=none", "none", 0, spec.seeds[0], base_model, None, eval=spec.eval,
                               coords={"volume": 0}))
    return runs


def _design_points(design: Design, spec: StudySpec, mix: MixtureSpec, n: int | None) -> list[Any]:
    opts = dict(spec.design_options)
    if design.volume_is_total and n is not None:
        opts["total"] = n  # a volume of a share design is the mixture's total
    return design.points(mix, **opts)


def _rows_asked(mix: MixtureSpec) -> int:
    """A volume label for arms whose amounts are written out: the total when known, else the sum of counts."""
    if mix.total:
        return int(mix.total)
    return int(sum(int(s.count or 0) for s in mix.sources))
