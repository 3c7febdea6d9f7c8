"""Taking changes back: a whole batch (the grid's Undo), one change of an
entry's history, or an entry back to how it was after a change.

Every revert is itself a batch of ordinary changes (history rows with a new
``batch`` id), so an undo can be undone again. Undo refuses with a
:class:`~core.errors.Conflict` (``stale``) when a value it would take back has
been changed since by someone else; a revert from the history page is the
user's explicit choice and overwrites.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from core.errors import STALE, Conflict, NotFound
from core.writes import WriteContext
from gathergrid.models import Entry, EntryHistory, FieldEntry, HistoryAction
from gathergrid.services.bulk import cells_write
from gathergrid.services.entries import ENTRY_HISTORY_COLUMNS, ENTRY_WRITER

# Changes one undo may take back (a bulk change of 100,000 entries is one).
UNDO_MAX_CHANGES = 200_000


@dataclass(frozen=True)
class RevertResult:
    reverted: int
    batch: uuid.UUID | None


@dataclass
class _Plan:
    """What taking a set of history rows back writes."""

    values: dict[tuple[int, int], tuple[Any, Any]]  # (entry, field) -> (was, wrote)
    columns: dict[int, dict[str, tuple[Any, Any]]]  # entry -> column -> (was, wrote)
    created: set[int]  # entries the rows create


def _value_of(state: Any) -> Any:
    """The value a field-level history side stands for (None: no value)."""
    if not isinstance(state, dict) or state.get("active") is False:
        return None
    return state.get("entered_value")


def _plan(rows: Iterable[EntryHistory]) -> _Plan:
    """Fold history rows (in order) into, per value and per entry column, the
    state before the first of them and after the last."""
    plan = _Plan(values={}, columns={}, created=set())
    for row in rows:
        if row.field_id is not None:
            key = (row.entry_id, row.field_id)
            was = None if row.action == HistoryAction.CREATE else _value_of(row.before)
            first = plan.values.get(key, (was, None))[0]
            plan.values[key] = (first, _value_of(row.after))
            continue
        columns = plan.columns.setdefault(row.entry_id, {})
        if row.action == HistoryAction.CREATE:
            plan.created.add(row.entry_id)
            columns["active"] = (False, True)
            continue
        before = row.before if isinstance(row.before, dict) else {}
        after = row.after if isinstance(row.after, dict) else {}
        for column in ENTRY_HISTORY_COLUMNS:
            if column in after:
                first = columns.get(column, (before.get(column), None))[0]
                columns[column] = (first, after[column])
    return plan


def _apply(plan: _Plan, *, ctx: WriteContext, check: bool) -> int:
    """Write the plan's "before" states; with ``check``, first make sure each
    is still at its "after" state (else Conflict ``stale``, nothing written)."""
    entry_ids = sorted({e for e, _ in plan.values} | set(plan.columns))
    entries = {
        e.id: e
        for e in Entry.objects.select_for_update()
        .filter(pk__in=entry_ids)
        .order_by("id")
    }
    # Entries the plan creates go back to the trash; their values stay with them.
    values = {k: v for k, v in plan.values.items() if k[0] not in plan.created}
    now = {
        (e, f): text
        for e, f, text in FieldEntry.objects.filter(
            entry_id__in=sorted({e for e, _ in values}),
            field_id__in=sorted({f for _, f in values}),
            active=True,
        ).values_list("entry_id", "field_id", "entered_value")
    }
    if check:
        stale = [
            {"entry_id": e, "field_id": f, "now": now.get((e, f))}
            for (e, f), (_, wrote) in values.items()
            if now.get((e, f)) != wrote
        ]
        for e, cols in plan.columns.items():
            entry = entries.get(e)
            for column, (_, wrote) in cols.items():
                current = getattr(entry, column, None) if entry else None
                if hasattr(current, "isoformat"):
                    current = current.isoformat()
                if current != wrote:
                    stale.append({"entry_id": e, "field_id": None, "now": current})
        if stale:
            n = len(stale)
            raise Conflict(
                f"{n} of these values {'was' if n == 1 else 'were'} changed since "
                "by someone else; nothing was undone.",
                code=STALE,
                details={"cells": stale[:200]},
            )
    changes = [
        (e, f, was)
        for (e, f), (was, _) in values.items()
        if e in entries and now.get((e, f)) != was
    ]
    cells_write(changes, ctx=ctx)
    was_active = {
        e: cols["active"][0] for e, cols in plan.columns.items() if "active" in cols
    }
    trash = sorted(
        e for e, was in was_active.items() if was is False and entries[e].active
    )
    restore = sorted(
        e for e, was in was_active.items() if was is True and not entries[e].active
    )
    if trash:
        ENTRY_WRITER.delete(trash, ctx=ctx)
    if restore:
        ENTRY_WRITER.update(restore, {"active": True}, ctx=ctx)
    reverted = len(changes) + len(trash) + len(restore)
    for e, cols in plan.columns.items():
        others = {c: was for c, (was, _) in cols.items() if c != "active"}
        if others and e in entries:
            ENTRY_WRITER.update([e], others, ctx=ctx)
            reverted += 1
    return reverted


def _new_batch(by: WriteContext) -> WriteContext:
    return dataclasses.replace(by, batch=uuid.uuid4())


def batch_undo(*, batch: uuid.UUID, by: WriteContext) -> RevertResult:
    """Take back every change of ``batch`` (made by the same user), if each
    value is still what the batch wrote; else Conflict ``stale`` listing the
    cells now different, and nothing is written."""
    with transaction.atomic():
        rows = list(
            EntryHistory.objects.filter(batch=batch, changed_by=by.user_id).order_by(
                "id"
            )[: UNDO_MAX_CHANGES + 1]
        )
        if not rows:
            raise NotFound("Nothing to undo: no such change of yours.")
        if len(rows) > UNDO_MAX_CHANGES:
            raise Conflict(
                f"This change is too large to undo (more than {UNDO_MAX_CHANGES:,} "
                "values)."
            )
        ctx = _new_batch(by)
        reverted = _apply(_plan(rows), ctx=ctx, check=True)
        return RevertResult(reverted=reverted, batch=ctx.batch if reverted else None)


def _entry_history(entry: Entry, history_id: int) -> EntryHistory:
    try:
        return EntryHistory.objects.get(pk=history_id, entry_id=entry.id)
    except EntryHistory.DoesNotExist:
        raise NotFound("This entry has no such change.") from None


def history_revert(*, entry: Entry, history_id: int, by: WriteContext) -> RevertResult:
    """Take back one change of ``entry``'s history: its value (or state) goes
    back to what it was before that change, whatever it is now."""
    with transaction.atomic():
        row = _entry_history(entry, history_id)
        ctx = _new_batch(by)
        reverted = _apply(_plan([row]), ctx=ctx, check=False)
        return RevertResult(reverted=reverted, batch=ctx.batch if reverted else None)


def entry_revert_to(*, entry: Entry, history_id: int, by: WriteContext) -> RevertResult:
    """Put ``entry`` back as it was right after change ``history_id``: every
    later change of it is taken back (values and state)."""
    with transaction.atomic():
        _entry_history(entry, history_id)
        later = EntryHistory.objects.filter(entry_id=entry.id, pk__gt=history_id)
        rows = list(later.order_by("id")[: UNDO_MAX_CHANGES + 1])
        if len(rows) > UNDO_MAX_CHANGES:
            raise Conflict("Too many changes since this one to revert them at once.")
        ctx = _new_batch(by)
        reverted = _apply(_plan(rows), ctx=ctx, check=False)
        return RevertResult(reverted=reverted, batch=ctx.batch if reverted else None)
