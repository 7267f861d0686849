"""The committed outputs of each case study under docs/case-studies/ rebuild their report with `mixlab report`
(a copy in a temporary folder: the repository is not written), and the table the page quotes is what the
outputs give."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mixlab.cli import main

pytestmark = pytest.mark.integration

CASES = Path(__file__).resolve().parents[2] / "docs" / "case-studies"
FOLDERS = sorted(p for p in CASES.iterdir() if p.is_dir())


def page_of(folder: Path) -> str:
    """The case-study page that names the folder of outputs (``paper1-smollm2-types/``)."""
    pages = [p.read_text() for p in CASES.glob("*.md") if f"{folder.name}/" in p.read_text()]
    assert pages, f"no page under docs/case-studies/ names {folder.name}/"
    return pages[0]


def test_there_are_case_studies():
    assert FOLDERS and all(page_of(p) for p in FOLDERS)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_the_committed_outputs_rebuild_the_report(folder, tmp_path, capsys):
    work = tmp_path / folder.name
    shutil.copytree(folder, work, ignore=shutil.ignore_patterns("report.html"))
    assert main(["report", str(work)]) == 0
    printed = capsys.readouterr().out
    assert (work / "report.html").is_file() and (work / "effects.csv").is_file()
    page = page_of(folder)
    none_row = next(line for line in printed.splitlines() if line.startswith("none "))
    base_scores = [v.rstrip("*") for v in none_row.split()[1:]]  # the base model's row, as printed
    quoted = [[c.strip() for c in line.split("|")[2:-1]] for line in page.splitlines()
              if line.startswith("| none (base) | ")]
    assert base_scores in quoted, (base_scores, quoted)  # the page's table quotes what the outputs give
    assert main(["plan", str(work), "--effect", "0.05"]) == 0  # the page's `mixlab plan` command
