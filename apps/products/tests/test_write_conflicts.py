"""Deadlocks between a category move and product writes: really raced against PostgreSQL.

A move rewrites the subtree's paths, and the facet triggers then take the moved products out
of the old ancestors' summary rows and into the new ones': first for the descendants' products
(the nested statement), then for the moved category's own. A product write counts its change
into the same rows, all at once, in key order. So the move can hold a row of the first pass
that the write needs while it waits for one the write holds: PostgreSQL aborts one of them.

Left to chance, the two must meet within a fraction of a millisecond. Here a third session
(the "gate") holds the one summary row that only the move's second pass needs, so that each
writer really stops at the point where the race would have it; PostgreSQL's lock manager, not
the test, decides what happens next.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import Value
from rest_framework.test import APIClient

from apps.core import transactions
from apps.core.testing import run_together
from apps.core.tests.live import database_url
from apps.core.transactions import retry_on_write_conflict, sqlstate
from apps.products.models import Category, CategoryFacetCount, Product
from apps.products.services import category_update, product_update, products_bulk_change
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.products.tests.helpers import assert_summary_is_fresh
from apps.users.models import User
from apps.users.tests.factories import UserFactory


def sessions_waiting_for_locks() -> int:
    """Return how many sessions of the test database wait for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        (waiting,) = cursor.fetchone()
    return int(waiting)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


@contextmanager
def gate_on(sql: str, params: list[Any]) -> Iterator[psycopg.Connection[Any]]:
    """Hold the row locks that ``sql`` (a SELECT ... FOR UPDATE) takes, in a session of its
    own, until the block ends or the caller commits it."""
    with psycopg.connect(database_url(connection.settings_dict)) as gate:
        gate.execute(sql, params)
        yield gate
        gate.rollback()


class MoveRace:
    """A category move (``moved`` from ``old_parent`` to ``new_parent``, with its child) and a
    write to ``written``, a product of a category under ``new_parent`` whose stock comes back,
    stopped by the gate where they deadlock.

    The move's first pass holds the new parent's in-stock summary row (the child's product);
    its second pass (the moved category's own, out-of-stock product) starts at the old parent's
    out-of-stock row, which the gate holds. The write takes the new parent's out-of-stock row,
    then needs its in-stock one. Once the gate lets go, the move needs the row the write holds.
    """

    def __init__(self) -> None:
        self.old_parent = CategoryFactory(name="Old parent")
        self.new_parent = CategoryFactory(name="New parent")
        self.moved = CategoryFactory(name="Moved", parent=self.old_parent)
        self.child = CategoryFactory(name="Child", parent=self.moved)
        neighbour = CategoryFactory(name="Neighbour", parent=self.new_parent)
        ProductFactory(category=self.moved, stock=0, price=Decimal("5"))
        ProductFactory(category=self.child, stock=3, price=Decimal("5"))
        self.written = ProductFactory(category=neighbour, stock=0, price=Decimal("5"))
        assert CategoryFacetCount.objects.filter(category=self.old_parent, in_stock=False).exists()

    def gate(self) -> Any:
        return gate_on(
            "SELECT 1 FROM products_categoryfacetcount"
            " WHERE category_id = %s AND NOT in_stock FOR UPDATE",
            [self.old_parent.pk],
        )

    def run(self, move: Callable[[], Any], write: Callable[[], Any]) -> list[Any]:
        """Run ``move`` and ``write`` against the gate; return their outcomes."""
        write_done = threading.Event()

        def write_once_the_move_waits() -> Any:
            wait_until(lambda: sessions_waiting_for_locks() >= 1, "the move waits for the gate")
            try:
                return write()
            finally:
                write_done.set()

        with self.gate() as gate:

            def open_the_gate() -> None:
                wait_until(
                    lambda: write_done.is_set() or sessions_waiting_for_locks() >= 2,
                    "the write waits for the move",
                )
                gate.commit()

            move_outcome, write_outcome, _ = run_together(
                move, write_once_the_move_waits, open_the_gate
            )
        return [move_outcome, write_outcome]

    def assert_stored_figures_are_right(self) -> None:
        self.moved.refresh_from_db()
        self.child.refresh_from_db()
        self.written.refresh_from_db()
        assert self.moved.path == f"{self.new_parent.path}{self.moved.pk}/"
        assert self.child.path == f"{self.moved.path}{self.child.pk}/"
        assert self.written.stock == 5
        assert_summary_is_fresh()


def is_deadlock(outcome: object) -> bool:
    return isinstance(outcome, OperationalError) and sqlstate(outcome) == "40P01"


@pytest.fixture
def without_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transactions, "WRITE_CONFLICT_ATTEMPTS", 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("without_retries")
def test_a_move_racing_a_product_write_deadlocks_without_retries() -> None:
    race = MoveRace()

    outcomes = race.run(
        lambda: category_update(category=race.moved, parent=race.new_parent),
        lambda: product_update(product=race.written, stock=5),
    )

    # The race is real: PostgreSQL aborts one of the two, and the other one goes through.
    assert sorted(is_deadlock(outcome) for outcome in outcomes) == [False, True], outcomes
    survivor = next(outcome for outcome in outcomes if not is_deadlock(outcome))
    assert isinstance(survivor, Category | Product), outcomes
    assert_summary_is_fresh()  # the aborted one left nothing behind


