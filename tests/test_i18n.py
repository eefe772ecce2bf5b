"""The interface speaks zh-hans by default and English completely.

English is the source language, so it is complete by construction; these tests keep the
zh-hans catalogue complete: every translatable string in the code has a Chinese translation.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

CATALOGUES = [
    Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"
    for domain in ("django", "djangojs")
]
# Everything that can hold user-visible strings.
SOURCE_DIRS = [
    "gridmap",
    "grids",
    "inbox",
    "households",
    "cases",
    "incidents",
    "accounts",
    "reports",
    "demo",
    "weekly",
    "coverage",
    "planning",
    "privacy",
    "imports",
    "presence",
    "servicedesk",
]


def _entries(path: Path) -> dict[str, polib.POEntry]:
    return {e.msgid: e for e in polib.pofile(str(path)) if not e.obsolete}


def test_default_language_is_simplified_chinese():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]


@pytest.mark.parametrize("path", [p for p in CATALOGUES if p.exists()], ids=lambda p: p.name)
def test_zh_hans_catalogue_has_no_untranslated_or_fuzzy_entries(path):
    po = polib.pofile(str(path))
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


def test_every_string_in_the_code_is_in_the_catalogue(tmp_path):
    """Regenerate the catalogue from a copy of the sources in a temp dir and compare.

    makemessages writes into any ``locale`` directory above the files it reads, so it runs
    on a copy: the real catalogue is never touched by the test.
    """
    src = tmp_path / "src"
    for app in SOURCE_DIRS:
        shutil.copytree(
            Path(settings.BASE_DIR) / app,
            src / app,
            ignore=shutil.ignore_patterns("__pycache__", "migrations"),
        )
    out = tmp_path / "locale"
    out.mkdir()
    cwd = os.getcwd()
    os.chdir(src)
    try:
        with override_settings(LOCALE_PATHS=[str(out)]):
            for domain in ("django", "djangojs"):
                call_command(
                    "makemessages",
                    locale=["zh_Hans"],
                    domain=domain,
                    verbosity=0,
                    no_obsolete=True,
                )
    finally:
        os.chdir(cwd)
    missing = []
    for domain, ours_path in zip(("django", "djangojs"), CATALOGUES, strict=True):
        fresh = out / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"
        if not fresh.exists():
            continue
        ours = _entries(ours_path) if ours_path.exists() else {}
        for msgid in _entries(fresh):
            entry = ours.get(msgid)
            if entry is None or not entry.translated():
                missing.append(f"{domain}: {msgid}")
    assert missing == [], "run 'make translations' and translate:\n" + "\n".join(missing)


def test_model_and_field_names_are_translated():
    from grids.models import Grid, Role

    with translation.override("zh-hans"):
        assert str(Grid._meta.verbose_name) == "网格"
        assert str(Role.GRID_LEADER.label) == "网格长"
        assert str(Role.PARTY_GUIDE.label) == "党建指导员"
    with translation.override("en"):
        assert str(Grid._meta.verbose_name) == "grid"


@pytest.mark.parametrize("path", [p for p in CATALOGUES if p.exists()], ids=lambda p: p.name)
def test_the_catalogue_compiles_cleanly(path, tmp_path):
    """polib reads some files msgfmt refuses (a stray `#| msgctxt`); compile for real."""
    import subprocess

    result = subprocess.run(
        ["msgfmt", "--check-format", "-o", str(tmp_path / "out.mo"), str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_no_template_puts_half_width_punctuation_after_a_translated_string():
    """``{% translate "State" %}:`` shows "状态:" in Chinese; the colon belongs in the msgid
    ("State:" → "状态：")."""
    import re

    pattern = re.compile(r"\{%\s*(?:translate|trans)\s+\"[^\"]*\"\s*%\}[:;,]")
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}:{n}"
        for directory in SOURCE_DIRS
        for path in (Path(settings.BASE_DIR) / directory).rglob("*.html")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_chinese_translations_use_full_width_punctuation():
    """A colon, semicolon, comma, question or exclamation mark next to Chinese text is
    full-width (：；，？！)."""
    import re

    half = re.compile(r"[\u4e00-\u9fff][:;,?!]|[:;,?!][\u4e00-\u9fff]")
    offenders = [
        e.msgid
        for e in polib.pofile(str(CATALOGUES[0]))
        if not e.obsolete and half.search(e.msgstr.replace("%(", "("))
    ]
    assert offenders == []
