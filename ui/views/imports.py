"""CSV import into a thing and CSV export of an entries view."""

urlpatterns: list = []
