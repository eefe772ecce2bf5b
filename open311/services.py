"""Writes of Open311: issuing a client system's key, spending a request of its rate limit,
and creating a service request (an incident, through ``incidents.services.incident_create``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import connection, transaction
from django.utils.translation import gettext

from gridmap.codes import covers
from gridmap.crypto import keyed_hash
from gridmap.sql import table as sql_table
from incidents.models import Category
from incidents.routing import OutsideEveryDistrict
from incidents.services import incident_create

from . import errors as e
from .errors import Open311Error, error
from .models import ApiKey, Open311Request
from .selectors import SEVERITY_ATTRIBUTE, attribute_choices, geocode

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

KEY_BYTES = 20  # 40 hexadecimal digits
MEDIA_SCHEMES = ["http", "https"]


def rate_limit() -> int:
    """Requests per minute per key (GRIDMAP_OPEN311_RATE_PER_MINUTE)."""
    return int(settings.GRIDMAP_OPEN311_RATE_PER_MINUTE)


# --- keys -----------------------------------------------------------------------------------
def api_key_issue(*, api_key: ApiKey, actor: AbstractBaseUser | None) -> str:
    """Save ``api_key`` (unsaved: name, scope, active) with a new random key and the login
    its incidents are reported by; returns the key, which is stored only as a keyed hash and
    so can be shown this once."""
    raw = secrets.token_hex(KEY_BYTES)
    with transaction.atomic():
        # The login the key's incidents are reported by: it never signs in (no usable
        # password, inactive) and carries no name (the user admin lists logins of every
        # district; the client system's name stays on the key, within its jurisdiction).
        reporter = get_user_model().objects.create_user(
            username=f"open311-{secrets.token_hex(6)}", password=None, is_active=False
        )
        api_key.reporter = reporter
        api_key.created_by = actor if actor is not None and actor.pk else None
        api_key.key_hash = keyed_hash(raw)
        api_key.key_prefix = raw[:8]
        api_key.full_clean(exclude=["reporter", "created_by"])
        api_key.save()
    return raw


def key_use(raw: str) -> ApiKey:
    """The active key ``raw`` stands for, with this request counted in its minute (one
    statement: the count and the last use are updated by the database, so every worker
    process shares the limit). Raises ``Open311Error`` 403 for a missing or unknown key and
    429 over the limit."""
    raw = (raw or "").strip()
    if not raw:
        raise error(403, e.MSG_KEY_MISSING)
    if len(raw) > 200:
        raise error(403, e.MSG_KEY_INVALID)
    table = sql_table(ApiKey)
    with connection.cursor() as cur:
        cur.execute(
            f"""
            UPDATE {table} SET
              last_used_at = clock_timestamp(),
              window_count = CASE WHEN window_start IS NULL
                  OR window_start <= clock_timestamp() - interval '1 minute'
                  THEN 1 ELSE window_count + 1 END,
              window_start = CASE WHEN window_start IS NULL
                  OR window_start <= clock_timestamp() - interval '1 minute'
                  THEN clock_timestamp() ELSE window_start END
            WHERE key_hash = %s AND is_active
            RETURNING id, window_count
            """,
            [keyed_hash(raw)],
        )
        row = cur.fetchone()
    if row is None:
        raise error(403, e.MSG_KEY_INVALID)
    limit = rate_limit()
    if row[1] > limit:
        raise error(429, e.MSG_RATE_LIMIT, limit=limit)
    return ApiKey.objects.get(pk=row[0])


# --- a service request ----------------------------------------------------------------------
@dataclass
class RequestInput:
    """A POST to ``requests.{xml,json}`` as sent (form fields, ``attribute[CODE]`` gathered)."""

    service_code: str = ""
    lat: str = ""
    long: str = ""
    address_string: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    description: str = ""
    media_url: str = ""
    device_id: str = ""
    account_id: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


MAX_ATTRIBUTE = 1000  # characters of one attribute's value (stored as sent)
LIMITS = {
    "address_string": 250,
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "phone": 30,
    "media_url": 500,
    "device_id": 100,
    "account_id": 100,
}


def _point(data: RequestInput, prefix: str) -> Point:
    if data.lat.strip() or data.long.strip():
        try:
            lat, lon = float(data.lat), float(data.long)
        except ValueError:
            raise error(400, e.MSG_LAT_LONG) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or lat != lat or lon != lon:
            raise error(400, e.MSG_LAT_LONG)
        return Point(lon, lat, srid=4326)
    address = data.address_string.strip()
    if not address:
        raise error(400, e.MSG_LOCATION_MISSING)
    found = geocode(address, prefix)
    if not found:
        raise error(400, e.MSG_ADDRESS_NOT_FOUND, address=address[:100])
    if len(found) > 1:
        raise error(400, e.MSG_ADDRESS_AMBIGUOUS, address=address[:100])
    return found[0]


def _check_fields(data: RequestInput) -> list[str]:
    problems = []
    for name, limit in LIMITS.items():
        if len(getattr(data, name)) > limit:
            problems.append(gettext(e.MSG_TOO_LONG) % {"field": name, "max": limit})
    if data.email:
        try:
            validate_email(data.email)
        except ValidationError:
            problems.append(gettext(e.MSG_EMAIL))
    if data.media_url:
        try:
            URLValidator(schemes=MEDIA_SCHEMES)(data.media_url)
        except ValidationError:
            problems.append(gettext(e.MSG_MEDIA_URL))
    for code, value in data.attributes.items():
        if len(value) > MAX_ATTRIBUTE:
            field = f"attribute[{code}]"
            problems.append(gettext(e.MSG_TOO_LONG) % {"field": field, "max": MAX_ATTRIBUTE})
    choices = attribute_choices()
    value = data.attributes.get(SEVERITY_ATTRIBUTE, "")
    if value and value not in choices:
        values = ", ".join(choices)
        problems.append(
            gettext(e.MSG_ATTRIBUTE_VALUE) % {"code": SEVERITY_ATTRIBUTE, "values": values}
        )
    return problems


def request_create(*, api_key: ApiKey, prefix: str, data: RequestInput) -> Open311Request:
    """Create the incident of an Open311 POST inside ``prefix`` (the key's scope, or the
    part of it that ``jurisdiction_id`` named), with its Open311 details, in one transaction;
    raises ``Open311Error`` (nothing stored) for bad input or a place outside ``prefix``."""
    code = data.service_code.strip()
    if not code:
        raise error(400, e.MSG_SERVICE_CODE_MISSING)
    category = Category.objects.filter(code=code, is_active=True).first()
    if category is None:
        raise error(404, e.MSG_SERVICE_NOT_FOUND, code=code)
    problems = _check_fields(data)
    if problems:
        raise Open311Error(400, *problems)
    point = _point(data, prefix)
    description = data.description.strip() or category.name
    try:
        with transaction.atomic():
            incident, _ = incident_create(
                actor=api_key.reporter,
                point=point,
                category=category,
                severity=data.attributes.get(SEVERITY_ATTRIBUTE) or None,
                description=description,
            )
            if not covers([prefix], incident.place_code):
                # Routed outside the key's area: undo everything, notifications included.
                raise error(403, e.MSG_OUTSIDE_KEY)
            return Open311Request.objects.create(
                incident=incident,
                api_key=api_key,
                email=data.email.strip(),
                first_name=data.first_name.strip(),
                last_name=data.last_name.strip(),
                phone=data.phone.strip(),
                device_id=data.device_id.strip(),
                account_id=data.account_id.strip(),
                media_url=data.media_url.strip(),
                address_string=data.address_string.strip(),
                attributes=data.attributes,
            )
    except OutsideEveryDistrict as outside:
        raise Open311Error(403, *_texts(outside)) from None
    except ValidationError as invalid:
        # incident_create's own refusals (a description too long, a severity not in use).
        raise Open311Error(400, *_texts(invalid)) from None


def _texts(invalid: ValidationError) -> list[str]:
    return [m for ms in invalid.message_dict.values() for m in ms]
