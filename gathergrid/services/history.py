"""Entry history: every change to an entry or its values, one COPY per write."""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.utils import timezone

from core.writes import WriteContext
from gathergrid.models import (
    EntryHistory,
)
from gathergrid.services.base import ModelWriter


def history_row(
    entry_id: int,
    action: str,
    *,
    ctx: WriteContext,
    field_id: int | None = None,
    before: Any = None,
    after: Any = None,
    at=None,
) -> dict[str, Any]:
    return dict(
        entry_id=entry_id,
        field_id=field_id,
        action=action,
        before=before,
        after=after,
        changed_by=ctx.user_id,
        changed_at=at or timezone.now(),
        batch=ctx.batch,
    )


class HistoryWriter(ModelWriter):
    model = EntryHistory


HISTORY_WRITER = HistoryWriter()


def history_write(rows: Iterable[dict[str, Any]]) -> None:
    """Record changes in entry_history (one COPY for the whole request)."""
    rows = list(rows)
    if rows:
        HISTORY_WRITER.insert_rows(rows, ctx=WriteContext(user_id=None))


def jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value
