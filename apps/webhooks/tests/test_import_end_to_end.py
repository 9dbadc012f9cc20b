"""Issue 14's "done when": 10,000 product changes made by imports reach a real receiver on
loopback, none lost and none out of order per product, with a worker killed (SIGKILL) in the
middle and restarted.

Why three imports: there is one event per entity per transaction (docs/events.md), and an
import is one transaction, so one import of 10,000 rows gives 10,000 products one event each,
where no order per product could be wrong. Here the imports change overlapping products, so
each product has events from different transactions, which its receiver must get in commit
order: the first creates 4,000 products (4,000 ``product.created``), the second changes the
price of all of them (4,000 ``product.updated``), the third the stock of half of them (2,000
``product.updated``): 10,000 events, two or three per product. Each import goes the way staff's
does: the sheet uploaded, its dry run then its apply run as jobs by the workers, which also
relay the outbox and send the deliveries.

Two workers run, as a deployment's do. The receiver holds request number ``KILL_AT`` unanswered,
the worker that sent it is killed with SIGKILL, and the other carries on: the killed sender's
batch was taken in a transaction that dies with its connection, so its deliveries are pending and
due again at once (their row locks gone), and the sweep (``webhooks.send_due``, every 5 s) wakes
a sender for them, with no wait for the dead worker's job to be found stalled; the worker is then
started again. The held delivery, and those of its batch the receiver had already answered, are
therefore sent twice (at least once: the receiver deduplicates by event id), and the rest once.
"""

import json
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from apps.core.tests.live import JobWorker, database_url
from apps.events.models import Event
from apps.products import import_jobs
from apps.products.models import ImportJob, ImportState
from apps.products.tests.factories import CategoryFactory
from apps.products.tests.test_admin_import_export import csv_upload
from apps.users.models import User
from apps.users.tests.factories import UserFactory
from apps.webhooks.models import Delivery
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.receiver import Received, Receiver

PRODUCTS = 4_000
RESTOCKED = PRODUCTS // 2  # the third import changes these again
CHANGES = 2 * PRODUCTS + RESTOCKED  # 10,000
KILL_AT = CHANGES // 3  # the request held while its sender is killed
WORKERS = 2
# Jobs each worker runs at once: several senders send at once, and each sends its batch in
# parallel, so the order per product rests on the queue's rule (an entity's first pending
# delivery only), not on one sender sending one delivery at a time.
CONCURRENCY = 2
# Seconds for the whole run: generous, for a machine shared with other test suites.
TIMEOUT = 900


def sheet(*, price: str, stock: int, products: int) -> list[list[str]]:
    return [
        [f"LAMP-{n}", f"Lamp {n}", "", "", price, str(stock), "true", "lamps"]
        for n in range(products)
    ]


def state(job: ImportJob) -> str:
    job.refresh_from_db()
    return job.state


