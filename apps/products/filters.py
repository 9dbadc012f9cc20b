"""Query parameters of the product and category lists. Every malformed or unknown value is a
400 naming its parameter; nothing is silently ignored."""

from typing import Any, ClassVar

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_filters.constants import EMPTY_VALUES
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from apps.core.filters import (
    AsciiModelChoiceFilter,
    AsciiNumberFilter,
    IdInFilter,
    RepeatedTextFilter,
    StorableDateTimeFilter,
    StrictBooleanFilter,
)
from apps.core.ordering import ordering_choices

from .attribute_filters import AttributeFilters, parse_attribute_filters
from .limits import LIST_MAX_IDS
from .listing import ORDERINGS, ProductListQuery, category_for_list
from .models import Category, Product
from .search import clean_search_text

ORDERING_CHOICES = ordering_choices(ORDERINGS)


class ProductFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for low, high in [("price_min", "price_max"), ("created_after", "created_before")]:
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                self.add_error(high, f"Must not be before {low}.")
        return data


class ProductFilter(django_filters.FilterSet):
    """The product list's query parameters, read into a ``ProductListQuery`` (``list_query()``),
    which ``apps.products.listing.product_list_page()`` applies: this filter set parses and
    documents them (the OpenAPI schema, the browsable API's form), and filters nothing itself.

    A filter's ``field_name`` and ``lookup_expr`` say what it means (``ProductListQuery.filter``
    applies it so) and label it in the browsable API's form.
    """

    category = django_filters.CharFilter(
        help_text="Category id or slug. Includes products of every descendant category.",
    )
    price_min = AsciiNumberFilter(
        field_name="price", lookup_expr="gte", min_value=0, help_text="Lowest price, inclusive."
    )
    price_max = AsciiNumberFilter(
        field_name="price", lookup_expr="lte", min_value=0, help_text="Highest price, inclusive."
    )
    in_stock = StrictBooleanFilter(help_text="true: stock above 0; false: out of stock.")
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
        field_name="sku",
        lookup_expr="iexact",
        max_length=64,
        help_text="Exact SKU of any of its variants, any case.",
    )
    # The view documents it, bounds included (PRODUCT_LIST_PARAMETERS); declared an integer
    # here, so that drf-spectacular does not look for a model field named "ids".
    ids = extend_schema_field(OpenApiTypes.INT)(
        IdInFilter(help_text=f"Comma-separated product ids, at most {LIST_MAX_IDS}.")
    )
    # The view documents it, bounds included (PRODUCT_LIST_PARAMETERS).
    attribute = extend_schema_field(OpenApiTypes.STR)(
        RepeatedTextFilter(
            help_text="Filter by an attribute, repeatable: `<attribute>:<option>[,<option>...]` "
            "for a choice, multiple choice or swatch (the options of one attribute are "
            "alternatives), `<attribute>:<min>..<max>` for a number (either side may be empty; "
            "one number: exactly it), `<attribute>:true` or `false` for a yes or no. Different "
            "attributes must all hold, and the options of all of them **on one active "
            "variant**: `colour:red&attribute=size:m` lists the products with a red M. Only "
            "filterable attributes (`/attributes/?filterable=true`); an unknown attribute or "
            "option is a 400 naming it."
        )
    )
    search = django_filters.CharFilter(
        help_text="Full-text search of names (weighted most), descriptions, and the option "
        "values of active variants and the text and option attribute values (weighted least: "
        "`crimson` finds a product with a Crimson variant). An exact SKU of any variant (any "
        "case) also matches, ranks first, and its row's `matched_variant` names the variant. "
        "When nothing matches, misspelled words are corrected to the closest words in "
        "the catalogue. Results are ranked by relevance unless `ordering` says otherwise: the "
        f"{settings.CATALOGUE_SEARCH_RANKED_MATCHES:,} most reviewed matches are ranked and "
        "listed, while `count` counts every match.",
    )
    ordering = django_filters.ChoiceFilter(
        choices=ORDERING_CHOICES,
        empty_label=None,
        help_text="Sort order; `-` for descending. Default: `-relevance` with `search`, else "
        "`-created_at` (newest first). Ties are broken by id.",
    )
    facets = StrictBooleanFilter(
        help_text="true: add facet counts (categories, ratings, prices, stock, attributes) to "
        "the response.",
    )

    class Meta:
        model = Product
        fields: list[str] = []
        form = ProductFilterForm

    _form_class: ClassVar[type[forms.Form] | None] = None

    def get_form_class(self) -> type[forms.Form]:
        # Built once per class, not per request (django-filter's default, a tenth of a list's
        # time): no field here depends on the request or the queryset.
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:  # this class's own, not a parent's
            cls._form_class = super().get_form_class()
        return cls.__dict__["_form_class"]

    def list_query(self) -> ProductListQuery:
        """Return the parameters as a ``ProductListQuery``, or raise a ValidationError naming
        what is wrong: every malformed parameter at once; else, in this order, an unknown
        category, too many ids, a search too long, an attribute filter that names no
        filterable attribute or option, an ordering by relevance without a search."""
        if not self.is_valid():
            raise ValidationError(self.errors)
        # Each parameter is the query's field of the same name; these four take more checks.
        data = {name: _given(value) for name, value in self.form.cleaned_data.items()}
        if data["category"] is not None:
            data["category"] = self._category(data["category"])
        if data["ids"] is not None:
            if len(data["ids"]) > LIST_MAX_IDS:
                raise ValidationError({"ids": [f"Give at most {LIST_MAX_IDS} ids."]})
            data["ids"] = tuple(data["ids"])
        if data["search"] is not None:
            try:
                data["search"] = clean_search_text(data["search"])
            except DjangoValidationError as error:
                raise ValidationError({"search": error.messages}) from error
        data["attributes"] = self._attributes(data.pop("attribute"))
        data["facets"] = bool(data["facets"])
        return ProductListQuery(**data)

    def _attributes(self, texts: list[str] | None) -> AttributeFilters | None:
        if not texts:
            return None
        try:
            return parse_attribute_filters(texts)
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error

    def _category(self, value: str) -> Category:
        category = category_for_list(value, user=getattr(self.request, "user", None))
        if category is None:
            raise ValidationError({"category": [f"No category with id or slug {value!r}."]})
        return category

    def filter_queryset(self, queryset: QuerySet[Product]) -> QuerySet[Product]:
        raise NotImplementedError(
            "ProductFilter filters nothing: apply its list_query() with product_list_page()."
        )


class ProductListParameters(DjangoFilterBackend):
    """Declare the product list's parameters (``ProductFilter``: the OpenAPI schema, the
    browsable API's form) and filter nothing: the list reads them into a ``ProductListQuery``
    for its selector, and a product found by id or slug ignores them (DRF would otherwise
    filter it with them, and answer a 404 or a 400 for a link that carries one)."""

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> QuerySet[Any]:
        return queryset


def _given(value: Any) -> Any:
    """Return a parameter's value, or None where it was not given (or given empty)."""
    return None if value in EMPTY_VALUES else value


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
