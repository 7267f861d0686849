"""``train(spec)``: one supervised fine-tuning run, from a spec to ``out/final`` and ``out/result.json``.

>>> from mixlab.train import TrainSpec, train                                       # doctest: +SKIP
>>> spec = TrainSpec(model="models/base", data="mixes/A+C", out="runs/ac-s0", epochs=2, seed=0)
>>> result = train(spec)                                                             # doctest: +SKIP
>>> result.steps, result.trainable_tokens, round(result.tokens_per_s)               # doctest: +SKIP
(250, 812344, 9120)

The chapters: check the run folder (a finished run with the same spec is returned as is; a different one is an
error), prepare (``prepare.py``: tokenizer and data, the plan of every step, the model, accelerate), resume
from the newest checkpoint, loop, save ``final/`` and write ``result.json`` last (the completion marker).

Launch with several processes through ``accelerate launch`` (see ``docs/training.md``): the spec's
``batch_size`` is global, so the same spec learns the same thing on 1 or 8 processes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mixlab.artifacts import atomic_write_json, content_hash
from mixlab.errors import MixlabError
from mixlab.train.prepare import Prepared, prepare
from mixlab.train.spec import TrainSpec

log = logging.getLogger(__name__)

RESULT = "result.json"
Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced and what it cost (also ``out/result.json``)."""

    out_dir: str
    final_dir: str
    metrics_path: str
    steps: int
    epochs: float
    trainable_tokens: int
    """Response tokens trained on (the loss-carrying tokens), over all steps."""
    tokens: int
    """All real tokens processed (prompt + response; no padding)."""
    tokens_per_s: float
    """Trainable tokens per second of training (this process's session; excludes loading)."""
    wall_s: float
    final_loss: float | None
    """Per-token loss of the last telemetry window."""
    compute: dict[str, Any]
    """How the run is compute-matched: ``matched_by`` (epochs / steps / tokens), ``target``, and what was
    reached (``steps``, ``epochs``, ``trainable_tokens``)."""
    data: dict[str, Any]
    """``DataStats``: rows read, rejected, truncated, dropped, per source."""
    model: dict[str, Any]
    checkpoints: list[str] = field(default_factory=list)
    resumed_from_step: int | None = None
    identity: str = ""
    template_id: str = ""
    tokenizer_fingerprint: str = ""

    @property
    def truncated(self) -> int:
        return int(self.data.get("truncated", 0))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainResult:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})


# ------------------------------------------------------------------------------------------ run folder


def launcher_rank() -> int:
    """This process's rank under ``accelerate launch`` or torchrun (both set ``RANK``); 0 when run directly."""
    return int(os.environ.get("RANK", "0"))


def _identity(spec: TrainSpec) -> str:
    return content_hash({"train": spec.identity(), "version": 1})


def _check_out(spec: TrainSpec, identity: str) -> TrainResult | None:
    """Return the finished result of the same spec, refuse a folder of a different run, clear on overwrite."""
    out = Path(spec.out)
    ours = ("checkpoints", "final", "metrics.jsonl", RESULT, "train.json", "tensorboard")
    if spec.overwrite:
        if launcher_rank() != 0:  # under a launcher the first process clears the folder
            return None
        for name in ours:
            p = out / name
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        return None
    if (out / RESULT).is_file():
        prev = json.loads((out / RESULT).read_text(encoding="utf-8"))
        if prev.get("identity") == identity:
            log.info("%s already holds this finished run; returning it (overwrite: true to train again)", out)
            return TrainResult.from_dict(prev)
        raise MixlabError(f"out: {out} holds a finished run of a different spec; choose another out folder "
                          "or set overwrite: true")
    info = out / "train.json"
    if info.is_file() and json.loads(info.read_text(encoding="utf-8")).get("identity") != identity:
        raise MixlabError(f"out: {out} holds an unfinished run of a different spec; choose another out "
                          "folder or set overwrite: true")
    return None


# ---------------------------------------------------------------------------------------- checkpoints


