"""A probe under /rest/v1 for the tenant-resolution tests: it reports the
schema the request runs in and reads/writes that schema's `things` table."""

import json

from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as project_urlpatterns
from gathergrid.models import Thing


@csrf_exempt
def probe(request):
    if request.GET.get("boom"):
        raise RuntimeError("probe exploded")
    if request.method == "POST":
        Thing.objects.create(name=json.loads(request.body)["name"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        search_path = cursor.fetchone()[0]
    return JsonResponse(
        {
            "schema": connection.schema_name,
            "search_path": search_path,
            "tenant": request.tenant.schema_name,
            "role": request.rest_auth.role,
            "things": sorted(Thing.objects.values_list("name", flat=True)),
        }
    )


def browser_probe(request, tenant):
    return JsonResponse(
        {
            "schema": connection.schema_name,
            "role": request.membership.role,
            "things": sorted(Thing.objects.values_list("name", flat=True)),
        }
    )


urlpatterns = [
    path("rest/v1/_probe", probe),
    path("t/<str:tenant>/_probe", browser_probe),
    *project_urlpatterns,
]
handler404 = "core.health.page_not_found"
handler500 = "core.health.server_error"
