"""The one way a UI list pages: ``UI_PAGE_SIZE`` rows, the page number from the
query string (a number past the end gives the last page, junk the first)."""

from collections.abc import Sequence

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


def page_of(
    request: HttpRequest, rows: QuerySet | Sequence, *, param: str = "page"
) -> Page:
    return Paginator(rows, settings.UI_PAGE_SIZE).get_page(request.GET.get(param))
