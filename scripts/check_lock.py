#!/usr/bin/env python
"""After `make venv` installed requirements.lock: is every dependency pyproject.toml names
(with the dev extra) installed, at a version it allows? If not, the lock is behind
pyproject.toml (a dependency added or its range changed without `make lock`): say so, and
fail, rather than run with a package missing or unpinned.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, requires, version

from packaging.requirements import Requirement

PROJECT = "gridmap"
EXTRAS = {"dev"}


def unmet() -> list[str]:
    problems = []
    for line in requires(PROJECT) or []:
        requirement = Requirement(line)
        wanted = requirement.marker is None or any(
            requirement.marker.evaluate({"extra": extra}) for extra in {"", *EXTRAS}
        )
        if not wanted:
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            problems.append(f"{requirement} is not installed")
            continue
        if requirement.specifier and not requirement.specifier.contains(
            installed, prereleases=True
        ):
            problems.append(f"{requirement} but {installed} is installed")
    return problems


def main() -> int:
    problems = unmet()
    if problems:
        print("requirements.lock is behind pyproject.toml:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print("Run 'make lock' (and commit requirements.lock), then make again.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
