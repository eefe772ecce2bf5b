"""``manage.py rotate_field_keys``: every encrypted value rewritten with the first key of
GRIDMAP_FIELD_KEYS, every keyed hash recomputed with GRIDMAP_HASH_KEY.

Rotation (docs/deployment.md, "Encryption keys: setting and rotating"): put the new key first
in GRIDMAP_FIELD_KEYS and keep the old ones after it, restart, run this command, then remove the
old keys. After a change of GRIDMAP_HASH_KEY it must run before searches find anything.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from gridmap.crypto import EncryptedCharField, reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first key of GRIDMAP_FIELD_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        for model in apps.get_models():
            fields = [
                f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)
            ]
            if not fields:
                continue
            with transaction.atomic():
                count = reencrypt(model, fields)
            self.stdout.write(f"{model._meta.label}: {count} rows, fields {', '.join(fields)}")
