"""Static files storage: whitenoise's compressed, hashed copies made by collectstatic.

The page scripts are ES modules that import each other by relative path (no build step).
Django rewrites those ``import ... from "./x.js"`` statements to the hashed names too
(``support_js_module_import_aggregation``), so a hashed script never loads an unhashed
module: the field page's service worker precaches exactly the hashed names ``{% static %}``
gives (``incidents.views.field_static()``), and works offline only if the modules' imports ask
for the same files.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
    # A module's hash depends on the hashes of the modules it imports, so each level of
    # imports takes a pass; the field page's chain is eight deep (field.js > report.js >
    # queue.js > my-work.js > results.js > map.js > page.js > common.js). Django's default is 5.
    max_post_process_passes = 20
