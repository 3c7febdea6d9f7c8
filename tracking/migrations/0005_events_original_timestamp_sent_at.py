"""Segment's ``originalTimestamp`` and ``sentAt`` kept beside ``event_time``
(corrected for clock skew) and ``received_at``, as Segment's warehouses keep
them; null for dialects without them.

``events`` is partitioned: a column added to the parent is added to every
partition (the default one, the months'), and the template's catalog is what
new tenants are cloned from, so they have the columns too. Nullable, without
a default: adding them rewrites nothing.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0004_feedback_ids_and_scored_count"),
    ]

    operations = [
        migrations.RunSQL(
            sql="ALTER TABLE events ADD COLUMN original_timestamp timestamptz, "
            "ADD COLUMN sent_at timestamptz",
            reverse_sql="ALTER TABLE events DROP COLUMN original_timestamp, "
            "DROP COLUMN sent_at",
            # The model is unmanaged (the table is the SQL's): its state only.
            state_operations=[
                migrations.AddField(
                    model_name="event",
                    name="original_timestamp",
                    field=models.DateTimeField(null=True),
                ),
                migrations.AddField(
                    model_name="event",
                    name="sent_at",
                    field=models.DateTimeField(null=True),
                ),
            ],
        ),
    ]