def _checkpoint_steps(spec: TrainSpec, plan: Any) -> tuple[set[int], set[int]]:
    """(periodic steps, kept steps), 1-based step counts after which to save; never the last step."""
    n = len(plan)
    periodic = set(range(spec.save_every, n, spec.save_every)) if spec.save_every else set()
    kept = {s for s in spec.save_at_steps if s < n}
    cum = 0
    targets = sorted(spec.save_at_tokens)
    for k, t in enumerate(plan.step_tokens, start=1):
        cum += t
        while targets and cum >= targets[0]:
            if k < n:
                kept.add(k)
            targets.pop(0)
    return periodic, kept


def _export_fn(s: Prepared, spec: TrainSpec) -> Callable[[Path], None]:
    def export(folder: Path) -> None:
        acc = s.accelerator
        state_dict = acc.get_state_dict(s.module)
        if not acc.is_main_process:
            return
        inner = acc.unwrap_model(s.module).model
        sd = {k[len("model."):]: v for k, v in state_dict.items() if k.startswith("model.")}
        inner.save_pretrained(folder, state_dict=sd, safe_serialization=True)
        tok = s.tokenizer
        from mixlab.data.tokenize import NAMED_TEMPLATES

        if spec.template in NAMED_TEMPLATES:  # evaluation then formats prompts the way training did
            tok.chat_template = NAMED_TEMPLATES[spec.template]
        tok.save_pretrained(folder)
        atomic_write_json(folder / "mixlab_train.json", {
            "template": spec.template, "template_id": s.template_id, "loss_on": spec.loss_on,
            "tokenizer_fingerprint": s.fingerprint, "spec": spec.to_dict(), "base": _base_record(s.model_info),
        })
    return export


def _base_record(info: dict[str, Any]) -> dict[str, Any]:
    """Where the base weights came from, for loaders of ``final/``: a LoRA adapter's own config names only the
    base folder, and a GGUF folder is unloadable without the name of its ``.gguf`` file."""
    src = info["source"]
    path = str(Path(src["path"]).resolve()) if src["kind"] == "folder" else src["path"]
    # name_or_path is what the adapter config says (transformers' name_or_path, as given: maybe relative)
    return {"name_or_path": src["path"], "path": path, "gguf_file": src["gguf_file"]}


def _resume(spec: TrainSpec, s: Prepared, identity: str, out: Path, telemetry: Any) -> int:
    """Restore the newest matching checkpoint; returns the number of steps already done."""
    from mixlab.train import checkpoint as ckpt
    from mixlab.train.telemetry import truncate_metrics

    found = ckpt.latest_resumable(out, identity) if spec.resume else None
    if found is None:
        if s.accelerator.is_main_process:
            (out / "metrics.jsonl").unlink(missing_ok=True)
        return 0
    folder, state = found
    tele = ckpt.load(s.accelerator, folder, strict=not (spec.lora or spec.qlora))
    if tele:
        telemetry.load_state(tele)
    done = int(state["step"])
    if s.accelerator.is_main_process:
        truncate_metrics(out / "metrics.jsonl", done)
        log.info("resuming %s after step %d of %d", out, done, len(s.plan))
    return done


def _lora_save_hook(models: list[Any], weights: list[dict[str, Any]], _dir: str) -> None:
    """Resume checkpoints of LoRA runs hold the adapter weights only (the base weights never change)."""
    for i, m in enumerate(models):
        names = {n for n, p in m.named_parameters() if p.requires_grad}
        weights[i] = {k: v for k, v in weights[i].items() if k in names}


# ---------------------------------------------------------------------------------------------- loop


def _micro_batches(s: Prepared, spec: TrainSpec, step: list[tuple[int, ...]], pad_id: int) -> list[Any]:
    from mixlab.train.batch_plan import split_step
    from mixlab.train.collate import collate

    acc = s.accelerator
    mine = split_step(step, s.micro, acc.num_processes, s.rounds)[acc.process_index]
    index = {name: k for k, name in enumerate(s.sources)}
    multiple = 8 if acc.device.type == "cuda" else 1  # tensor cores like multiples of 8
    return [collate(s.encoded, seqs, index, pad_id=pad_id, packing=spec.packing,
                    pad_to_multiple_of=multiple).to(acc.device) for seqs in mine]


