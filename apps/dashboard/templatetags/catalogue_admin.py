"""The admin dashboard's figures: what staff check first thing in the morning.

``{% load catalogue_admin %}`` then ``{% catalogue_dashboard %}``, in templates/admin/index.html.
"""

from datetime import timedelta
from typing import Any

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.core.estimates import table_row_estimate
from apps.products.models import Product
from apps.reviews.models import Review

register = template.Library()


@register.inclusion_tag("admin/catalogue_dashboard.html", takes_context=True)
def catalogue_dashboard(context: dict[str, Any]) -> dict[str, Any]:
    """Return the dashboard's counts, each cheap on a million products (an index or the
    planner's row estimate), with links to the lists behind them."""
    user = context["request"].user
    low = settings.CATALOGUE_LOW_STOCK_THRESHOLD
    cards: list[dict[str, Any]] = []
    if user.has_perm("products.view_product"):
        products = reverse("admin:products_product_changelist")
        cards += [
            {
                "label": "Products",
                "value": table_row_estimate(Product),
                "url": products,
                "estimate": True,
            },
            {
                "label": f"Low stock (1 to {low})",
                "value": Product.objects.filter(
                    is_active=True, stock__gt=0, stock__lte=low
                ).count(),
                "url": f"{products}?stock_level=low&is_active__exact=1",
                "warn": True,
            },
            {
                "label": "Out of stock",
                "value": Product.objects.filter(is_active=True, stock=0).count(),
                "url": f"{products}?stock_level=out&is_active__exact=1",
                "warn": True,
            },
        ]
    if user.has_perm("reviews.view_review"):
        reviews = reverse("admin:reviews_review_changelist")
        since = timezone.now() - timedelta(days=1)
        cards += [
            {
                "label": "Reviews in the last 24 hours",
                "value": Review.objects.filter(created_at__gte=since).count(),
                "url": f"{reviews}?created_at__gte={since.date().isoformat()}",
            },
            {
                "label": "Hidden reviews",
                "value": Review.objects.filter(is_hidden=True).count(),
                "url": f"{reviews}?is_hidden__exact=1",
            },
        ]
    return {"cards": cards}
