from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project itself, an app only for its commands (``serve``)."""

    name = "config"
    verbose_name = "Gather Grid"
