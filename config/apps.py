from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project itself: an app for its commands (``serve``) and the one place
    that wires every face into the edge."""

    name = "config"
    verbose_name = "Gather Grid"

    def ready(self) -> None:
        from core import edge
        from pgrest.errors import error_response as rest_error
        from tenants.auth_api import error_response as auth_error
        from tracking.capture import error_response as ingest_error

        edge.face_register(edge.REST, rest_error)
        edge.face_register(edge.AUTH, auth_error)
        edge.face_register(edge.INGEST, ingest_error)
