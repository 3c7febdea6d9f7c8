from django.urls import path

from pgrest import views

urlpatterns = [
    path("", views.root_view, name="rest-root"),
    path("<str:name>", views.resource_view, name="rest-resource"),
]
