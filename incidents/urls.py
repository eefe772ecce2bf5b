"""Pages of incidents: the field page (owned by the field-page work)."""


urlpatterns: list = []
