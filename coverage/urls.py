"""Routes of coverage (urls)."""

urlpatterns: list = []
