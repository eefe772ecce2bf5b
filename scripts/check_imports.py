#!/usr/bin/env python3
"""Imports across apps that the layers contract does not see.

Prints, for every app module (not demo/, bench/, tests/ or migrations), each import of
another app's private name (``_x``) and each import inside a function that crosses an app
boundary, and exits 1 if there is any. ``make lint`` runs it.

    python scripts/check_imports.py [ROOT]
"""

from __future__ import annotations

import ast
import pathlib
import sys

APPS = {
    "gridmap",
    "grids",
    "accounts",
    "inbox",
    "households",
    "cases",
    "incidents",
    "reports",
    "coverage",
    "planning",
    "weekly",
    "imports",
}


def problems(root: pathlib.Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        app = rel.split("/")[0]
        if app not in APPS or "/migrations/" in rel:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules, names = [node.module], [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                modules, names = [a.name for a in node.names], []
            else:
                continue
            for module in modules:
                if module.split(".")[0] not in APPS | {"demo", "bench", "tests"}:
                    continue
                if module.split(".")[0] == app:
                    continue
                private = [n for n in names if n.startswith("_")]
                private += [p for p in module.split(".") if p.startswith("_")]
                if private:
                    found.append(f"{rel}:{node.lineno}: private name {module} {private}")
                parent = parents.get(node)
                while parent is not None and not isinstance(
                    parent, ast.FunctionDef | ast.AsyncFunctionDef
                ):
                    parent = parents.get(parent)
                if parent is not None:
                    found.append(f"{rel}:{node.lineno}: import of {module} inside a function")
    return found


if __name__ == "__main__":
    out = problems(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "."))
    print(
        "\n".join(out)
        or "No private names imported across apps, no function-level imports across apps."
    )
    sys.exit(1 if out else 0)
