from django.contrib import admin
from django.urls import include, path

from gathergrid.health import healthz
from gathergrid.rest import views as rest_views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("auth/v1/", include("tenants.auth_urls")),
    path("rest/v1", rest_views.root_view),
    path("rest/v1/", include("gathergrid.rest.urls")),
    path("admin/", admin.site.urls),
    path("", include("ui.urls")),
    path("", include("tracking.urls")),
]

handler400 = "gathergrid.health.bad_request"
handler403 = "gathergrid.health.permission_denied"
handler404 = "gathergrid.health.page_not_found"
handler500 = "gathergrid.health.server_error"
