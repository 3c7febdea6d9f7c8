"""Feedback is found by its id (``source``, ``message_id``: Bucket's
``feedbackId``), so a later call can update it; ``account_usage`` counts the
feedback that has a score apart (``feedback_scored``), so the average score
is ``feedback_score_sum / feedback_scored``. The new counter is filled from
the feedback already stored."""

from django.db import migrations, models

FEEDBACK_SCORED_BACKFILL = """
UPDATE account_usage u SET feedback_scored = s.n
FROM (
  SELECT account_id, (created_at AT TIME ZONE 'UTC')::date AS day,
    count(score) AS n
  FROM feedback WHERE account_id IS NOT NULL
  GROUP BY 1, 2
) s
WHERE u.account_id = s.account_id AND u.day = s.day AND s.n > 0
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0003_events_monthly_partitions"),
    ]

    operations = [
        migrations.AddField(
            model_name="accountusage",
            name="feedback_scored",
            field=models.IntegerField(default=0),
        ),
        migrations.RunSQL(FEEDBACK_SCORED_BACKFILL, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="feedback",
            constraint=models.UniqueConstraint(
                fields=("source", "message_id"), name="feedback_source_message"
            ),
        ),
    ]
