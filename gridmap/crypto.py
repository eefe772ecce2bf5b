"""Residents' ID numbers and phones encrypted at rest, with a keyed hash for exact search.

- ``EncryptedCharField``: the column holds a Fernet token (AES-128-CBC + HMAC-SHA256, from
  ``cryptography``); Python sees the text. Keys: ``settings.GRIDMAP_FIELD_KEYS`` (from the
  environment variable of the same name, comma-separated Fernet keys): the first encrypts,
  every one decrypts (``MultiFernet``), so a new key is put first and ``manage.py
  rotate_field_keys`` re-encrypts every value with it before the old one is removed.
- ``KeyedHashField``: HMAC-SHA256 of the normalised value of another field, with
  ``settings.GRIDMAP_HASH_KEY`` (a separate key): the same number gives the same hash, so exact
  search and de-duplication work (``filter(id_number_hash=keyed_hash(...))``) without the
  database ever seeing the number. It is filled in ``pre_save`` (``save``, ``bulk_create``).
- A lookup on the encrypted column itself (``filter(id_number=...)``) matches nothing, by
  design: a fresh token is random. Search goes through the hash.

Formats (an ID number is 17 digits and a digit or X) are checked by validators before
encryption, not by CHECK constraints, which cannot read a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connection, models

# Fernet tokens are URL-safe base64 of a version byte 0x80: they always start with "gAAAAA".
TOKEN_PREFIX = "gAAAAA"


@cache
def _fernet() -> MultiFernet:
    keys = list(getattr(settings, "GRIDMAP_FIELD_KEYS", []))
    if not keys:
        raise ImproperlyConfigured("GRIDMAP_FIELD_KEYS is empty: no key to encrypt with.")
    return MultiFernet([Fernet(k) for k in keys])


@cache
def _hash_key() -> bytes:
    key = getattr(settings, "GRIDMAP_HASH_KEY", "")
    if not key:
        raise ImproperlyConfigured("GRIDMAP_HASH_KEY is empty: no key to hash with.")
    return key.encode()


def _forget_keys(*, setting: str, **kwargs: Any) -> None:
    if setting in ("GRIDMAP_FIELD_KEYS", "GRIDMAP_HASH_KEY"):
        _fernet.cache_clear()
        _hash_key.cache_clear()
        _hmac_base.cache_clear()


setting_changed.connect(_forget_keys)


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode() if text else ""


def decrypt(token: str) -> str:
    """The text of a token (any configured key). A value that is not a token is returned as it
    is: rows written before encryption, until the migration or ``rotate_field_keys`` ran."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return token
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A value cannot be decrypted with any key in GRIDMAP_FIELD_KEYS: a key that was "
            "used is missing (docs/deployment.md, 'Encryption keys: setting and rotating')."
        ) from None


def rotate(token: str) -> str:
    """The value encrypted with the first key (plain text is encrypted)."""
    if not token:
        return token
    if not token.startswith(TOKEN_PREFIX):
        return encrypt(token)
    return _fernet().rotate(token.encode()).decode()


_SEPARATORS = re.compile(r"[\s\-()]")


def normalise(value: str) -> str:
    """What the hash is of: no spaces, dashes or brackets, upper case (a final x is X)."""
    return _SEPARATORS.sub("", value or "").upper()