def _oom_error(exc: BaseException, spec: TrainSpec, s: Prepared, step: int) -> MixlabError:
    return MixlabError(
        f"out of memory at step {step + 1} ({type(exc).__name__}); lower micro_batch_size (now {s.micro}; "
        f"gradient accumulation keeps batch_size {spec.batch_size}), or max_length (now {spec.max_length}), "
        "or set gradient_checkpointing: true, or train with lora: true"
    )


def _cumulative(values: list[int]) -> list[int]:
    out = [0]
    for v in values:
        out.append(out[-1] + v)
    return out


def _one_step(spec: TrainSpec, s: Prepared, step: int, lr: float, pad_id: int, telemetry: Any) -> Any:
    """Run optimizer step ``step`` (0-based); an out-of-memory error says which setting to change."""
    from mixlab.train.loop import is_oom, run_step

    try:
        batches = _micro_batches(s, spec, s.plan.steps[step], pad_id)
        return run_step(accelerator=s.accelerator, module=s.module, optimizer=s.optimizer, params=s.params,
                        batches=batches, step_tokens=s.plan.step_tokens[step], lr=lr,
                        max_grad_norm=spec.max_grad_norm, on_losses=telemetry.add)
    except RuntimeError as exc:
        if is_oom(exc):
            raise _oom_error(exc, spec, s, step) from exc
        raise


def _save(spec: TrainSpec, s: Prepared, out: Path, done: int, identity: str, cum_train: list[int],
          telemetry: Any, kept: set[int]) -> str:
    from mixlab.train import checkpoint as ckpt

    state = {"step": done, "identity": identity, "trainable_tokens": cum_train[done],
             "epoch": s.plan.step_epoch[done - 1]}
    export = _export_fn(s, spec) if done in kept else None
    path = ckpt.save(s.accelerator, out, done, state, telemetry.state(), export_model=export)
    if s.accelerator.is_main_process:
        ckpt.prune(out, spec.keep_last, kept)
    return str(path)


def _loop(spec: TrainSpec, s: Prepared, out: Path, identity: str, progress: Progress | None) -> dict[str, Any]:
    from mixlab.train.schedule import lr_at, warmup_steps
    from mixlab.train.telemetry import Telemetry

    acc = s.accelerator
    total = len(s.plan)
    telemetry = Telemetry(out / "metrics.jsonl", s.sources, acc.device, every=spec.log_every,
                          enabled=acc.is_main_process, reporters=spec.report_to, run_name=out.name)
    if spec.lora or spec.qlora:
        acc.register_save_state_pre_hook(_lora_save_hook)
    start = _resume(spec, s, identity, out, telemetry)
    periodic, kept = _checkpoint_steps(spec, s.plan)
    warm = warmup_steps(total, spec.warmup_ratio, spec.warmup_steps)
    pad_id = s.tokenizer.pad_token_id if s.tokenizer.pad_token_id is not None else 0
    cum_train, cum_all = _cumulative(s.plan.step_tokens), _cumulative(s.step_all_tokens)
    t0, last_row, window_from = time.perf_counter(), None, start
    saved: list[str] = []
    try:
        for step in range(start, total):
            lr = lr_at(step, total, spec.peak_lr(), spec.schedule, warmup=warm, decay_ratio=spec.decay_ratio,
                       min_ratio=spec.min_lr_ratio)
            grad_norm = _one_step(spec, s, step, lr, pad_id, telemetry)
            done = step + 1
            if done % spec.log_every == 0 or done == total:
                last_row = telemetry.row(
                    lambda x: acc.reduce(x, "sum"), step=done, epoch=s.plan.step_epoch[step], lr=lr,
                    grad_norm=float(grad_norm) if grad_norm is not None else float("nan"),
                    trainable_tokens=cum_train[done], tokens=cum_all[done], elapsed_s=time.perf_counter() - t0,
                    window_trainable=cum_train[done] - cum_train[window_from])
                window_from = done
                telemetry.write(last_row)
            if progress is not None and acc.is_main_process:
                progress({"step": done, "total_steps": total, "trainable_tokens": cum_train[done],
                          "loss": last_row["loss"] if last_row else None, "elapsed_s": time.perf_counter() - t0})
            if done in periodic or done in kept:
                saved.append(_save(spec, s, out, done, identity, cum_train, telemetry, kept))
    finally:
        telemetry.close()
    return {"start": start, "wall": time.perf_counter() - t0, "trained": cum_train[total] - cum_train[start],
            "last_row": last_row, "saved": saved, "cum_train": cum_train[total], "cum_all": cum_all[total]}


