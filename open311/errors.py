"""Open311 errors: a status code, the spec's ``code`` (the HTTP status, as the specification's
examples give it) and a ``description`` a person understands, in the reader's language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, gettext_noop

MSG_KEY_MISSING = gettext_noop("Send the api_key this system was issued.")
MSG_KEY_INVALID = gettext_noop("The api_key is not valid or has been switched off.")
MSG_RATE_LIMIT = gettext_noop(
    "Too many requests with this api_key: at most %(limit)s a minute. Try again in a minute."
)
MSG_JURISDICTION = gettext_noop(
    "jurisdiction_id %(code)s is not the district or city this api_key serves, nor inside it."
)
MSG_SERVICE_CODE_MISSING = gettext_noop("Send the service_code of the kind of problem.")
MSG_SERVICE_NOT_FOUND = gettext_noop("There is no service %(code)s.")
MSG_LOCATION_MISSING = gettext_noop("Send lat and long, or an address_string.")
MSG_LAT_LONG = gettext_noop(
    "lat and long must be numbers in WGS84 degrees: lat between -90 and 90, long between "
    "-180 and 180."
)
MSG_ADDRESS_NOT_FOUND = gettext_noop(
    "The address_string %(address)s matches no place in this jurisdiction: send lat and long."
)
MSG_ADDRESS_AMBIGUOUS = gettext_noop(
    "The address_string %(address)s matches several places: send lat and long."
)
MSG_OUTSIDE_KEY = gettext_noop("This place is outside the jurisdiction of this api_key.")
MSG_MEDIA_URL = gettext_noop("media_url must be an http or https link.")
MSG_TOO_LONG = gettext_noop("%(field)s is too long: at most %(max)s characters.")
MSG_EMAIL = gettext_noop("email is not an e-mail address.")
MSG_ATTRIBUTE_VALUE = gettext_noop("attribute[%(code)s] must be one of: %(values)s.")
MSG_REQUEST_NOT_FOUND = gettext_noop("There is no service request %(id)s for this api_key.")
MSG_TOKEN_NOT_FOUND = gettext_noop("There is no token %(token)s for this api_key.")
MSG_BAD_DATE = gettext_noop(
    "%(field)s must be a date and time in W3C format, for example 2026-05-01T08:00:00+08:00."
)
MSG_DATE_SPAN = gettext_noop("Ask for at most %(days)s days at a time (start_date to end_date).")
MSG_DATE_ORDER = gettext_noop("start_date must be before end_date.")
MSG_BAD_STATUS = gettext_noop("status must be open, closed or both (open,closed).")
MSG_METHOD = gettext_noop("%(method)s is not allowed here.")
MSG_BAD_ID = gettext_noop("service_request_id must be numbers separated by commas.")


class Open311Error(Exception):
    """One or more errors answered as the specification's error list."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__(*messages)
        self.status = status
        self.messages = list(messages)


def error(status: int, msgid: str, **params: Any) -> Open311Error:
    text = gettext(msgid)
    return Open311Error(status, text % params if params else text)
