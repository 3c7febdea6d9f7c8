from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking"

    def ready(self) -> None:
        # Registers the tracking tables as read-only REST resources.
        from tracking import resources  # noqa: F401
