"""The relay's wake-up: a committed event sends a NOTIFY on events_outbox, and a worker's
listener (``manage.py jobs worker``) then defers the relay at once, without its periodic run;
a rolled-back transaction notifies nothing and wakes nothing."""

import asyncio
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection, transaction
from procrastinate.contrib.django import app
from procrastinate.contrib.django.utils import connector_params
from pytest_django.fixtures import Settings

from apps.core.jobs import WAKE_INTERVAL_SECONDS, jobs_wake_listen
from apps.products.models import Product
from apps.products.tests.factories import ProductFactory
from apps.webhooks.models import Delivery
from apps.webhooks.services import events_relay
from apps.webhooks.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Refused(Exception):
    pass


def rename_then_roll_back(product: Product) -> None:
    @transaction.atomic
    def rename_then_fail() -> None:
        Product.objects.filter(pk=product.pk).update(name="Never")
        raise Refused

    with pytest.raises(Refused):
        rename_then_fail()


def relay_jobs() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs"
            " WHERE task_name = 'webhooks.events_relay' AND status = 'todo'"
        )
        return int(cursor.fetchone()[0])


def relay_jobs_delete() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'webhooks.events_relay'")


def wait_for(condition: object, timeout: float) -> float:
    """Wait until ``condition()`` holds and return the seconds it took; fail after ``timeout``."""
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - started < timeout, "not within the time"
        time.sleep(0.01)
    return time.monotonic() - started


def test_only_a_committed_event_notifies_the_outbox_channel() -> None:
    product = ProductFactory()
    with psycopg.connect(**connector_params(), autocommit=True) as listener:
        listener.execute("LISTEN events_outbox")

        rename_then_roll_back(product)
        Product.objects.filter(pk=product.pk).update(stock=product.stock)  # no event: no change
        assert list(listener.notifies(timeout=0.3)) == []

        with transaction.atomic():  # two statements, two events: one notification
            Product.objects.filter(pk=product.pk).update(name="Renamed")
            ProductFactory()
        notified = list(listener.notifies(timeout=0.3))
        assert [(n.channel, n.payload) for n in notified] == [("events_outbox", "")]


@pytest.fixture
def listening_worker() -> Iterator[None]:
    """Run the wake-up listener of ``manage.py jobs worker`` in a thread, with the worker's
    connector, until the test ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    stop = asyncio.Event()

    async def listen() -> None:
        async with app.open_async():
            listener = asyncio.create_task(jobs_wake_listen(app))
            await stop.wait()
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    with app.replace_connector(app.connector.get_worker_connector()):
        listening = asyncio.run_coroutine_threadsafe(listen(), loop)
        try:
            # On connecting, the listener defers the relay once (for what it may have missed).
            wait_for(lambda: relay_jobs() == 1, timeout=10)
            relay_jobs_delete()
            yield
        finally:
            loop.call_soon_threadsafe(stop.set)
            listening.result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()


def quiet_then_no_relay_job() -> None:
    """Let the wake-ups of the last commits pass (the listener remembers a notification that
    came while it waited its interval), then delete their relay job."""
    time.sleep(WAKE_INTERVAL_SECONDS * 3)
    relay_jobs_delete()


def test_a_committed_event_wakes_the_relay_and_a_rolled_back_one_does_not(
    settings: Settings, listening_worker: None
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    subscription = SubscriptionFactory(event_types=["product.updated"])
    product = ProductFactory()
    wait_for(lambda: relay_jobs() == 1, timeout=2)  # the product's creation
    quiet_then_no_relay_job()

    rename_then_roll_back(product)
    time.sleep(0.5)
    assert relay_jobs() == 0

    Product.objects.filter(pk=product.pk).update(name="Renamed")
    # The periodic relay runs every 5 s (and no worker runs here): this is the wake-up's job.
    assert wait_for(lambda: relay_jobs() == 1, timeout=1) < 0.5

    # A relay waits already: more commits queue no second one.
    Product.objects.filter(pk=product.pk).update(name="Renamed again")
    time.sleep(0.3)
    assert relay_jobs() == 1

    quiet_then_no_relay_job()
    events_relay()  # what the job does
    assert sorted(
        Delivery.objects.filter(subscription=subscription).values_list("event__changes", flat=True)
    ) == [["name"], ["name"]]
