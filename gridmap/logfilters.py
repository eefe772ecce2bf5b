"""A logging filter that takes residents' ID numbers and phone numbers out of log records.

An admin search (``/admin/households/household/?q=450702199001011234``) or any query string
with a number lands in the server's access log; log files are kept, copied and read by people
who may not see personal data. ``RedactPersonalNumbers`` rewrites every record it filters (the
formatted message, so also its arguments) with ``gridmap.personal_data.redact_log_text``: an
18-character ID number and a mobile number (11 digits, also in groups or after +86) become
``***``; place codes (12 and 15 digits) stay readable. Attach it to a handler
(settings.LOGGING does for the console and the development server; gunicorn's access log
through the same configuration).
"""

from __future__ import annotations

import logging

from .personal_data import redact_log_text


class RedactPersonalNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's own error
            return True
        redacted = redact_log_text(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
