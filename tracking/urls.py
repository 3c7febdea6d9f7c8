from django.urls import path, re_path

from tracking import views

urlpatterns = [
    path("v1/batch", views.segment_batch, name="segment-batch"),
    re_path(
        r"^v1/(?P<kind>identify|track|page|screen|group|alias)$",
        views.segment_single,
        name="segment-single",
    ),
]