@pytest.mark.django_db(transaction=True)
def test_a_move_and_a_product_write_that_deadlock_both_succeed_once_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="apps.core.transactions")
    race = MoveRace()

    outcomes = race.run(
        lambda: category_update(category=race.moved, parent=race.new_parent),
        lambda: product_update(product=race.written, stock=5),
    )

    assert [type(outcome) for outcome in outcomes] == [Category, Product], outcomes
    # They did deadlock, and the one PostgreSQL aborted ran again.
    retried = [r.getMessage() for r in caplog.records if "Write conflict" in r.getMessage()]
    assert len(retried) == 1 and "(40P01), attempt 1 of 3" in retried[0], retried
    race.assert_stored_figures_are_right()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("without_retries")
def test_a_write_conflict_left_after_the_retries_is_a_503_write_conflict(
    staff_with_perms: Callable[..., User],
) -> None:
    race = MoveRace()
    staff = staff_with_perms("products.change_category", "products.change_product")

    def patch(path: str, data: dict[str, Any]) -> Any:
        client = APIClient()
        client.force_authenticate(staff)
        return client.patch(path, data, format="json")

    responses = race.run(
        lambda: patch(f"/api/v1/categories/{race.moved.pk}/", {"parent": race.new_parent.pk}),
        lambda: patch(f"/api/v1/products/{race.written.pk}/", {"stock": 5}),
    )

    assert sorted(response.status_code for response in responses) == [200, 503], responses
    refused = next(response for response in responses if response.status_code == 503)
    assert refused["Retry-After"] == "1"
    body = refused.json()
    assert body == {
        "status": 503,
        "code": "write_conflict",
        "detail": body["detail"],
        "request_id": refused["X-Request-ID"],
    }
    assert "send it again" in body["detail"]
    assert_summary_is_fresh()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("without_retries")
def test_a_move_locks_its_subtree_in_the_order_product_writes_lock_categories() -> None:
    # A child older than its parent (created first, moved under it later): product writes lock
    # the child's row first (id order), while a move left to the triggers would lock the
    # parent's first. The gate holds the child, so each writer stops where they would cross.
    child = CategoryFactory(name="Child")
    moved = CategoryFactory(name="Moved", parent=CategoryFactory(name="Old parent"))
    Category.objects.filter(pk=child.pk).update(parent=moved)
    assert child.pk < moved.pk
    new_parent = CategoryFactory(name="New parent")
    products = [
        ProductFactory(category=moved, stock=0, price=Decimal("5")),
        ProductFactory(category=child, stock=0, price=Decimal("5")),
    ]
    staff = UserFactory(is_staff=True)
    write_done = threading.Event()

    def write_both_categories_once_the_move_waits() -> int:
        wait_until(lambda: sessions_waiting_for_locks() >= 1, "the move waits for the gate")
        try:
            return products_bulk_change(
                user=staff,
                selection=Product.objects.filter(pk__in=[p.pk for p in products]),
                changes={"stock": Value(4)},
                audit_action="products.set_stock",
            )
        finally:
            write_done.set()

    with gate_on("SELECT 1 FROM products_category WHERE id = %s FOR SHARE", [child.pk]) as gate:

        def open_the_gate() -> None:
            wait_until(
                lambda: write_done.is_set() or sessions_waiting_for_locks() >= 2,
                "the write finishes or waits for the move",
            )
            gate.commit()

        outcomes = run_together(
            lambda: category_update(category=moved, parent=new_parent),
            write_both_categories_once_the_move_waits,
            open_the_gate,
        )

    # No retry was allowed: the lock order alone keeps them from deadlocking.
    assert [type(outcome) for outcome in outcomes[:2]] == [Category, int], outcomes
    child.refresh_from_db()
    assert child.path == f"{new_parent.path}{moved.pk}/{child.pk}/"
    assert_summary_is_fresh()


# --- the decorator itself -------------------------------------------------------------------


def deadlock() -> OperationalError:
    """Return a deadlock as Django raises it: its OperationalError around psycopg's."""
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


def failing(times: int, error: Callable[[], Exception]) -> tuple[Callable[[], str], list[int]]:
    """Return a function that raises ``error()`` on its first ``times`` calls, and its calls."""
    calls: list[int] = []

    def write() -> str:
        calls.append(len(calls) + 1)
        if len(calls) <= times:
            raise error()
        return "written"

    return write, calls


def test_a_deadlocked_transaction_runs_again_up_to_three_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(transactions.time, "sleep", pauses.append)

    write, calls = failing(2, deadlock)
    assert retry_on_write_conflict(write)() == "written"
    assert calls == [1, 2, 3]
    # Short and growing, with jitter: about 20 ms, then about 40 ms.
    assert 0.01 <= pauses[0] <= 0.03 and 0.02 <= pauses[1] <= 0.06, pauses

    write, calls = failing(3, deadlock)
    with pytest.raises(OperationalError):
        retry_on_write_conflict(write)()
    assert calls == [1, 2, 3]


@pytest.mark.django_db
def test_a_conflict_inside_an_outer_transaction_is_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The abort undid the outer transaction's earlier work too: only its owner may run it again.
    monkeypatch.setattr(transactions.time, "sleep", lambda seconds: None)
    write, calls = failing(1, deadlock)

    with pytest.raises(OperationalError), transaction.atomic():
        retry_on_write_conflict(write)()
    assert calls == [1]


def test_other_database_errors_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transactions.time, "sleep", lambda seconds: None)

    def lost() -> OperationalError:
        return OperationalError("server closed the connection unexpectedly")

    write, calls = failing(1, lost)
    with pytest.raises(OperationalError):
        retry_on_write_conflict(write)()
    assert calls == [1]