@cache
def _hmac_base() -> hmac.HMAC:
    """The keyed HMAC before any message: each hash copies it (the key is not re-processed)."""
    return hmac.new(_hash_key(), digestmod=hashlib.sha256)


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 (hex) of the normalised value; "" for no value."""
    if not (value and value.isascii() and value.isalnum() and value.upper() == value):
        value = normalise(value)  # (a value already normalised skips the regex: imports)
        if not value:
            return ""
    mac = _hmac_base().copy()
    mac.update(value.encode())
    return mac.hexdigest()


# --- The same in SQL (pgcrypto), for a large import cleaned in the database ----------------------
# A Fernet token is base64url(0x80 || 8-byte big-endian time || 16-byte IV ||
# AES-128-CBC-PKCS7(text) || HMAC-SHA256(signing key, all before)); the 32-byte key is the
# signing key (first 16 bytes) and the encryption key (last 16). The keys reach the database
# only as data (``sql_keys``, COPY'd by the caller into a temporary table), never in SQL text.


def sql_keys() -> dict[str, bytes]:
    """The key material ``fernet_body_sql``/``fernet_token_sql``/``keyed_hash_sql`` read: the
    token time (``ts``), the first field key's signing (``sign``) and encryption (``enc``) keys
    and the hash key (``hash``)."""
    first = list(getattr(settings, "GRIDMAP_FIELD_KEYS", []))[:1]
    if not first:
        raise ImproperlyConfigured("GRIDMAP_FIELD_KEYS is empty: no key to encrypt with.")
    raw = base64.urlsafe_b64decode(first[0])
    return {
        "ts": struct.pack(">Q", int(time.time())),
        "sign": raw[:16],
        "enc": raw[16:],
        "hash": _hash_key(),
    }


def fernet_body_sql(value: str, iv: str, keys: str) -> str:
    """SQL: the signed part of a Fernet token of the text ``value`` (SQL), encrypted with the
    16 random bytes ``iv`` (SQL: a column, so that each row has its own) and the keys of the
    row ``keys`` (an alias of the table holding ``sql_keys``)."""
    return (
        f"('\\x80'::bytea || {keys}.ts || {iv} || encrypt_iv(convert_to({value}, 'UTF8'), "
        f"{keys}.enc, {iv}, 'aes-cbc/pad:pkcs'))"
    )


def fernet_token_sql(body: str, keys: str) -> str:
    """SQL: the Fernet token (text) of a signed part ``body`` (``fernet_body_sql``, as a
    column: it is read twice). ``replace`` rather than ``translate``: several times faster."""
    signed = f"{body} || hmac({body}, {keys}.sign, 'sha256')"
    return f"replace(replace(replace(encode({signed}, 'base64'), E'\\n', ''), '+', '-'), '/', '_')"


def keyed_hash_sql(value: str, keys: str) -> str:
    """SQL: ``keyed_hash`` of a value already normalised (``normalise(value) == value``)."""
    return f"encode(hmac(convert_to({value}, 'UTF8'), {keys}.hash, 'sha256'), 'hex')"


class EncryptedCharField(models.CharField):
    """Text in Python (``max_length`` and validators apply to it), a Fernet token in a
    ``text`` column."""

    def db_type(self, connection: Any) -> str:
        return "text"

    def cast_db_type(self, connection: Any) -> str:
        return "text"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return value if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


class KeyedHashField(models.CharField):
    """The keyed hash of ``source`` (a field of the same model), set on every save."""

    def __init__(self, *args: Any, source: str, **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        # Compared bytewise: a hash is only ever looked up exactly, and the database's own
        # collation (C.UTF-8, zh_CN.UTF-8) makes every comparison of its index a call to the
        # C library's strcoll (an import of a million households inserts into two such
        # indexes, and builds them again when it loads in bulk).
        kwargs.setdefault("db_collation", "C")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def db_type(self, connection: Any) -> str:
        # The same column type as a CharField's, spelt so that Django's PostgreSQL schema editor
        # does not add a second, varchar_pattern_ops index for LIKE searches: a hash is only
        # ever looked up exactly, and each index costs every insert (a county's import).
        return f"character varying({self.max_length})"

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = keyed_hash(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, value)
        return value


REENCRYPT_BATCH = 5000


def reencrypt(model: type[models.Model], fields: list[str], *, batch: int = REENCRYPT_BATCH) -> int:
    """Every value of ``fields`` (``EncryptedCharField``s of ``model``) rewritten with the
    first key, plain text encrypted, and the ``KeyedHashField`` of each recomputed. Batches of
    ``batch`` rows by primary key, one UPDATE per batch; returns the number of rows read.

    Used by the migration that encrypted the existing rows and by ``rotate_field_keys``.
    """
    meta = model._meta
    quote = connection.ops.quote_name
    pk = quote(meta.pk.column)
    columns = [quote(meta.get_field(f).column) for f in fields]
    hashes = {
        f.source: quote(f.column)
        for f in meta.get_fields()
        if isinstance(f, KeyedHashField) and f.source in fields
    }
    table = quote(meta.db_table)
    select = (
        f"SELECT {pk}, {', '.join(columns)} FROM {table} WHERE {pk} > %s ORDER BY {pk} LIMIT %s"
    )
    sets = [f"{c} = v.c{i}" for i, c in enumerate(columns)]
    sets += [f"{hashes[f]} = v.h{i}" for i, f in enumerate(fields) if f in hashes]
    names = ["id"] + [f"c{i}" for i in range(len(fields))]
    names += [f"h{i}" for i, f in enumerate(fields) if f in hashes]
    arrays = ", ".join(["%s::bigint[]"] + ["%s::text[]"] * (len(names) - 1))
    update = (
        f"UPDATE {table} AS t SET {', '.join(sets)} FROM unnest({arrays}) AS v({', '.join(names)}) "
        f"WHERE t.{pk} = v.id"
    )
    done, last = 0, 0
    with connection.cursor() as cur:
        while True:
            cur.execute(select, [last, batch])
            rows = cur.fetchall()
            if not rows:
                return done
            ids = [r[0] for r in rows]
            values = [[rotate(r[i + 1] or "") for r in rows] for i in range(len(fields))]
            hashed = [
                [keyed_hash(decrypt(v)) for v in values[i]]
                for i, f in enumerate(fields)
                if f in hashes
            ]
            cur.execute(update, [ids, *values, *hashed])
            done += len(rows)
            last = ids[-1]
