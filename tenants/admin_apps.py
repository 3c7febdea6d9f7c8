"""The Django admin app, with our tenant-aware site as ``admin.site``.

Kept apart from :mod:`tenants.admin_site`: ``INSTALLED_APPS`` imports this
module before the app registry is ready, and the site module imports models.
"""

from django.contrib.admin.apps import AdminConfig


class GatherGridAdminConfig(AdminConfig):
    default_site = "tenants.admin_site.GatherGridAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscover: every app's admin.py registers its admins
        from django.contrib import admin

        # Then every model nobody registered gets a generic admin, so a model
        # added later is in the admin without anyone remembering to add it.
        admin.site.register_unregistered(["tenants", "gathergrid", "tracking"])
