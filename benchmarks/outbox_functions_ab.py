"""The outbox's trigger functions against their predecessors on one statement (docs/events.md,
"Cost"): each statement in a transaction rolled back, with events.0003's functions
(events_record, built with EXECUTE), with events.0001's per-table functions (installed inside
the transaction by 0003's reverse SQL), and with the outbox's triggers disabled.

Usage: .venv/bin/python benchmarks/outbox_functions_ab.py DATABASE [ROUNDS]
DATABASE: a migrated database holding the sample catalogue (import_products --generate-sample
25000, then the sheet imported), on PostgreSQL at 127.0.0.1, user postgres.
"""

import importlib
import os
import sys
import time
from pathlib import Path

import django
import psycopg

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.dev")
sys.path.insert(0, ".")
django.setup()
migration = importlib.import_module("apps.events.migrations.0003_events_record")
old = migration.DROP + migration.PREVIOUS
statements = {
    "variant prices (100,000 rows)": "UPDATE products_variant SET price = price + 1",
    "product names (25,000 rows)": "UPDATE products_product SET name = name || ' x'",
}
disable = """SELECT format('ALTER TABLE %I DISABLE TRIGGER %I;', tgrelid::regclass, tgname)
FROM pg_trigger JOIN pg_proc ON pg_proc.oid = tgfoid
WHERE proname IN ('events_record', 'events_review_moderation', 'events_products_follow')"""
with psycopg.connect(
    f"postgresql://postgres@127.0.0.1:5432/{sys.argv[1]}", autocommit=True
) as conn:
    for round_ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 3):
        for name, statement in statements.items():
            for arm in ("new", "old", "none"):
                with conn.transaction(force_rollback=True):
                    if arm == "old":
                        conn.execute(old)
                    if arm == "none":
                        for (alter,) in conn.execute(disable).fetchall():
                            conn.execute(alter)
                    start = time.perf_counter()
                    conn.execute(statement)
                    took = time.perf_counter() - start
                    (events,) = conn.execute(
                        "SELECT count(*) FROM events_event"
                        " WHERE transaction_id = pg_current_xact_id()"
                    ).fetchone() or (0,)
                load = Path("/proc/loadavg").read_text().split()[:3]
                print(
                    f"round {round_ + 1} {name:32} {arm:4} {took:6.2f} s {events:7} events"
                    f" load {' '.join(load)}",
                    flush=True,
                )
