"""A real worker (production settings) against a real receiver on loopback: the periodic relay
turns committed changes into deliveries, sent signed, retried, and in order per entity."""

import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from standardwebhooks.webhooks import Webhook

from apps.core.tests.live import JobWorker, database_url
from apps.products.models import Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.webhooks.models import Delivery
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.receiver import Received, Receiver


def wait_until(condition: Any, timeout: float, worker: JobWorker) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, worker.log_text()[-4000:]
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_a_failed_delivery_holds_back_its_entitys_later_events_only(
    receiver: Receiver, settings: Any, tmp_path: Path
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False  # the worker runs the jobs
    subscription = SubscriptionFactory(
        target_url=receiver.url, event_types=["product.created", "product.updated"]
    )
    with transaction.atomic():  # one product.created each
        category = CategoryFactory()
        held, free = ProductFactory(category=category), ProductFactory(category=category)
    Product.objects.filter(pk=held.pk).update(name="Held, then renamed")  # its own transaction
    answered: list[tuple[int, str, int]] = []

    def answer(received: Received) -> int:
        payload = json.loads(received.body)
        key = (payload["data"]["id"], payload["type"])
        # The held product's creation fails once; everything else is accepted.
        held_creation = key == (held.pk, "product.created")
        status = 500 if held_creation and (*key, 500) not in answered else 200
        answered.append((*key, status))
        return status

    receiver.answer = answer
    worker = JobWorker(
        environment={
            "DATABASE_URL": database_url(connection.settings_dict),
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
            "WEBHOOKS_HTTPS_ONLY": "false",
            # A retry a second or two later instead of 5 s.
            "WEBHOOKS_RETRY_FIRST_SECONDS": "1",
            "LOG_LEVEL": "INFO",
        },
        log_path=tmp_path / "worker.log",
    )
    with worker:
        wait_until(
            lambda: Delivery.objects.count() == 3 and not Delivery.objects.pending().exists(),
            timeout=60,
            worker=worker,
        )

    # The free product's delivery went with the held one's first attempt (one batch, sent in
    # parallel); the held product's update went only after its creation was delivered.
    assert sorted(answered[:2]) == sorted(
        [(held.pk, "product.created", 500), (free.pk, "product.created", 200)]
    )
    assert answered[2:] == [(held.pk, "product.created", 200), (held.pk, "product.updated", 200)]
    for received in receiver.received:
        payload = Webhook(subscription.secret).verify(received.body, received.headers)
        assert received.headers["webhook-id"] == payload["id"]
    assert json.loads(receiver.received[-1].body)["data"]["name"] == "Held, then renamed"
    # Production's logs: one JSON object per line, the worker's start too.
    logged = [json.loads(line) for line in worker.log_text().splitlines()]
    assert "Launching a worker on all queues" in [line["message"] for line in logged]
    first_attempt = min(r.at for r in receiver.received[:2])
    retried = receiver.received[2].at - first_attempt
    assert retried >= 0.9
