"""The static files as a server has them: ``collectstatic`` with the production storage
(``gridmap.storage.StaticFilesStorage``: whitenoise's hashed, compressed copies).

The tests run with plain storage (gridmap.settings.test); this collects with the real one into
a temporary directory, so a file that breaks it (a reference to a missing file, a module that
imports itself) fails here rather than on a server. And the field page works offline only
if the modules its hashed scripts import are the hashed files its service worker precaches.
"""

from __future__ import annotations

import json
import posixpath
import re

from django.core.management import call_command

from incidents.views import field_static

IMPORT = re.compile(r"""\bfrom\s*["'](\.{1,2}/[^"']+)["']""")
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def test_collectstatic_with_the_production_storage_hashes_every_module_import(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "gridmap.storage.StaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)

    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    precached = {manifest[name] for name in field_static()}
    modules = [name for name in field_static() if name.endswith(".js")]
    imports = 0
    for name in modules:
        hashed = manifest[name]
        assert (tmp_path / (hashed + ".gz")).exists(), f"{hashed} is not compressed"
        code = BLOCK_COMMENT.sub("", (tmp_path / hashed).read_text(encoding="utf-8"))
        for url in IMPORT.findall(code):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(hashed), url))
            assert target in precached, f"{hashed} imports {target}, which is not precached"
            imports += 1
    assert imports >= 20
