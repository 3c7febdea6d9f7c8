from django.contrib import admin
from django.urls import include, path

from gathergrid.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("auth/v1/", include("tenants.auth_urls")),
    path("admin/", admin.site.urls),
]

handler400 = "gathergrid.health.bad_request"
handler403 = "gathergrid.health.permission_denied"
handler404 = "gathergrid.health.page_not_found"
handler500 = "gathergrid.health.server_error"
