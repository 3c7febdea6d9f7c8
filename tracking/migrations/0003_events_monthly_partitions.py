"""Monthly partitions of ``events`` and its ``(event_time, id)`` index.

Runs in each tenant schema (and the template, which new tenants are cloned
from) as django-tenants migrates it. The index comes first, so that moving a
month's rows out of the default partition finds them by time.
"""

from django.db import migrations


def event_partitions_create(apps, schema_editor):
    from tracking.partitions import event_partitions_ensure

    event_partitions_ensure()


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0002_sessions_and_usage"),
    ]

    operations = [
        # Keyset pages of the events explorer and timelines, newest first.
        migrations.RunSQL(
            sql="CREATE INDEX events_time_id ON events (event_time, id)",
            reverse_sql="DROP INDEX events_time_id",
        ),
        migrations.RunPython(event_partitions_create, migrations.RunPython.noop),
    ]
