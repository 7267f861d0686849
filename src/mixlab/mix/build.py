"""Build a mixture: load, clean, resolve amounts, compose an index array, write rows and manifest.

>>> manifest = build_mixture(MixtureSpec.from_yaml("configs/mixtures/paper1_acp.yaml"), "runs/acp")  # doctest: +SKIP
>>> [(s["name"], s["available"], s["selected"]) for s in manifest["sources"]]                       # doctest: +SKIP
[('alpaca', 999, 999), ('code', 2017, 2017), ('p3', 55185, 2000)]

The output folder holds:

- ``train.jsonl``: one row per selected example, in messages form with its ``source`` (mixlab's ``messages``
  format reads it back with its tags);
- ``selection.npy``: the mixture as an index array, ``[source number, row number]`` per row, over the
  sources' loaded rows (and so over their token caches);
- ``manifest.json``: what was asked, what it meant and what was built (see ``docs/mixtures.md``).

Order of operations, each step fixed by the seed: load (rows that cannot be converted are quarantined) ->
dedup and decontaminate (before any repeat) -> each source's seeded order of its usable rows -> amounts
resolved to row counts -> the first ``k`` rows of each order (cycling for repeats) -> one seeded shuffle.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mixlab.artifacts import atomic_write_bytes, atomic_write_text, file_sha256, json_line, write_manifest
from mixlab.data.load import LoadedSource
from mixlab.errors import MixlabError, SpecError
from mixlab.mix import clean
from mixlab.mix.amounts import (
    STREAM_FINAL_SHUFFLE,
    AmountPlan,
    resolve_amounts,
    selected_tokens,
    source_order,
)
from mixlab.mix.sources import examples_hash, load_one, origin_record, renamed
from mixlab.mix.spec import MixtureSpec

MANIFEST_VERSION = 1


class MixtureWarning(UserWarning):
    """Legal but suspicious input (a share rounding to zero rows, a source smaller than asked, ...)."""


def as_spec(spec: MixtureSpec | Mapping[str, Any] | str | Path) -> MixtureSpec:
    """Accept a spec object, a dict or a YAML path."""
    if isinstance(spec, MixtureSpec):
        return spec
    if isinstance(spec, Mapping):
        return MixtureSpec.model_validate(dict(spec))
    return MixtureSpec.from_yaml(spec)


def compose(orders: Sequence[np.ndarray], rows: Sequence[int], seed: int, *, shuffle: bool = True
            ) -> tuple[np.ndarray, np.ndarray]:
    """The mixture as an index array: ``(source number, row number)`` per mixture row (integer arrays).

    Source ``s`` contributes the first ``rows[s]`` entries of ``orders[s]`` (cycling when more rows than the
    order holds); then one seeded shuffle mixes the sources (its own random stream).

    >>> src, row = compose([np.array([2, 0, 1]), np.array([1, 0])], [2, 3], seed=0, shuffle=False)
    >>> src.tolist(), row.tolist()
    ([0, 0, 1, 1, 1], [2, 0, 1, 0, 1])
    """
    # Pack (source, row) into one integer so that the shuffle moves one array, in place (about half the
    # time of a permutation plus two gathers on 1M rows): uint32 when the rows fit, else int64.
    n_src = len(orders)
    sbits = max(1, (n_src - 1).bit_length())
    longest = max((len(o) for o in orders), default=0)
    dtype, shift = (np.uint32, 32 - sbits) if longest < 2 ** (32 - sbits) else (np.int64, 40)
    total = int(sum(int(k) for k in rows))
    packed: Any = np.empty(total, dtype=dtype)
    pos = 0
    for s, (order, k) in enumerate(zip(orders, rows, strict=True)):
        k = int(k)
        if k == 0:
            continue
        tagged: Any = np.asarray(order).astype(dtype)
        tagged |= s << shift
        reps, rem = divmod(k, len(tagged)) if len(tagged) else (0, k)
        if len(tagged) == 0:
            raise ValueError(f"source {s} has no rows to take {k} from")
        for _ in range(reps):  # the cycled prefix of the order, as ``take`` defines it
            packed[pos : pos + len(tagged)] = tagged
            pos += len(tagged)
        packed[pos : pos + rem] = tagged[:rem]
        pos += rem
    if shuffle and total:
        np.random.default_rng([seed, STREAM_FINAL_SHUFFLE]).shuffle(packed)
    source = (packed >> shift).astype(np.int16 if n_src < 2**15 else np.int64)
    row = packed & ((1 << shift) - 1)
    return source, row


def read_selection(mixture_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(source number, row number)`` arrays of a built mixture."""
    sel = np.load(Path(mixture_dir) / "selection.npy")
    return sel[:, 0], sel[:, 1]


