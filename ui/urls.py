"""The browser UI. Tenant pages live under ``/t/<tenant>/`` (the tenant is
activated by ``tenants.middleware.BrowserTenantMiddleware``, which answers 404
to non-members); each area keeps its own ``urlpatterns``."""

from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from ui.views import (
    account,
    auth,
    entries,
    grid,
    grid_actions,
    home,
    imports,
    settings,
    things,
    tracking,
)

app_name = "ui"

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page's <link rel=icon> says.
    path(
        "favicon.ico",
        RedirectView.as_view(
            url=static("ui/favicon.svg"),
            permanent=True,
            http_method_names=["get", "head"],
        ),
    ),
    path("login/", auth.sign_in, name="login"),
    path("logout/", auth.sign_out, name="logout"),
    path("", include(account.urlpatterns)),
    path("", home.home, name="home"),
    path("t/<str:schema>/", home.tenant_home, name="tenant_home"),
    path("t/<str:schema>/", include(things.urlpatterns)),
    path("t/<str:schema>/", include(entries.urlpatterns)),
    path("t/<str:schema>/", include(grid.urlpatterns)),
    path("t/<str:schema>/", include(grid_actions.urlpatterns)),
    path("t/<str:schema>/", include(imports.urlpatterns)),
    path("t/<str:schema>/", include(tracking.urlpatterns)),
    path("t/<str:schema>/", include(settings.urlpatterns)),
]
