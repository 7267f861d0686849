"""docs/architecture.md and the import contracts (pyproject.toml) say the same thing, and the code keeps them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

import pytest


def contracts(repo_root) -> list[dict]:
    config = tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def test_the_architecture_page_lists_every_layer_of_the_contract_in_order(repo_root):
    page = (repo_root / "docs" / "architecture.md").read_text(encoding="utf-8")
    layers = next(c for c in contracts(repo_root) if c["type"] == "layers")["layers"]
    positions = [page.find(f"`{layer}`") for layer in layers]
    assert -1 not in positions, [layer for layer, p in zip(layers, positions, strict=True) if p < 0]
    assert positions == sorted(positions)  # top to bottom, as in the contract
    for contract in contracts(repo_root):
        if contract["type"] == "forbidden":
            for module in contract["forbidden_modules"]:
                assert f"`{module.removeprefix('mixlab.')}`" in page


def test_every_top_level_module_has_a_layer(repo_root):
    layers = next(c for c in contracts(repo_root) if c["type"] == "layers")["layers"]
    named = {part.strip(" ()") for layer in layers for part in layer.replace("|", ":").split(":")}
    package = repo_root / "src" / "mixlab"
    present = {p.stem for p in package.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    assert present <= named, present - named


def test_the_import_contracts_hold(repo_root):
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    proc = subprocess.run([lint], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
