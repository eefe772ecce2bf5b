"""API routes of the inbox and ten-household units (owned by the notifications work)."""


urlpatterns: list = []
