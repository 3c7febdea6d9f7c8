"""Tracking endpoints, one module per dialect (each with its ``urlpatterns``)."""