# ---------------------------------------------------------------------------------------------- train


def train(spec: TrainSpec, *, progress: Progress | None = None, progress_bars: bool = False) -> TrainResult:
    """Fine-tune the model of ``spec`` on its data; see the module docstring.

    ``progress`` (main process only) is called after every step with ``step``, ``total_steps``,
    ``trainable_tokens``, ``loss`` (the last telemetry window's) and ``elapsed_s``. ``progress_bars`` shows
    a tokenizing bar for large inputs.
    """
    identity = _identity(spec)
    done = _check_out(spec, identity)
    if done is not None:
        return done
    import torch

    threads = torch.get_num_threads()
    if spec.cpu_threads:
        torch.set_num_threads(spec.cpu_threads)
    try:
        return _train(spec, identity, progress, progress_bars)
    finally:
        torch.set_num_threads(threads)


def _train(spec: TrainSpec, identity: str, progress: Progress | None, progress_bars: bool) -> TrainResult:
    out = Path(spec.out)
    s = prepare(spec, progress_bars)
    spec = s.spec
    acc = s.accelerator
    if acc.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "train.json", {"identity": identity, "spec": spec.to_dict(),
                                               "template_id": s.template_id, "tokenizer_fingerprint": s.fingerprint,
                                               "model": s.model_info, "data": s.stats.to_dict(),
                                               "planned_steps": len(s.plan),
                                               "planned_trainable_tokens": s.plan.trainable_tokens})
    acc.wait_for_everyone()
    r = _loop(spec, s, out, identity, progress)
    final = out / "final"
    tmp = out / ".tmp-final"
    if acc.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    _export_fn(s, spec)(tmp)
    if acc.is_main_process:
        if final.exists():
            shutil.rmtree(final)
        tmp.replace(final)
    result = _result(spec, s, r, out, final, identity)
    if acc.is_main_process:
        atomic_write_json(out / RESULT, result.to_dict())
    acc.wait_for_everyone()
    _release(s)
    return result


def _result(spec: TrainSpec, s: Prepared, r: dict[str, Any], out: Path, final: Path, identity: str) -> TrainResult:
    kind, target = spec.budget()
    last = len(s.plan) - 1
    epochs = s.plan.step_epoch[last] if last >= 0 else 0.0
    return TrainResult(
        out_dir=str(out), final_dir=str(final), metrics_path=str(out / "metrics.jsonl"), steps=len(s.plan),
        epochs=round(epochs, 4), trainable_tokens=r["cum_train"], tokens=r["cum_all"],
        tokens_per_s=round(r["trained"] / max(r["wall"], 1e-9), 1), wall_s=round(r["wall"], 3),
        final_loss=r["last_row"]["loss"] if r["last_row"] else None,
        compute={"matched_by": kind, "target": target, "steps": len(s.plan), "epochs": round(epochs, 4),
                 "trainable_tokens": r["cum_train"], "batch_size": spec.batch_size,
                 "sequences_per_epoch": s.plan.sequences_per_epoch},
        data=s.stats.to_dict(), model=s.model_info, checkpoints=r["saved"],
        resumed_from_step=r["start"] or None, identity=identity, template_id=s.template_id,
        tokenizer_fingerprint=s.fingerprint,
    )


def _release(s: Prepared) -> None:
    """Free the model and optimizer so that many runs fit in one process."""
    s.model = s.module = s.optimizer = None
    s.params = []
    s.accelerator.free_memory()  # drops accelerate's references, then collects
