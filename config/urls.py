from django.contrib import admin
from django.urls import include, path

from core.health import healthz
from pgrest import views as rest_views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("auth/v1/", include("tenants.auth_urls")),
    path("rest/v1", rest_views.root_view),
    path("rest/v1/", include("pgrest.urls")),
    path("admin/", admin.site.urls),
    path("", include("ui.urls")),
    path("", include("tracking.urls")),
]

handler400 = "core.health.bad_request"
handler403 = "core.health.permission_denied"
handler404 = "core.health.page_not_found"
handler500 = "core.health.server_error"
