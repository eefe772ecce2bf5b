"""API routes of incidents (owned by the routing work)."""


urlpatterns: list = []
