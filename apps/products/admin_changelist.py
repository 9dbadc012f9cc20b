"""The product changelist staff work in all day: columns, filters and a search that stay quick
on a million products."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.postgres.search import SearchQuery
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from apps.attributes.models import AXIS_KINDS, AttributeOption, ProductType
from apps.core.pagination import EstimatingPaginator

from .models import Category, Product, ProductAttributeValue, ProductImage, Variant, path_ids
from .search import search_config


class CategorySubtreeFilter(admin.SimpleListFilter):
    """Drill down the tree: roots first, then the chosen category's children; a choice keeps the
    products of its whole subtree. Never lists all the categories at once.

    The admin builds its filters more than once a request (for the action's selection, and again
    for each facet count), each time a new instance: the categories read are kept on the
    request, so that they are read once.
    """

    title = "category"
    parameter_name = "category"
    _request_cache = "_products_category_filter"

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self._cache: dict[str, Any] = request.__dict__.setdefault(self._request_cache, {})
        super().__init__(request, *args, **kwargs)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        chosen = self._chosen()
        key = f"lookups:{chosen.pk if chosen else ''}"
        if key not in self._cache:
            self._cache[key] = self._choices(chosen)
        choices: list[tuple[str, str]] = self._cache[key]
        return choices

    def _choices(self, chosen: Category | None) -> list[tuple[str, str]]:
        if chosen is None:
            nodes = list(Category.objects.filter(parent=None).order_by("name"))
        else:
            # The chosen category's ancestors (itself included) and its children, in one query.
            ancestor_ids = path_ids(chosen.path)
            found = list(Category.objects.filter(Q(pk__in=ancestor_ids) | Q(parent=chosen)))
            ancestors = [node for node in found if node.pk in ancestor_ids]
            children = [node for node in found if node.pk not in ancestor_ids]
            ancestors.sort(key=lambda node: node.depth)
            children.sort(key=lambda node: node.name)
            nodes = ancestors + children
        # Facet counts choose each listed category in turn: no query to read it again.
        for node in nodes:
            self._cache.setdefault(f"chosen:{node.pk}", node)
        return [(str(node.pk), "  " * node.depth + node.name) for node in nodes]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        chosen = self._chosen()
        return queryset.in_category(chosen) if chosen else queryset  # type: ignore[attr-defined]

    def _chosen(self) -> Category | None:
        value = self.value()
        if not value or not str(value).isdecimal():
            return None
        key = f"chosen:{value}"
        if key not in self._cache:
            self._cache[key] = Category.objects.filter(pk=int(value)).first()
        chosen: Category | None = self._cache[key]
        return chosen


class StockLevelFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock_level"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        low = settings.CATALOGUE_LOW_STOCK_THRESHOLD
        return [
            ("out", "Out of stock"),
            ("low", f"Low (1 to {low})"),
            ("in", f"In stock (over {low})"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        low = settings.CATALOGUE_LOW_STOCK_THRESHOLD
        levels = {"out": Q(stock=0), "low": Q(stock__gt=0, stock__lte=low), "in": Q(stock__gt=low)}
        condition = levels.get(self.value() or "")
        return queryset.filter(condition) if condition is not None else queryset


class RatingFilter(admin.SimpleListFilter):
    title = "rating"
    parameter_name = "rating"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*((str(n), f"{n} stars and up") for n in range(4, 0, -1)), ("none", "No reviews")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value == "none":
            return queryset.filter(review_count=0)
        if value and value.isdecimal():
            return queryset.filter(rating_average__gte=Decimal(value))
        return queryset


class ProductTypeFilter(admin.SimpleListFilter):
    """Keep the products of a type, or those without one. The types are read once per request
    (Django's related-field filter reads them again each time the admin builds its filters)."""

    title = "product type"
    parameter_name = "product_type"
    # The path to the type from the listed model.
    field_path = "product_type"
    _request_cache = "_products_type_filter"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        cache = request.__dict__
        if self._request_cache not in cache:
            types = ProductType.objects.order_by("name", "id").values_list("pk", "name")
            cache[self._request_cache] = [
                *((str(pk), name) for pk, name in types),
                ("none", "No type"),
            ]
        choices: list[tuple[str, str]] = cache[self._request_cache]
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value == "none":
            return queryset.filter(**{f"{self.field_path}__isnull": True})
        if value and str(value).isdecimal():
            return queryset.filter(**{f"{self.field_path}_id": int(value)})
        return queryset


class AttributeOptionFilter(admin.SimpleListFilter):
    """Keep the products that carry an option of a filterable choice or swatch attribute: one of
    their variants has it among its ``option_ids``, or it is one of their attribute values.

    The options are read once per request (the admin builds its filters several times a
    request), and never counted per choice: a facet count is a scan of the variants per option.
    """

    title = "attribute option"
    parameter_name = "option"
    _request_cache = "_products_option_filter"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        cache = request.__dict__
        if self._request_cache not in cache:
            options = (
                AttributeOption.objects.filter(
                    attribute__is_filterable=True, attribute__kind__in=AXIS_KINDS
                )
                .select_related("attribute")
                .order_by(
                    "attribute__position", "attribute__name", "attribute_id", "position", "id"
                )
            )
            cache[self._request_cache] = [
                (str(option.pk), f"{option.attribute.name}: {option.value}") for option in options
            ]
        choices: list[tuple[str, str]] = cache[self._request_cache]
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if not value or not str(value).isdecimal():
            return queryset
        option_id = int(value)
        carrying = Variant.objects.filter(option_ids__contains=[option_id]).values("product_id")
        having = ProductAttributeValue.objects.filter(option_id=option_id).values("product_id")
        return queryset.filter(Q(pk__in=carrying) | Q(pk__in=having))

    def get_facet_counts(self, pk_attname: str, filtered_qs: QuerySet[Any]) -> dict[str, Any]:
        return {}


class ProductChangelistMixin(admin.ModelAdmin[Product]):
    """Columns, filters, search and counting for the product changelist."""

    list_display = [
        "thumbnail",
        "name",
        "sku",
        "category_path",
        "price",
        "stock_level",
        "is_active",
        "rating",
        "review_count",
        "updated_at",
    ]
    list_display_links = ["name"]
    list_filter = [
        CategorySubtreeFilter,
        "is_active",
        StockLevelFilter,
        RatingFilter,
        ProductTypeFilter,
        AttributeOptionFilter,
    ]
    # Three levels of the tree in the same query as the products.
    list_select_related = ["category__parent__parent"]
    search_fields = ["name"]  # see get_search_results: full-text and exact SKU, on indexes
    search_help_text = "Words of the name or description, or an exact SKU."
    show_full_result_count = False
    # Counts past API_EXACT_COUNT_LIMIT matching products are PostgreSQL's estimate.
    paginator = EstimatingPaginator
    list_per_page = 50
    # Newest first on the primary key's index: the changelist lists inactive products too, so the
    # storefront's partial indexes on created_at do not serve it.
    ordering = ["-id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        first_image = ProductImage.objects.filter(product=OuterRef("pk")).order_by("position", "id")
        return (
            super()
            .get_queryset(request)
            .annotate(first_image=Subquery(first_image.values("image")[:1]))
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Product], search_term: str
    ) -> tuple[QuerySet[Product], bool]:
        term = " ".join(search_term.split())[: settings.CATALOGUE_SEARCH_MAX_LENGTH]
        if not term:
            return queryset, False
        # The API's indexes: the full-text document (GIN) and UPPER(sku).
        matches = Q(
            search_vector=SearchQuery(term, search_type="websearch", config=search_config())
        )
        return queryset.filter(matches | Q(sku__iexact=term)), False

    @admin.display(description="")
    def thumbnail(self, product: Product) -> SafeString | str:
        name = getattr(product, "first_image", None)
        if not name:
            return ""
        return format_html(
            '<img src="{}{}" alt="" class="product-thumbnail">',
            settings.MEDIA_URL if settings.MEDIA_URL.startswith("/") else "/" + settings.MEDIA_URL,
            name,
        )

    @admin.display(description="category", ordering="category__name")
    def category_path(self, product: Product) -> SafeString:
        nodes: list[Category] = []
        node: Category | None = product.category
        while node is not None and len(nodes) < 3:
            nodes.append(node)
            node = node.parent if node.parent_id else None
        prefix = format_html("&hellip; &rsaquo; ") if node is not None else ""
        return format_html(
            "{}{}",
            prefix,
            format_html_join(
                mark_safe(" &rsaquo; "),  # a constant entity, nothing from users
                '<a href="{}?category={}">{}</a>',
                (
                    (reverse("admin:products_product_changelist"), category.pk, category.name)
                    for category in reversed(nodes)
                ),
            ),
        )

    @admin.display(description="stock", ordering="stock")
    def stock_level(self, product: Product) -> SafeString:
        low = settings.CATALOGUE_LOW_STOCK_THRESHOLD
        if product.stock == 0:
            return format_html('<span class="stock stock-out">{}</span>', product.stock)
        if product.stock <= low:
            return format_html('<span class="stock stock-low">{}</span>', product.stock)
        return format_html("{}", product.stock)

    @admin.display(description="rating", ordering="rating_average")
    def rating(self, product: Product) -> str:
        return f"{product.average_rating} \N{BLACK STAR}" if product.review_count else "-"
