"""``mixlab data generate`` against a real teacher: the shared SmolLM2 behind ``transformers serve`` on loopback
(an OpenAI-compatible server, started and stopped here), and the same model through the local GGUF backend.

Both methods make a few rows from the shared 175 Self-Instruct seed tasks; the test checks provenance, that the
manifest's counts add up against the files, that a re-run adds nothing, that the rows load as a mixlab source,
and that the API key reaches no file. A 135M teacher writes few usable instructions: the numbers printed
(``-s``) are a measurement, the assertions are about plumbing that must hold whatever it writes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mixlab.cli import main
from mixlab.data.load import load_source
from serving import serve_smollm2

pytestmark = pytest.mark.integration

SECRET = "sk-mixlab-generate-secret-2718"


@pytest.fixture(scope="module")
def served(smollm2_lm, smollm2_dir, tmp_path_factory):
    with serve_smollm2(smollm2_lm, smollm2_dir, tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="module")
def seed_tasks(shared_data: Path) -> Path:
    path = shared_data / "alpaca" / "seed_tasks.jsonl.gz"
    if not path.is_file():
        pytest.skip(f"Self-Instruct seed tasks not found ({path})")
    return path


def _teacher(served) -> list[str]:
    return ["--teacher", served["model"], "--teacher-backend", "openai", "--teacher-arg", f"base_url={served['url']}",
            "--teacher-arg", "api_key_env=MIXLAB_GEN_KEY", "--teacher-arg", "timeout=300",
            "--teacher-arg", "max_concurrency=1", "--quiet"]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _check_output(out: Path, method: str) -> dict:
    manifest = json.loads((out.parent / "manifest.json").read_text())
    c = manifest["counts"]
    rows, dropped = _lines(out), _lines(out.with_name(out.name.replace(".jsonl", ".dropped.jsonl")))
    assert manifest["method"] == method and c["kept"] == len(rows) == manifest["rows"]
    assert c["proposed"] == len(rows) + len(dropped) == c["kept"] + sum(c["dropped"].values())
    assert sum(r["proposed"] for r in manifest["per_round"].values()) == c["proposed"]
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        m = r["meta"]
        assert m["method"] == method and m["teacher"]["backend"] == "openai"
        assert m["teacher"]["options"]["api_key_env"] == "MIXLAB_GEN_KEY"
        assert m["generation"]["max_new_tokens"] == 48 and m["generation"]["temperature"] == 0.0
        assert m["prompt"] and m["round"] >= 1 and (m.get("parents") or m.get("parent"))
    if rows:  # (an empty file has no format to detect)
        src = load_source(out, name="generated")
        assert src.format == "messages" and len(src.examples) == len(rows) and not src.rejected
    files = [p for p in out.parent.rglob("*") if p.is_file()]
    assert all(SECRET.encode() not in p.read_bytes() for p in files)
    return manifest


def _measured(manifest: dict) -> str:
    c = manifest["counts"]
    return (f"{manifest['method']}: {c['kept']} kept of {c['proposed']} proposed in {manifest['seconds']:.0f} s "
            f"({manifest['rows_per_minute']} rows/min); dropped {c['dropped']}")


@pytest.mark.slow  # 60-90 s on 2 busy cores: transformers serve answers at a few tokens per second
def test_self_instruct_and_evol_instruct_through_a_real_server(served, seed_tasks, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MIXLAB_GEN_KEY", SECRET)
    # transformers serve on 2 busy cores answers at a few tokens per second: one request per step, short answers
    settings = ["--temperature", "0", "--max-new-tokens", "48", "--batch", "1"]
    si = tmp_path / "si" / "rows.jsonl"
    si_args = ["data", "generate", "self-instruct", *_teacher(served), *settings, "--seed-tasks", str(seed_tasks),
               "--n", "1", "--new-per-request", "3", "--max-steps", "2", "--out", str(si)]
    code = main(si_args)
    manifest = _check_output(si, "self-instruct")
    assert code == (0 if manifest["complete"] else 1) and manifest["steps_done"] <= 2
    assert manifest["counts"]["proposed"] > 0  # the teacher wrote instructions the parser found
    measured = [_measured(manifest)]

    ev = tmp_path / "evol" / "rows.jsonl"
    ev_args = ["data", "generate", "evol-instruct", *_teacher(served), *settings, "--input", str(seed_tasks),
               "--n", "1", "--rounds", "1", "--out", str(ev)]
    assert main(ev_args) == 0
    manifest = _check_output(ev, "evol-instruct")
    assert manifest["counts"]["proposed"] == 1 and manifest["complete"]
    assert all(r["meta"]["root"].startswith("seed_tasks-") for r in _lines(ev))  # ids of the loaded seed examples
    measured.append(_measured(manifest))

    # the same commands again: nothing new, nothing duplicated
    before = (si.read_bytes(), ev.read_bytes())
    started = time.perf_counter()
    main(si_args)
    assert main(ev_args) == 0
    assert (si.read_bytes(), ev.read_bytes()) == before
    assert "already complete" in capsys.readouterr().out or not json.loads(
        (si.parent / "manifest.json").read_text())["complete"]
    with capsys.disabled():
        print("\n" + "\n".join(measured) + f"\nre-runs: {time.perf_counter() - started:.1f} s")


def test_both_methods_with_the_local_gguf_backend_as_teacher(smollm2_lm, seed_tasks, tmp_path):
    from mixlab.generate.evol_instruct import EvolInstructOptions, EvolItem, generate_evol_instruct
    from mixlab.generate.evol_instruct import settings_record as evol_settings
    from mixlab.generate.journal import Journal
    from mixlab.generate.seeds import read_seed_tasks
    from mixlab.generate.self_instruct import SelfInstructOptions, generate_self_instruct
    from mixlab.generate.self_instruct import settings_record as si_settings
    from mixlab.generate.teacher import GenerationSettings, teacher_from_lm

    teacher = teacher_from_lm(smollm2_lm)
    gen = GenerationSettings(temperature=0.7, top_p=0.9, max_new_tokens=64, seed=1)
    seeds, skipped = read_seed_tasks(seed_tasks)
    assert len(seeds) == 175 and not skipped
    opts = SelfInstructOptions(n=2, requests_per_step=2, new_per_request=4, max_steps=2)
    out = tmp_path / "si" / "rows.jsonl"
    journal = Journal.open(out, "self-instruct", si_settings(opts, gen, teacher.spec, None))
    manifest = generate_self_instruct(teacher, seeds, journal, opts, gen, progress=False)
    c = manifest["counts"]
    assert c["kept"] == len(_lines(out)) and c["proposed"] == c["kept"] + sum(c["dropped"].values()) > 0
    assert manifest["extra"]["teacher_identity"]["gguf_file"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    print(f"\nlocal self-instruct: {c} in {manifest['seconds']:.0f} s ({manifest['rows_per_minute']} rows/min)")

    src = load_source(seed_tasks, name="seed")
    start = [EvolItem(ex.id, ex.prompt, ex.id) for ex in src.examples[:4]]
    eopts = EvolInstructOptions(n=4, rounds=1, requests_per_step=4)
    out = tmp_path / "evol" / "rows.jsonl"
    journal = Journal.open(out, "evol-instruct", evol_settings(eopts, gen, teacher.spec, {"sha256": src.sha256}))
    manifest = generate_evol_instruct(teacher, start, journal, eopts, gen, progress=False)
    c = manifest["counts"]
    assert c["proposed"] == 4 and manifest["complete"] and c["kept"] == len(_lines(out))
    print(f"local evol-instruct: {c} in {manifest['seconds']:.0f} s ({manifest['rows_per_minute']} rows/min)")