# ------------------------------------------------------------------------------------------------ build
def build_mixture(
    spec: MixtureSpec | Mapping[str, Any] | str | Path,
    out_dir: str | Path,
    *,
    tokenizer: Any = None,
    template: str | None = None,
    cache_dir: str | Path | None = None,
    loaded: Mapping[str, LoadedSource] | None = None,
    progress: bool = True,
    verbose: bool = True,
) -> dict[str, Any]:
    """Build ``spec`` into ``out_dir`` and return the manifest (also written to ``out_dir/manifest.json``).

    Args:
        spec: a ``MixtureSpec``, a dict, or a YAML path.
        tokenizer: a Hugging Face tokenizer; with it every source is tokenized once into ``cache_dir`` and
            the manifest counts trainable tokens. Needed by ``tokens`` amounts.
        template: the training template name (default ``chat``: the tokenizer's chat template).
        cache_dir: cache folder for token caches and dedup / decontamination masks (default
            ``$MIXLAB_CACHE/tokens``, default ``~/.cache/mixlab/tokens``).
        loaded: already-loaded sources by name (load once with ``load_sources``, build many); sources not
            in it are loaded here.
        verbose: print the composition actually built.
    """
    spec = as_spec(spec)
    if tokenizer is None and any(s.tokens is not None for s in spec.sources):
        bad = [f"sources[{i}].tokens: a tokens amount counts trainable tokens, so it needs a tokenizer "
               "(--tokenizer PATH, or build_mixture(..., tokenizer=...))"
               for i, s in enumerate(spec.sources) if s.tokens is not None]
        raise SpecError("mixture spec", bad)
    sources = _loaded(spec, loaded)
    hashes = {s.name: examples_hash(sources[s.name].examples) for s in spec.sources}
    drops = _clean(spec, sources, hashes, cache_dir)
    orders = {}
    for s in spec.sources:
        order = source_order(len(sources[s.name].examples), spec.seed, s.name)
        orders[s.name] = order[~drops[s.name]["any"][order]]
    caches = _caches(spec, sources, hashes, tokenizer, template, cache_dir, progress)
    tokens_in_order = {n: np.asarray(c.trainable)[orders[n]] for n, c in caches.items()}
    plans = resolve_amounts(spec, {n: len(o) for n, o in orders.items()}, tokens_in_order)
    source, row = compose([orders[s.name] for s in spec.sources], [p.rows for p in plans], spec.seed,
                          shuffle=spec.shuffle)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data_sha = _write_rows(out, spec, sources, source, row)
    sel = np.stack([source, row], axis=1).astype(np.int64) if len(row) else np.zeros((0, 2), np.int64)
    atomic_write_bytes(out / "selection.npy", _npy_bytes(sel))
    manifest = _manifest(spec, sources, drops, orders, plans, hashes, caches, source, row, tokenizer, template)
    manifest["files"] = {"train.jsonl": data_sha, "selection.npy": file_sha256(out / "selection.npy")}
    for w in manifest["warnings"]:
        warnings.warn(w, MixtureWarning, stacklevel=2)
    manifest = {"id": write_manifest(out, manifest), **manifest}
    if verbose:
        print(format_composition(manifest, out))
    return manifest


def _loaded(spec: MixtureSpec, loaded: Mapping[str, LoadedSource] | None) -> dict[str, LoadedSource]:
    given = dict(loaded or {})
    return {s.name: renamed(given[s.name], s.name) if s.name in given else load_one(spec, s)
            for s in spec.sources}


