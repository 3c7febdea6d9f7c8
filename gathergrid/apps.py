from django.apps import AppConfig


class GathergridConfig(AppConfig):
    name = "gathergrid"
    verbose_name = "Gather Grid data"
