"""(filled in by its owner)"""

urlpatterns: list = []
