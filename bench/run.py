#!/usr/bin/env python
"""Benchmark runner: `make bench` (or `python bench/run.py [scenario ...]`).

Each scenario measures our code path and a baseline in the same run, on the same data, and
prints both medians and the ratio (ours / baseline). Nothing here asserts a time: the figures
are for people to read and compare across changes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings.dev")


def main() -> int:
    import django

    django.setup()
    from django.conf import settings

    # Measure the production configuration: no per-query debug logging.
    settings.DEBUG = False
    # Figures are for engineers: messages in English.
    from django.utils import translation

    translation.activate("en")
    from bench import scenarios

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"scenarios (default all): {list(scenarios.ALL)}")
    args = parser.parse_args()
    names = args.names or list(scenarios.ALL)
    unknown = [n for n in names if n not in scenarios.ALL]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {list(scenarios.ALL)}")
    for name in names:
        scenarios.ALL[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