def _clean(spec: MixtureSpec, sources: Mapping[str, LoadedSource], hashes: Mapping[str, str],
           cache_dir: str | Path | None) -> dict[str, dict[str, Any]]:
    """Per source: ``dedup`` mask, ``decontam`` masks by eval set, and ``any`` (rows not usable)."""
    from mixlab.mix.token_cache import default_cache_dir

    rows = [(s.name, sources[s.name].examples) for s in spec.sources]
    order = [hashes[s.name] for s in spec.sources]
    store = clean.MaskStore(cache_dir or default_cache_dir())
    dd = spec.dedup
    dup = clean.cached_duplicate_masks(rows, order, mode=dd.mode, across_sources=dd.across_sources,
                                       threshold=dd.threshold, store=store)
    dec: dict[str, dict[str, np.ndarray]] = {name: {} for name, _ in rows}
    if spec.decontaminate is not None:
        files = {p: spec.resolve(p) for p in spec.decontaminate.against}
        missing = [f"decontaminate.against: {p!r} not found (resolved to {f})" for p, f in files.items()
                   if not f.is_file()]
        if missing:
            raise SpecError("mixture spec", missing)
        dec = clean.cached_contamination_masks(rows, order, files, ngram=spec.decontaminate.ngram, store=store)
    out = {}
    for name, _ex in rows:
        anymask = dup[name].copy()
        for m in dec[name].values():
            anymask |= m
        out[name] = {"dedup": dup[name], "decontam": dec[name], "any": anymask}
    return out


def _caches(spec: MixtureSpec, sources: Mapping[str, LoadedSource], hashes: Mapping[str, str], tokenizer: Any,
            template: str | None, cache_dir: str | Path | None, progress: bool) -> dict[str, Any]:
    if tokenizer is None:
        return {}
    from mixlab.mix.token_cache import ensure_cache

    return {s.name: ensure_cache(sources[s.name].examples, content_hash=hashes[s.name], tokenizer=tokenizer,
                                 template=template, max_length=spec.max_length, cache_dir=cache_dir,
                                 source_name=s.name, progress=progress)[0]
            for s in spec.sources}


