"""Write constraints.txt: the exact versions, in the running environment, of everything mixlab and its `dev`
extra need (the closure of their requirements), torch and its CUDA packages left out.

    .venv/bin/python .ci/freeze_constraints.py > constraints.txt     # what `make constraints` runs

torch is chosen by `make` on purpose (the CPU or CUDA build, pinned by TORCH_VERSION): a pin here would make
pip fetch PyPI's build, the CUDA one on Linux, wherever torch is not installed first.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
ROOT = "mixlab"
EXTRAS = ("dev",)
#: chosen by the Makefile, never pinned here (a pin pulls PyPI's CUDA build where torch is missing)
LEFT_OUT = ("torch", "triton", "nvidia-")


def project_requires(extras: tuple[str, ...]) -> list[str]:
    """mixlab's requirements as pyproject.toml says (the installed metadata may be older), extras expanded."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    out, todo, done = list(project["dependencies"]), list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in done:
            continue
        done.add(extra)
        for line in optional[extra]:
            req = Requirement(line)
            if canonicalize_name(req.name) == ROOT:
                todo += list(req.extras)
            else:
                out.append(line)
    return out


def closure(root: str, extras: tuple[str, ...]) -> dict[str, str]:
    """``{name: version}`` of every installed distribution that ``root[extras]`` needs, here."""
    env = default_environment()
    found: dict[str, str] = {}
    todo: list[tuple[str, tuple[str, ...]]] = [(root, extras)]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        name, wanted = todo.pop()
        key = (canonicalize_name(name), tuple(sorted(wanted)))
        if key in seen:
            continue
        seen.add(key)
        if canonicalize_name(name) == ROOT:
            requires = project_requires(wanted)
        else:
            dist = metadata.distribution(name)
            found[canonicalize_name(name)] = dist.version
            requires = dist.requires or []
        for line in requires:
            req = Requirement(line)
            if req.marker is not None and not any(
                    req.marker.evaluate({**env, "extra": extra}) for extra in (*wanted, "")):
                continue
            if canonicalize_name(req.name).startswith(LEFT_OUT):
                continue
            try:
                metadata.distribution(req.name)
            except metadata.PackageNotFoundError:
                sys.exit(f"{req.name} (needed by {name}) is not installed: install mixlab[dev] first")
            todo.append((req.name, tuple(req.extras)))
    return found


def main() -> None:
    pins = closure(ROOT, EXTRAS)
    py = ".".join(map(str, sys.version_info[:3]))
    print(f"# The versions mixlab's tests and benchmarks were measured with (Python {py}, {sys.platform}),")
    print("# generated from an installed mixlab[dev] by `make constraints`; `make demo`, `make test` and .ci/run")
    print("# install with `-c constraints.txt`. torch is chosen by the Makefile (TORCH_VERSION), not here.")
    for name in sorted(pins):
        print(f"{name}=={pins[name]}")


if __name__ == "__main__":
    main()
