"""Measure webhook deliveries per second and event lag with real workers and a loopback receiver.

    DATABASE_URL=postgres://.../relay_bench python benchmarks/webhook_throughput.py \\
        --rate 100 --seconds 30 --backlog 6000 --workers 1

Into a migrated database with products (benchmarks/generate_catalogue.py; 5,000 are plenty):
one subscription to ``product.updated`` pointing at a receiver on 127.0.0.1 (another process,
asyncio, HTTP/1.1 with keep-alive, answering 204), and ``--workers`` job workers started as
production starts them (``manage.py jobs worker``, production settings from .env.example, the
concurrency of ``--concurrency``). Then two phases:

1. **Steady writes**: ``--rate`` product renames a second for ``--seconds``, each its own
   transaction (one ``product.updated`` each, round robin over the products). The lag of an
   event is its receipt at the receiver minus the event's ``timestamp`` in the payload (the
   start of the statement that made it, so it includes the commit): p50, p95, p99, max.
2. **Backlog**: ``--backlog`` renames committed in transactions of 100, as fast as possible;
   deliveries per second from the first receipt to the last, and the workers' CPU seconds per
   delivery.

``--no-wake`` starts ``manage.py procrastinate worker`` instead, which does not listen for the
outbox's NOTIFY: the relay then runs every 5 s only (the lag before the wake-up).

Each phase waits until every delivery arrived (or ``--timeout``). Earlier events, deliveries
and subscriptions of the database are deleted first (events marked relayed), and the products'
names are changed: run it on a benchmark database, never on one whose data matters.
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.dev")

import django

django.setup()

from django.db import connection

from apps.core.tests.live import free_port, prod_environment
from apps.products.models import Product
from apps.webhooks.models import Delivery, DeliveryAttempt, Subscription

# --- The receiver: its own process, so that it competes with the worker for CPU as a real one
# on the same machine would, and not for this process's GIL. ---


def receiver_main(port: int, log_path: str) -> None:
    """Serve HTTP/1.1 POSTs on 127.0.0.1:``port``, answer 204, and append ``receipt_time
    event_timestamp`` per request to ``log_path`` (flushed every 0.2 s)."""
    records: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                received = time.time()
                stamp = datetime.fromisoformat(json.loads(body)["timestamp"]).timestamp()
                records.append(f"{received:.6f} {stamp:.6f}\n")
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def flush() -> None:
        with open(log_path, "a") as log:
            while True:
                await asyncio.sleep(0.2)
                taken = records[:]
                del records[: len(taken)]
                log.writelines(taken)
                log.flush()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        async with server:
            await asyncio.gather(server.serve_forever(), flush())

    asyncio.run(serve())


def received(log_path: Path) -> list[tuple[float, float]]:
    if not log_path.exists():
        return []
    pairs = []
    for line in log_path.read_text().splitlines():
        receipt, stamp = line.split()
        pairs.append((float(receipt), float(stamp)))
    return pairs


def cpu_seconds(pid: int) -> float:
    """Return the user and system CPU seconds process ``pid`` has used (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def arguments_parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100, help="steady writes a second")
    parser.add_argument("--seconds", type=float, default=30, help="of steady writes")
    parser.add_argument("--backlog", type=int, default=6000, help="renames for the backlog")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1, help="of each worker")
    parser.add_argument("--timeout", type=float, default=120, help="to wait for a phase")
    parser.add_argument(
        "--worker-env", action="append", default=[], help="NAME=VALUE for the workers (repeat)"
    )
    parser.add_argument(
        "--no-wake",
        action="store_true",
        help="run `manage.py procrastinate worker`: no wake-up, the relay every 5 s only",
    )
    parser.add_argument("--receiver-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--receiver-log", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


def database_prepare() -> None:
    """Forget earlier runs: no event left to relay, no webhook job, delivery or subscription."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE events_event SET relayed_at = now() WHERE relayed_at IS NULL")
        cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'webhooks'")
    DeliveryAttempt.objects.all().delete()
    Delivery.objects.all().delete()
    Subscription.objects.all().delete()


def processes_start(
    arguments: argparse.Namespace, work: Path, port: int
) -> list[subprocess.Popen[bytes]]:
    """Start the receiver, subscribe it, and start the workers; return the processes."""
    log_path = work / "received.log"
    command = [sys.executable, __file__, "--receiver-port", str(port), "--receiver-log"]
    processes = [subprocess.Popen([*command, str(log_path)])]  # noqa: S603 (this script)
    Subscription.objects.create(
        target_url=f"http://127.0.0.1:{port}/hook",
        event_types=["product.updated"],
        secret="whsec_" + "A" * 43 + "=",
    )
    environment = prod_environment(
        **{
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
            "WEBHOOKS_HTTPS_ONLY": "false",
            "LOG_LEVEL": "WARNING",
            "PROCRASTINATE_WORKER_CONCURRENCY": str(arguments.concurrency),
            **dict(pair.split("=", 1) for pair in arguments.worker_env),  # these win
        }
    )
    worker_command = "procrastinate" if arguments.no_wake else "jobs"
    for number in range(arguments.workers):
        processes.append(
            subprocess.Popen(  # noqa: S603 (our interpreter and manage.py)
                [sys.executable, "manage.py", worker_command, "worker"],
                cwd=ROOT,
                env=environment,
                stdout=(work / f"worker{number}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
    return processes


def renamer(product_ids: list[int]) -> Callable[[int], None]:
    """Return a function renaming the next ``count`` products (round robin) in one statement,
    to names no earlier run gave: one product.updated each."""
    done = 0

    def renames(count: int) -> None:
        nonlocal done
        ids = [product_ids[(done + n) % len(product_ids)] for n in range(count)]
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE products_product SET name = 'Bench ' || %s || ' ' || %s || ' ' || id"
                " WHERE id = ANY(%s)",
                [os.getpid(), done, ids],
            )
        done += count

    return renames


def main() -> None:
    arguments = arguments_parse()
    if arguments.receiver_port:
        receiver_main(arguments.receiver_port, arguments.receiver_log)
        return
    product_ids = list(Product.objects.order_by("id").values_list("id", flat=True)[:10_000])
    assert product_ids, "No product: generate a catalogue first (benchmarks/generate_catalogue.py)"
    database_prepare()
    work = Path(tempfile.mkdtemp(prefix="webhook_throughput_"))
    log_path = work / "received.log"
    processes = processes_start(arguments, work, free_port())
    renames = renamer(product_ids)

    def wait_for(count: int) -> list[tuple[float, float]]:
        deadline = time.monotonic() + arguments.timeout
        while time.monotonic() < deadline:
            got = received(log_path)
            if len(got) >= count:
                return got
            time.sleep(0.2)
        raise SystemExit(f"{len(received(log_path))} deliveries received, {count} expected")

    try:
        time.sleep(5)  # the workers start
        # Steady writes, each its own transaction (autocommit).
        writes = int(arguments.rate * arguments.seconds)
        started = time.monotonic()
        for number in range(writes):
            delay = started + number / arguments.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            renames(1)
        writing = time.monotonic() - started
        got = wait_for(writes)
        lags = [receipt - stamp for receipt, stamp in got]
        steady_span = max(r for r, _ in got) - min(r for r, _ in got)
        print(
            f"steady: {writes} writes in {writing:.1f} s ({writes / writing:.0f}/s),"
            f" delivered at {writes / steady_span:.0f}/s;"
            f" lag p50 {statistics.median(lags) * 1000:.0f} ms,"
            f" p95 {percentile(lags, 0.95) * 1000:.0f} ms,"
            f" p99 {percentile(lags, 0.99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms"
        )

        # The backlog: committed as fast as possible, in transactions of 100.
        cpu_before = [cpu_seconds(process.pid) for process in processes]
        committed = time.monotonic()
        for _ in range(arguments.backlog // 100):
            renames(100)
        committing = time.monotonic() - committed
        got = wait_for(writes + arguments.backlog)[writes:]
        receipts = sorted(r for r, _ in got)
        span = receipts[-1] - receipts[0]
        lags = [receipt - stamp for receipt, stamp in got]
        cpu = [cpu_seconds(p.pid) - before for p, before in zip(processes, cpu_before, strict=True)]
        print(
            f"backlog: {arguments.backlog} events committed in {committing:.1f} s;"
            f" {len(got)} deliveries in {span:.1f} s: {len(got) / span:.0f} deliveries/s;"
            f" last one {max(lags):.1f} s after its event;"
            f" CPU per delivery: workers {sum(cpu[1:]) / len(got) * 1000:.1f} ms,"
            f" receiver {cpu[0] / len(got) * 1000:.2f} ms"
        )
        print(
            f"workers {arguments.workers} x concurrency {arguments.concurrency};"
            f" {len(product_ids)} products; logs in {work}"
        )
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
