from django.core.management.base import BaseCommand

from tenants.demo import demo_tenant_ensure


class Command(BaseCommand):
    help = "Ensure the demo tenant and its admin; print working credentials."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        import json

        credentials = demo_tenant_ensure()
        if options["json"]:
            self.stdout.write(json.dumps(credentials))
        else:
            for name, value in credentials.items():
                self.stdout.write(f"{name:>13}: {value}")
