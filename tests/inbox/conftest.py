# The incident fixture the inbox tests fill the inbox with (tests/incidents/test_notifications).
from tests.incidents.test_notifications import people  # noqa: F401
