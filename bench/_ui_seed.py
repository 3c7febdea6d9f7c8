"""Entries for the UI benchmarks, seeded set-based in the connection's schema.

:func:`seed_entries` makes things with ``fields`` fields of mixed types and
``entries`` entries each, one value per entry and field, with one
``INSERT ... SELECT`` per table and field: 100,000 entries x 10 fields take
seconds, not the minutes the writers would. The values are those of
``bench/rest.py`` (its ``FIELDS`` specs: the text ``normalise`` stores and the
typed shadow column), so both benchmarks read the same data. No history rows.

Activate the tenant first (``connection.set_schema(name)``) and run
``VACUUM ANALYZE`` afterwards, as autovacuum would have by then::

    from bench._ui_seed import seed_entries
    seeded = seed_entries(entries=100_000, fields=10)
"""

from dataclasses import dataclass

from bench.rest import FIELDS, field_values_insert


@dataclass(frozen=True)
class SeededThing:
    thing_id: int
    field_ids: dict[str, int]  # by field name
    entries: int
    first_id: int = 0  # the entries' ids are first_id, first_id + 1, ...


def seed_entries(
    *,
    thing_count: int = 1,
    entries: int = 100_000,
    fields: int = 10,
    user_id: str | None = None,
) -> list[SeededThing]:
    """Things ("Bench 1", ...) with ``fields`` fields (bench/rest.py's specs in
    turn, numbered beyond the tenth) and ``entries`` entries with every value."""
    from django.db import connection, transaction

    from gathergrid.models import Field, Thing

    seeded = []
    with transaction.atomic(), connection.cursor() as cursor:
        for number in range(1, thing_count + 1):
            thing = Thing.objects.create(name=f"Bench {number}", created_by=user_id)
            specs = [(FIELDS[i % len(FIELDS)], i // len(FIELDS)) for i in range(fields)]
            field_ids = {}
            for position, (spec, lap) in enumerate(specs):
                name = spec.name if lap == 0 else f"{spec.name} {lap + 1}"
                field_ids[name] = Field.objects.create(
                    thing=thing,
                    name=name,
                    data_type=spec.data_type,
                    mandatory=spec.mandatory,
                    required_for_initialization=spec.required_for_initialization,
                    position=position,
                    options=spec.options,
                    created_by=user_id,
                ).id
            cursor.execute(
                "INSERT INTO entries (thing_id, classification_item_id, "
                "validity_start_date, validity_end_date, active, created_by, "
                "created_at, updated_at) "
                "SELECT %s, NULL, NULL, NULL, true, %s, now(), now() "
                "FROM generate_series(1, %s)",
                [thing.id, user_id, entries],
            )
            for position, ((spec, _), field_id) in enumerate(
                zip(specs, field_ids.values(), strict=True)
            ):
                field_values_insert(
                    cursor,
                    spec=spec,
                    field_id=field_id,
                    user_id=user_id,
                    position=position,
                    thing_id=thing.id,
                )
            cursor.execute(
                "SELECT min(id) FROM entries WHERE thing_id = %s", [thing.id]
            )
            (first_id,) = cursor.fetchone()
            seeded.append(SeededThing(thing.id, field_ids, entries, first_id))
    return seeded
