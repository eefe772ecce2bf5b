"""Pages of planning: mounted at the site root."""

urlpatterns: list = []
