from django.urls import path

from gathergrid.rest import views

urlpatterns = [
    path("", views.root_view, name="rest-root"),
    path("<str:name>", views.resource_view, name="rest-resource"),
]
