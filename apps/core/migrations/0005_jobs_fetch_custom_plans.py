"""procrastinate's fetch (``procrastinate_fetch_job_v2``) is planned afresh at each call.

The function is PL/pgSQL: after five calls, PostgreSQL may keep a generic plan of its query,
made with the table's statistics. For a queue table never analyzed (after its migration, a
TRUNCATE or a restore, until autovacuum's first analyze; for ever where autovacuum is off, as
on the CI's PostgreSQL) that had a backlog come and go, the generic plan reads every waiting
job, checks each one's lock against the others and sorts them all to take the first. With
5,000 webhook deliveries waiting a fetch took 1.1 s (191,000 buffers) instead of 1-4 ms, and
two workers sent 5 deliveries a second (apps/webhooks/tests/test_import_end_to_end.py). A
custom plan knows the arguments (all queues) and walks the waiting jobs in order, stopping at
the first one it may take; planning it costs well under a millisecond.

procrastinate's function, our setting: a new version of the function (a procrastinate upgrade's
``CREATE OR REPLACE``, or a ``_v3``) drops it; apps/core/tests/test_jobs_fetch.py then fails.
"""

from django.db import migrations

FUNCTION = "procrastinate_fetch_job_v2(character varying[], bigint)"


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_jobs_waiting_lock_index"),
        ("procrastinate", "0041_post_retry_failed_job"),
    ]

    operations = [
        migrations.RunSQL(
            f"ALTER FUNCTION {FUNCTION} SET plan_cache_mode = force_custom_plan",
            f"ALTER FUNCTION {FUNCTION} RESET plan_cache_mode",
        ),
    ]
