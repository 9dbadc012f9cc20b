"""Query parameters of the product and category lists. Every malformed or unknown value is a
400 naming its parameter; nothing is silently ignored."""

import re
from typing import Any, ClassVar

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError

from apps.core.filters import (
    AsciiModelChoiceFilter,
    AsciiNumberFilter,
    IdInFilter,
    StorableDateTimeFilter,
    StrictBooleanFilter,
)
from apps.core.ordering import order_with_tie_breaker, ordering_choices

from .models import Category, Product
from .search import (
    ProductSearch,
    clean_search_text,
    corrected_search,
    fulltext_search,
    search_has_matches,
)

MAX_IDS = 100
WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")

# ?ordering= values and the columns they sort on; the id breaks ties in the same direction.
ORDERINGS = {
    "price": "price",
    "name": "name",
    "created_at": "created_at",
    "rating": "rating_average",
    "review_count": "review_count",
    "relevance": "rank",
}
ORDERING_CHOICES = ordering_choices(ORDERINGS)


class ProductFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for low, high in [("price_min", "price_max"), ("created_after", "created_before")]:
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                self.add_error(high, f"Must not be before {low}.")
        return data


class ProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(
        method="filter_category",
        help_text="Category id or slug. Includes products of every descendant category.",
    )
    price_min = AsciiNumberFilter(
        field_name="price", lookup_expr="gte", min_value=0, help_text="Lowest price, inclusive."
    )
    price_max = AsciiNumberFilter(
        field_name="price", lookup_expr="lte", min_value=0, help_text="Highest price, inclusive."
    )
    in_stock = StrictBooleanFilter(
        method="filter_in_stock", help_text="true: stock above 0; false: out of stock."
    )
    rating_min = AsciiNumberFilter(
        field_name="rating_average",
        lookup_expr="gte",
        min_value=1,
        max_value=5,
        help_text="Lowest average rating, 1 to 5.",
    )
    created_after = StorableDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601 date or date-time."
    )
    created_before = StorableDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="ISO 8601 date or date-time."
    )
    sku = django_filters.CharFilter(
        field_name="sku", lookup_expr="iexact", max_length=64, help_text="Exact SKU, any case."
    )
    ids = IdInFilter(
        method="filter_ids", help_text=f"Comma-separated product ids, at most {MAX_IDS}."
    )
    search = django_filters.CharFilter(
        method="filter_later",
        help_text="Full-text search of names (weighted) and descriptions; an exact SKU also "
        "matches. When nothing matches, misspelled words are corrected to the closest words in "
        "the catalogue. Results are ranked by relevance unless `ordering` says otherwise: the "
        f"{settings.CATALOGUE_SEARCH_RANKED_MATCHES:,} most reviewed matches are ranked and "
        "listed, while `count` counts every match.",
    )
    ordering = django_filters.ChoiceFilter(
        choices=ORDERING_CHOICES,
        method="filter_later",
        empty_label=None,
        help_text="Sort order; `-` for descending. Default: `-relevance` with `search`, else "
        "`-created_at` (newest first). Ties are broken by id.",
    )
    facets = StrictBooleanFilter(
        method="filter_later",
        help_text="true: add facet counts (categories, ratings, prices, stock) to the response.",
    )

    # Parameters that shape the result rather than filter it.
    CONTROLS = ("search", "ordering", "facets")

    class Meta:
        model = Product
        fields: list[str] = []
        form = ProductFilterForm

    category_object: Category | None = None
    _form_class: ClassVar[type[forms.Form] | None] = None
    search_result: ProductSearch | None = None
    # The products every filter but the search keeps (set by filter_queryset).
    filtered: QuerySet[Product]
    # What the list counts, when it is more than the rows it pages through.
    count_queryset: QuerySet[Product] | None = None

    def get_form_class(self) -> type[forms.Form]:
        # Built once per class, not per request (django-filter's default, a tenth of a list's
        # time): no field here depends on the request or the queryset.
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:  # this class's own, not a parent's
            cls._form_class = super().get_form_class()
        return cls.__dict__["_form_class"]

    def filter_later(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return queryset  # search, ordering, facets: applied in filter_queryset, after every filter

    def filter_category(
        self, queryset: QuerySet[Product], name: str, value: str
    ) -> QuerySet[Product]:
        # Looked up once: facets apply this filter again to other querysets.
        if self.category_object is None:
            categories = Category.objects.visible_to(
                getattr(self.request, "user", None)
            ).with_subtree_ids()
            if WHOLE_NUMBER.fullmatch(value):
                # An id, or a slug made of digits ("2024"): the id wins when both exist.
                matches = categories.filter(Q(pk=int(value)) | Q(slug=value))
                found = sorted(matches[:2], key=lambda category: category.pk != int(value))
                self.category_object = found[0] if found else None
            else:
                self.category_object = categories.filter(slug=value).first()
        if self.category_object is None:
            raise ValidationError({"category": [f"No category with id or slug {value!r}."]})
        # The subtree's ids as values, not a subquery: PostgreSQL then knows how many products
        # they hold (a leaf's 100 or a department's 100,000) and picks the index to match; from
        # a subquery on the path it guessed 10,000 for a leaf, and walked the newest-first index
        # of every product to fill a page (0.3 s at a million products).
        return queryset.filter(category__in=self.category_object.subtree_ids)  # type: ignore[attr-defined]

    def filter_in_stock(
        self, queryset: QuerySet[Product], name: str, value: bool
    ) -> QuerySet[Product]:
        return queryset.filter(stock__gt=0) if value else queryset.filter(stock=0)

    def filter_ids(
        self, queryset: QuerySet[Product], name: str, value: list[int]
    ) -> QuerySet[Product]:
        if len(value) > MAX_IDS:
            raise ValidationError({"ids": [f"Give at most {MAX_IDS} ids."]})
        return queryset.filter(pk__in=value)

    def filter_queryset(self, queryset: QuerySet[Product]) -> QuerySet[Product]:
        """Apply every filter, then the search (its words as typed), then the ordering."""
        self.filtered = self.filter_except(queryset)
        search = self.form.cleaned_data.get("search")
        if not search:
            return self.order(self.filtered)
        try:
            text = clean_search_text(search)
        except DjangoValidationError as error:
            raise ValidationError({"search": error.messages}) from error
        return self._searched(fulltext_search(text))

    def corrected(self, *, matched_nothing: bool) -> QuerySet[Product] | None:
        """Return the products for the search with its misspelled words corrected, when its
        words as typed match nothing (``matched_nothing``: known already, an empty first page);
        else None."""
        search = self.search_result
        if search is None or search.mode != "fulltext":
            return None
        if not matched_nothing and search_has_matches(self.filtered, search):
            return None
        corrected = corrected_search(search)
        return None if corrected is None else self._searched(corrected)

    def _searched(self, search: ProductSearch) -> QuerySet[Product]:
        self.search_result = search
        matches = self.filtered.filter(search.condition).annotate(rank=search.rank)
        ordered = self.order(matches)
        self.count_queryset = None
        if self.ordering_in_effect.lstrip("-") == "relevance":
            # Ranking reads every match's document: 0.2 s for 80,000 matches. Rank only the
            # most reviewed ones; the count still covers every match.
            self.count_queryset = ordered
            best = matches.order_by("-review_count", "-id").values("pk")
            ordered = ordered.filter(pk__in=best[: settings.CATALOGUE_SEARCH_RANKED_MATCHES])
        return ordered

    def filter_except(self, queryset: QuerySet[Product], *excluded: str) -> QuerySet[Product]:
        """Apply every filter but those named (a facet's own), and no control parameter."""
        for name, value in self.form.cleaned_data.items():
            if name not in excluded and name not in self.CONTROLS:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def order(self, queryset: QuerySet[Product]) -> QuerySet[Product]:
        return order_with_tie_breaker(queryset, ORDERINGS, self.ordering_in_effect)

    @property
    def ordering_in_effect(self) -> str:
        """Return the ``?ordering=`` value in effect, the default if none was given."""
        ordering: str = self.form.cleaned_data.get("ordering") or (
            "-relevance" if self.search_result else "-created_at"
        )
        if ordering.lstrip("-") == "relevance" and self.search_result is None:
            raise ValidationError({"ordering": ["Order by relevance only together with search."]})
        return ordering

    def is_set(self, *names: str) -> bool:
        """Return whether any of the named filters was given a value."""
        return any(self.form.cleaned_data.get(name) not in (None, "", []) for name in names)

    @property
    def wants_facets(self) -> bool:
        return bool(self.form.cleaned_data.get("facets"))


class CategoryFilter(django_filters.FilterSet):
    parent = AsciiModelChoiceFilter(
        queryset=Category.objects.all(), help_text="Direct children of this category (id)."
    )
    is_root = StrictBooleanFilter(
        field_name="parent", lookup_expr="isnull", help_text="Only root categories."
    )

    class Meta:
        model = Category
        fields = ["parent", "is_root"]
