"""Routes of coverage (api_urls)."""

urlpatterns: list = []
