"""Product services: bulk changes check what the rows can hold once they are locked."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F, Value
from django.db.models.functions import Round

from apps.core.models import AuditEntry
from apps.products.models import Product
from apps.products.services import products_bulk_change
from apps.products.tests.factories import ProductFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEN_PERCENT_MORE = {"price": Round(F("price") * Value(Decimal("1.10")), precision=2)}


def test_a_bulk_change_may_raise_a_price_to_the_largest_the_column_holds() -> None:
    product = ProductFactory(price=Decimal("90909090.90"))  # +10 % = 99,999,999.99

    changed = products_bulk_change(
        user=UserFactory(is_staff=True),
        selection=Product.objects.filter(pk=product.pk),
        changes=TEN_PERCENT_MORE,
        audit_action="products.change_price_by_percentage",
    )

    product.refresh_from_db()
    assert (changed, product.price) == (1, Decimal("99999999.99"))
    entry = AuditEntry.objects.get()
    assert (entry.before, entry.after) == ({"price": "90909090.90"}, {"price": "99999999.99"})


def test_a_bulk_change_past_the_largest_price_writes_nothing() -> None:
    fits = ProductFactory(price=Decimal("90909090.90"))
    overflows = ProductFactory(price=Decimal("90909090.91"))  # +10 % = 100,000,000.00

    with pytest.raises(ValidationError) as raised:
        products_bulk_change(
            user=UserFactory(is_staff=True),
            selection=Product.objects.filter(pk__in=[fits.pk, overflows.pk]),
            changes=TEN_PERCENT_MORE,
            audit_action="products.change_price_by_percentage",
        )

    assert raised.value.messages == [
        "1 of the selected products would have a price over 99999999.99; nothing was changed."
    ]
    assert list(Product.objects.order_by("pk").values_list("price", flat=True)) == [
        Decimal("90909090.90"),
        Decimal("90909090.91"),
    ]
    assert not AuditEntry.objects.exists()