class KilledWorkerScene:
    """Workers against a receiver that, at request ``KILL_AT``, holds its answer while the main
    thread kills the worker that sent it, queues its jobs again and starts it anew."""

    def __init__(self, workers: list[JobWorker], receiver: Receiver, secret: str) -> None:
        self.workers = workers
        self.receiver = receiver
        self.webhook = Webhook(secret)
        self.counting = threading.Lock()
        self.answered = 0
        self.unverified: list[str] = []
        self.held: Received | None = None
        self.hold = threading.Event()  # request KILL_AT came, and waits
        self.release = threading.Event()  # its sender is dead: answer it
        self.restarted = False
        self.started = time.monotonic()
        self.marks: dict[str, float] = {}

    # In the receiver's threads.
    def answer(self, received: Received) -> int:
        try:  # now: the timestamp must be within 5 minutes of the receiver's clock
            self.webhook.verify(received.body, received.headers)
        except WebhookVerificationError as error:
            self.unverified.append(f"{received.headers.get('webhook-id')}: {error}")
            return 400
        with self.counting:
            self.answered += 1
            number = self.answered
        if number == KILL_AT:
            self.held = received
            self.hold.set()
            self.release.wait(timeout=TIMEOUT)
        return 200

    def mark(self, name: str) -> None:
        self.marks[name] = round(time.monotonic() - self.started, 1)

    def wait_until(self, condition: Callable[[], bool]) -> None:
        """Wait for ``condition``, killing and restarting the worker when the time comes."""
        deadline = self.started + TIMEOUT
        while not condition():
            if self.hold.is_set() and not self.restarted:
                self.kill_and_restart()
            assert time.monotonic() < deadline, self.situation()
            time.sleep(0.2)

    def kill_and_restart(self) -> None:
        assert self.held is not None
        victim = self.sender(self.held)
        assert victim.process is not None
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        self.mark("killed")
        self.release.set()  # its connection is gone; the receiver's thread may end

        victim.start()
        self.restarted = True
        self.mark("restarted")

    def sender(self, received: Received) -> JobWorker:
        """Return the worker whose connection sent ``received`` (by the connection's port)."""
        for worker in self.workers:
            assert worker.process is not None
            connections = psutil.Process(worker.process.pid).net_connections(kind="tcp")
            if any(local.laddr.port == received.peer_port for local in connections):
                return worker
        raise AssertionError(f"no worker has a connection from port {received.peer_port}")

    def import_sheet(self, rows: list[list[str]], staff: User) -> ImportJob:
        """Upload a sheet, let a worker run its dry run, confirm it, let a worker apply it."""
        dry_run = import_jobs.import_dry_run_start(
            file=csv_upload(rows), filename="lamps.csv", file_format="csv", user=staff
        )
        self.wait_until(lambda: state(dry_run) == ImportState.SUCCEEDED)
        assert dry_run.error_count == 0
        apply = import_jobs.import_apply_start(dry_run=dry_run, user=staff)
        self.wait_until(lambda: state(apply) == ImportState.SUCCEEDED)
        return apply

    def situation(self) -> str:
        """Say where things stand, for a timeout's message."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT task_name, status::text, count(*) FROM procrastinate_jobs"
                " GROUP BY 1, 2 ORDER BY 1, 2"
            )
            jobs = cursor.fetchall()
        return (
            f"after {self.marks}: {len(self.receiver.received)} request(s) received,"
            f" held {self.hold.is_set()}, restarted {self.restarted},"
            f" deliveries pending {Delivery.objects.pending().count()}"
            f" of {Delivery.objects.count()}, jobs {jobs}\n"
            + "\n".join(worker.log_text()[-2000:] for worker in self.workers)
        )


@pytest.mark.django_db(transaction=True)
def test_ten_thousand_imported_changes_reach_the_receiver_in_order_through_a_killed_worker(
    receiver: Receiver, settings: Any, tmp_path: Path
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False  # the workers run the jobs
    CategoryFactory(slug="lamps")
    staff: User = UserFactory(is_staff=True)
    subscription = SubscriptionFactory(
        target_url=receiver.url, event_types=["product.created", "product.updated"]
    )
    environment = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        "WEBHOOKS_HTTPS_ONLY": "false",
        "PROCRASTINATE_WORKER_CONCURRENCY": str(CONCURRENCY),
        "LOG_LEVEL": "INFO",  # JobWorker waits for its "Starting worker"
    }
    workers = [
        JobWorker(environment=environment, log_path=tmp_path / f"worker-{n}.log")
        for n in range(WORKERS)
    ]
    scene = KilledWorkerScene(workers, receiver, subscription.secret)
    receiver.answer = scene.answer
    try:
        for worker in workers:
            worker.start()
        created = scene.import_sheet(sheet(price="10.00", stock=5, products=PRODUCTS), staff)
        scene.mark("import 1")
        repriced = scene.import_sheet(sheet(price="12.00", stock=5, products=PRODUCTS), staff)
        scene.mark("import 2")
        restocked = scene.import_sheet(sheet(price="12.00", stock=7, products=RESTOCKED), staff)
        scene.mark("import 3")
        scene.wait_until(
            lambda: (
                scene.restarted
                and Delivery.objects.count() >= CHANGES
                and not Delivery.objects.pending().exists()
            )
        )
        scene.mark("delivered")
    finally:
        scene.release.set()
        for worker in workers:
            worker.stop()

    assert (created.new, repriced.changed, restocked.changed) == (PRODUCTS, PRODUCTS, RESTOCKED)
    events = {str(event.id): event for event in Event.objects.filter(entity="product").order_by()}
    assert len(events) == CHANGES
    assert Delivery.objects.count() == CHANGES  # one delivery per event: each relayed once
    assert scene.unverified == []  # every request was signed with the subscription's secret

    received_ids = [json.loads(received.body)["id"] for received in receiver.received]
    assert set(received_ids) == set(events)  # none lost
    duplicates = len(received_ids) - len(set(received_ids))
    assert scene.held is not None
    assert received_ids.count(json.loads(scene.held.body)["id"]) == 2  # sent again
    # Each product's events arrive in commit order (by position: docs/events.md, "Order"), and
    # so by time: a duplicate only repeats the latest one, never comes after a later one.
    arrived: dict[int, list[Event]] = defaultdict(list)
    for received in receiver.received:
        payload = json.loads(received.body)
        event = events[payload["id"]]
        assert (payload["type"], payload["product_id"]) == (event.type, event.entity_id)
        assert datetime.fromisoformat(payload["timestamp"]) == event.occurred_at
        arrived[event.entity_id].append(event)
    assert len(arrived) == PRODUCTS
    for product_id, product_events in arrived.items():
        positions = [event.position for event in product_events]
        assert positions == sorted(positions), (product_id, positions)
        times = [event.occurred_at for event in product_events]
        assert times == sorted(times), (product_id, times)
        assert product_events[0].type == "product.created", product_id
    print(
        f"\n{CHANGES} changes, {len(received_ids)} requests ({duplicates} duplicate(s)),"
        f" seconds: {scene.marks}"
    )
