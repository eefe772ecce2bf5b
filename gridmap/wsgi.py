"""The WSGI application, as a server loads it. It defaults to the production settings: a
server started without ``DJANGO_SETTINGS_MODULE`` must not run the development settings (DEBUG
on, a public key), and ``gridmap.settings.production`` refuses to start without a proper key
(docs/deployment.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings.production")
application = get_wsgi_application()