def _write_rows(out: Path, spec: MixtureSpec, sources: Mapping[str, LoadedSource], source: np.ndarray,
                row: np.ndarray) -> str:
    """Write ``train.jsonl``; returns its sha256.

    Ids stay unique, so that readers which quarantine repeated ids keep every row: the second and later
    occurrences of an id (a repeat from ``epochs`` / ``upsample``, or two sources sharing ids) become
    ``<id>#2``, ``<id>#3``, ... with ``meta.repeat_of`` naming the original id.
    """
    names = [s.name for s in spec.sources]
    seen: dict[str, int] = {}
    parts = []
    for s, r in zip(source.tolist(), row.tolist(), strict=True):
        d = sources[names[s]].examples[r].to_dict()
        n = seen[d["id"]] = seen.get(d["id"], 0) + 1
        if n > 1:
            d = {**d, "id": f"{d['id']}#{n}", "meta": {**d["meta"], "repeat_of": d["id"]}}
        parts.append(json_line(d))
    text = "\n".join(parts) + ("\n" if parts else "")
    atomic_write_text(out / "train.jsonl", text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _npy_bytes(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- manifest
def _manifest(spec: MixtureSpec, sources: Mapping[str, LoadedSource], drops: Mapping[str, dict[str, Any]],
              orders: Mapping[str, np.ndarray], plans: Sequence[AmountPlan], hashes: Mapping[str, str],
              caches: Mapping[str, Any], source: np.ndarray, row: np.ndarray, tokenizer: Any,
              template: str | None) -> dict[str, Any]:
    entries = []
    warn: list[str] = []
    for i, (s, plan) in enumerate(zip(spec.sources, plans, strict=True)):
        loaded = sources[s.name]
        counts = loaded.counts()
        d = drops[s.name]
        rows_i = np.sort(row[source == i]).astype(np.int64)
        entry: dict[str, Any] = {
            "name": s.name, "alias": s.label, "origin": origin_record(spec, s, loaded),
            "amount": plan.to_dict(), "upsample": s.upsample,
            "rows_read": counts["rows_read"], "examples": counts["examples"],
            "quarantined": counts["rejected"], "quarantined_by_reason": counts["rejected_by_reason"],
            "unused": counts.get("unused", 0),
            "dropped_dedup": int(d["dedup"].sum()),
            "dropped_decontamination": int((d["any"] & ~d["dedup"]).sum()),
            "dropped_decontamination_by_eval": {e: int(m.sum()) for e, m in d["decontam"].items()},
            "available": plan.available, "selected": plan.rows, "distinct_selected": plan.distinct_rows,
            "upsample_factor": round(plan.upsample_factor, 6),
            "content_hash": hashes[s.name],
            "selection_hash": hashlib.sha256(rows_i.tobytes()).hexdigest()[:16],
        }
        if s.name in caches:
            cache = caches[s.name]
            entry["trainable_tokens"] = selected_tokens(np.asarray(cache.trainable)[orders[s.name]], plan.rows)
            entry["truncated_rows"] = int(np.asarray(cache.truncated)[row[source == i]].sum())
        entries.append(entry)
        warn += plan.warnings
    total_rows = len(row)
    warn += _mixture_warnings(spec, total_rows)
    manifest: dict[str, Any] = {
        "kind": "mixture", "manifest_version": MANIFEST_VERSION, "name": spec.name,
        "seed": spec.seed, "total": spec.total, "total_rows": total_rows, "shuffle": spec.shuffle,
        "spec": spec.to_dict(), "spec_hash": spec.spec_hash(),
        "dedup": spec.dedup.model_dump(mode="json"),
        "decontaminate": _decontam_record(spec),
        "max_length": spec.max_length, "tokenizer": None, "template_hash": None,
        "sources": entries, "warnings": warn,
    }
    if tokenizer is not None:
        from mixlab.mix.token_cache import DEFAULT_MAX_LENGTH, tokenizer_record

        rec = tokenizer_record(tokenizer, template)
        manifest.update(tokenizer=rec, template_hash=rec["template_id"],
                        max_length=spec.max_length or DEFAULT_MAX_LENGTH,
                        trainable_tokens=sum(e["trainable_tokens"] for e in entries))
    return manifest


def _mixture_warnings(spec: MixtureSpec, total_rows: int) -> list[str]:
    out = []
    if not spec.sources:
        out.append("the mixture has no sources: it is empty (the 'none' arm of a design trains on nothing)")
    elif total_rows == 0:
        out.append("the mixture selected no rows at all")
    if spec.total is not None and not any(s.share is not None for s in spec.sources):
        out.append(f"total {spec.total} has no effect: no source uses share (total only sizes share sources)")
    elif spec.total is not None and total_rows != spec.total:
        out.append(f"the mixture has {total_rows} rows, not total {spec.total}: total only fixes the rows of "
                   "share sources; the other amount keys add their own rows")
    return out


def _decontam_record(spec: MixtureSpec) -> dict[str, Any] | None:
    if spec.decontaminate is None:
        return None
    files = []
    for p in spec.decontaminate.against:
        path = spec.resolve(p)
        files.append({"path": p, "sha256": file_sha256(path) if path.is_file() else None})
    return {"ngram": spec.decontaminate.ngram, "against": files}


def format_composition(manifest: Mapping[str, Any], out: str | Path | None = None) -> str:
    """The composition actually built, as a small table."""
    head = ["source", "amount", "available", "selected", "repeat", "dropped", "quarantined"]
    has_tok = manifest.get("tokenizer") is not None
    if has_tok:
        head.append("trainable tokens")
    rows = []
    for s in manifest["sources"]:
        a = s["amount"]
        cells = [s["name"], f"{a['key']} {a['value']:g}", s["available"], s["selected"],
                 f"x{s['upsample_factor']:.3g}", s["dropped_dedup"] + s["dropped_decontamination"],
                 s["quarantined"]]
        if has_tok:
            cells.append(s["trainable_tokens"])
        rows.append([str(c) for c in cells])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in [head, *rows]]
    where = f" -> {Path(out) / 'train.jsonl'}" if out is not None else ""
    title = f"mixture {manifest.get('id', '')}: {manifest['total_rows']} rows (seed {manifest['seed']}){where}"
    tail = [f"warning: {w}" for w in manifest.get("warnings", [])]
    return "\n".join([title, *lines, *tail])


def check_built(mixture_dir: str | Path) -> dict[str, Any]:
    """Read a built mixture's manifest, checking that its files are the ones it describes."""
    d = Path(mixture_dir)
    path = d / "manifest.json"
    if not path.is_file():
        raise MixlabError(f"{d} is not a built mixture (no manifest.json); build one with `mixlab mix build`")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for name, sha in (manifest.get("files") or {}).items():
        if not (d / name).is_file() or file_sha256(d / name) != sha:
            raise MixlabError(f"{d / name} does not match its manifest (missing or changed since the build)")
    return manifest
