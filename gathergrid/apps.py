from django.apps import AppConfig


class GathergridConfig(AppConfig):
    name = "gathergrid"
    verbose_name = "Gather Grid data"

    def ready(self) -> None:
        # Registers the REST resources.
        from gathergrid import resources  # noqa: F401
