"""A worker's fetch of the next job stays cheap however many jobs wait, whatever the queue
table's statistics (core.0005_jobs_fetch_custom_plans)."""

from typing import Any

from django.db import connection

WAITING = 2_000


def test_a_fetch_takes_the_first_waiting_job_without_sorting_them_all(db: None) -> None:
    """The queue's table was never analyzed (as after its migration or a TRUNCATE, until
    autovacuum's first analyze; for ever where autovacuum is off, as on the CI's PostgreSQL);
    a backlog came and went, and now 2,000 jobs with locks wait (one per entity, as webhook
    deliveries once were).
    PL/pgSQL keeps a generic plan of the fetch after five calls; made without statistics, it
    read every waiting job, checked each one's lock and sorted them (250 ms a fetch here, 1.1 s
    with 5,000 waiting). Each fetch is planned for its call: the waiting jobs are walked in
    order and the first one that may run is taken (1 ms)."""
    plans: list[str] = []
    raw = connection.connection
    assert raw is not None

    def keep(diagnostic: Any) -> None:
        plans.append(diagnostic.message_primary or "")

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")  # no statistics (rolled back)
        # An earlier backlog came and went, then the one the workers now fetch from.
        for prefix, count in [("drained", 5_000), ("product:", WAITING)]:
            cursor.execute("DELETE FROM procrastinate_jobs")
            cursor.execute(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args)"
                " SELECT 'webhooks', 'example.locked', %s || n, '{}'"
                " FROM generate_series(1, %s) AS n",
                [prefix, count],
            )
        raw.add_notice_handler(keep)
        try:
            cursor.execute("LOAD 'auto_explain'")
            for setting in ["log_min_duration = 0", "log_nested_statements = on"]:
                cursor.execute(f"SET LOCAL auto_explain.{setting}")
            cursor.execute("SET LOCAL auto_explain.log_level = notice")
            taken = []
            for _ in range(8):  # past the five calls after which a generic plan may be kept
                cursor.execute("SELECT id, lock FROM procrastinate_fetch_job_v2(NULL, NULL)")
                taken.append(cursor.fetchone()[1])
        finally:
            raw.remove_notice_handler(keep)

    assert taken == [f"product:{n}" for n in range(1, 9)]  # in order, each once
    fetches = [plan for plan in plans if "WITH candidate AS" in plan]
    assert len(fetches) == 8
    for plan in fetches:
        assert "Sort" not in plan, plan
