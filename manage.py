#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    # Developers' commands (make run, migrate, the demo) use the development settings; a
    # server sets DJANGO_SETTINGS_MODULE=gridmap.settings.production (docs/deployment.md), and
    # the WSGI/ASGI entry points default to it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
