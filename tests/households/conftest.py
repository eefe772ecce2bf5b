# The routing world (tests/incidents/test_routing.py) the unit routing tests run on.
from tests.incidents.test_routing import world  # noqa: F401
