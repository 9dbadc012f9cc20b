from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.http import http_date
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.core import parsers
from apps.core.fields import ID_PATH_PATTERN
from apps.core.filters import LARGEST_ID
from apps.core.pagination import PageOrCursorPagination
from apps.core.permissions import IsStaffWithModelPermissionOrReadOnly
from apps.core.schema import ErrorResponseSerializer

from .attribute_filters import ATTRIBUTE_FILTER_MAX_LENGTH, ATTRIBUTE_FILTER_PATTERN
from .filters import CategoryFilter, ProductFilter, ProductListParameters
from .limits import LIST_MAX_ATTRIBUTE_FILTERS, LIST_MAX_IDS
from .listing import ProductListPage, ProductListQuery, product_list_page
from .models import (
    Category,
    CategoryQuerySet,
    Product,
    ProductImage,
    ProductQuerySet,
    Variant,
    VariantQuerySet,
    sees_every_variant,
)
from .selectors import category_tree, category_with_details
from .serializers import (
    PRODUCT_LIST_VALUES,
    CategoryDetailSerializer,
    CategorySerializer,
    CategoryTreeNodeSerializer,
    ProductDetailSerializer,
    ProductImageSerializer,
    ProductImageUpdateSerializer,
    ProductListSerializer,
    ProductReadSerializer,
    ProductWriteSerializer,
    VariantSerializer,
    product_detail_data,
    product_list_row,
)
from .services import (
    category_create,
    category_update,
    product_create,
    product_delete,
    product_image_add,
    product_image_delete,
    product_image_update,
    product_update,
    variant_create,
    variant_delete,
    variant_update,
)

SLUG_PATH = r"slug/(?P<slug>[-\w]+)"

_COUNTED = {"type": "integer", "minimum": 0}
FACETS_SCHEMA = {
    "type": "object",
    "description": "With `facets=true`. Each facet counts over the current filters except its own.",
    "properties": {
        "categories": {
            "type": "array",
            "description": "Children of the `category` filter (or the roots), with the count "
            "of matching products in each one's subtree.",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "slug": {"type": "string"},
                    "count": _COUNTED,
                },
            },
        },
        "ratings": {
            "type": "array",
            "description": "Products whose average rating is at least `min`, for 5 down to 1.",
            "items": {
                "type": "object",
                "properties": {"min": {"type": "integer"}, "count": _COUNTED},
            },
        },
        "prices": {
            "type": "array",
            "description": "Price buckets: `min` inclusive, `max` exclusive (null: no limit).",
            "items": {
                "type": "object",
                "properties": {
                    "min": {"type": "string", "format": "decimal"},
                    "max": {"type": "string", "format": "decimal", "nullable": True},
                    "count": _COUNTED,
                },
            },
        },
        "stock": {
            "type": "object",
            "properties": {"in_stock": _COUNTED, "out_of_stock": _COUNTED},
        },
        "attributes": {
            "type": "array",
            "description": "The filterable attributes with something to show, by position: "
            "for a choice, multiple choice, swatch or boolean, its `options` with the count of "
            "matching products (not variants) that have each (an axis option on an active "
            "variant matching the other option filters), listed when above 0 or selected; for "
            "a number, the `min` and `max` of the matching products' values. Each attribute is "
            "counted over every filter but its own. A listed product without an active variant "
            "is counted by no attribute facet.",
            "items": {
                "type": "object",
                "required": ["slug", "name", "kind", "unit"],
                "properties": {
                    "slug": {"type": "string"},
                    "name": {"type": "string"},
                    "kind": {
                        "type": "string",
                        "enum": ["number", "boolean", "choice", "multiple_choice", "swatch"],
                    },
                    "unit": {"type": "string"},
                    "options": {
                        "type": "array",
                        "description": "Not for numbers. A boolean's are `true` (Yes) and "
                        "`false` (No).",
                        "items": {
                            "type": "object",
                            "required": ["slug", "value", "count"],
                            "properties": {
                                "slug": {"type": "string"},
                                "value": {"type": "string"},
                                "count": _COUNTED,
                                "swatch_colour": {
                                    "type": "string",
                                    "nullable": True,
                                    "description": "Swatches only: `#rrggbb`, or null for a "
                                    "picture.",
                                },
                            },
                        },
                    },
                    "min": {"type": "string", "format": "decimal", "description": "Numbers only."},
                    "max": {"type": "string", "format": "decimal", "description": "Numbers only."},
                },
            },
            "example": [
                {
                    "slug": "colour",
                    "name": "Colour",
                    "kind": "swatch",
                    "unit": "",
                    "options": [
                        {"slug": "red", "value": "Red", "count": 12, "swatch_colour": "#cc0000"},
                        {"slug": "blue", "value": "Blue", "count": 7, "swatch_colour": "#0033cc"},
                    ],
                },
                {
                    "slug": "screen-size",
                    "name": "Screen size",
                    "kind": "number",
                    "unit": "in",
                    "min": "5.4",
                    "max": "6.9",
                },
            ],
        },
    },
}
SEARCH_SCHEMA = {
    "type": "object",
    "description": "With `search`: how it matched. `corrected` means full-text found nothing "
    "as typed, and each misspelled word was replaced by the closest catalogue words.",
    "properties": {
        "query": {"type": "string"},
        "mode": {"type": "string", "enum": ["fulltext", "corrected"]},
        "corrected_terms": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}


class ProductPagination(PageOrCursorPagination):
    """Page numbers or cursors, and in the envelope the optional ``facets`` and ``search``."""

    def get_listing_response(self, listing: ProductListPage, request: Request) -> Response:
        """Return the response for the page of the product list that ``request`` asked for."""
        rows = self.set_page(listing.page, request)
        if listing.search is None:
            # A search's rows say which variant's SKU it matched; a list without one, none.
            for row in rows:
                row["matched_variant"] = None
        response = self.get_paginated_response([product_list_row(row) for row in rows])
        if listing.search is not None:
            response.data["search"] = listing.search.as_response()
        if listing.facets is not None:
            response.data["facets"] = listing.facets
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["properties"]["facets"] = FACETS_SCHEMA
        response["properties"]["search"] = SEARCH_SCHEMA
        return response


class CategoryViewSet(viewsets.ModelViewSet[Category]):
    """Categories of the catalogue. Anyone reads active ones; staff with permission write.

    A category's detail carries its breadcrumbs, children and active product count; moving a
    category (a new ``parent``) moves its whole subtree.
    """

    permission_classes = [IsStaffWithModelPermissionOrReadOnly]
    filterset_class = CategoryFilter
    lookup_value_regex = ID_PATH_PATTERN

    def get_queryset(self) -> CategoryQuerySet:
        return Category.objects.visible_to(self.request.user)

    def get_serializer_class(self) -> type[BaseSerializer[Category]]:
        if self.action in ("retrieve", "by_slug"):
            return CategoryDetailSerializer
        return CategorySerializer

    def get_object(self) -> Category:
        category = super().get_object()
        return category_with_details(category) if self.action == "retrieve" else category

    @extend_schema(responses=CategoryDetailSerializer)
    @action(detail=False, url_path=SLUG_PATH)
    def by_slug(self, request: Request, slug: str) -> Response:
        """Return one category by its slug, with breadcrumbs, children and product count."""
        category = get_object_or_404(self.get_queryset(), slug=slug)
        return Response(self.get_serializer(category_with_details(category)).data)

    @extend_schema(responses=CategoryTreeNodeSerializer(many=True), filters=False)
    @action(detail=False, pagination_class=None, filter_backends=[])
    def tree(self, request: Request) -> Response:
        """Return every active category as a nested tree, in one query."""
        return Response(category_tree())

    def perform_create(self, serializer: BaseSerializer[Category]) -> None:
        serializer.instance = category_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Category]) -> None:
        assert serializer.instance is not None
        serializer.instance = category_update(
            category=serializer.instance, **serializer.validated_data
        )


# The list's parameters whose bounds are checked in code, not by their form field.
PRODUCT_LIST_PARAMETERS = [
    OpenApiParameter(
        "search",
        {"type": "string", "maxLength": settings.CATALOGUE_SEARCH_MAX_LENGTH},
        description=f"{ProductFilter.base_filters['search'].extra['help_text']} At most "
        f"{settings.CATALOGUE_SEARCH_MAX_LENGTH} characters and "
        f"{settings.CATALOGUE_SEARCH_MAX_TERMS} words.",
    ),
    OpenApiParameter(
        "attribute",
        {
            "type": "array",
            "items": {
                "type": "string",
                "pattern": ATTRIBUTE_FILTER_PATTERN,
                "maxLength": ATTRIBUTE_FILTER_MAX_LENGTH,
            },
            "maxItems": LIST_MAX_ATTRIBUTE_FILTERS,
        },
        style="form",
        explode=True,
        # No examples: Swagger UI would fill them in, and a catalogue without these
        # attributes answers them with a 400. The description shows them.
        description=ProductFilter.base_filters["attribute"].extra["help_text"]
        + " Examples: `colour:red,blue`, `size:m`, `screen-size:6..6.9`, `waterproof:true`.",
    ),
    OpenApiParameter(
        "ids",
        {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": LARGEST_ID},
            "maxItems": LIST_MAX_IDS,
        },
        style="form",
        explode=False,
        description=ProductFilter.base_filters["ids"].extra["help_text"],
    ),
]


PRODUCT_WRITE_EXAMPLES = [
    OpenApiExample(
        "A typed product with its variants",
        request_only=True,
        value={
            "name": "Oxford shirt",
            "category": 3,
            "product_type": "shirt",
            "attributes": {"material": "Cotton", "weight": 180.5, "organic": True,
                           "released": "2026-03-01", "fit": "slim", "care": ["wash", "iron"]},
            "variants": [
                {"sku": "OX-S-RED", "price": "30.00", "stock": 2,
                 "options": {"size": "s", "colour": "red"}},
                {"sku": "OX-M-RED", "price": "32.00", "stock": 0, "position": 1,
                 "options": {"size": "m", "colour": "red"}},
            ],
        },
    ),
    OpenApiExample(
        "A product without a type",
        request_only=True,
        value={"name": "Mug", "category": 3, "sku": "MUG-1", "price": "9.50", "stock": 12},
    ),
    OpenApiExample(
        "Nested errors, each named by its path",
        response_only=True,
        status_codes=["400"],
        value={
            "status": 400,
            "code": "invalid",
            "detail": "Invalid input.",
            "errors": {
                "variants[0].sku": ["A variant with this SKU already exists."],
                "variants[1].options.size": ["This attribute has no option 'xl'."],
                "variants[2].options": ["Give an option of each axis; missing: colour."],
            },
            "request_id": "5f0c6a2e9b1d4c3e8a7f6b5d4c3b2a19",
        },
    ),
]  # fmt: skip
PRODUCT_PATCH_EXAMPLES = [
    OpenApiExample(
        "The attribute values replaced",
        request_only=True,
        value={"attributes": {"material": "Linen", "fit": "regular"}},
    ),
    OpenApiExample(
        "A new type, with its values",
        request_only=True,
        value={"product_type": "polo", "attributes": {"material": "Pique cotton"}},
    ),
    OpenApiExample(
        "A value that does not fit the type",
        response_only=True,
        status_codes=["400"],
        value={
            "status": 400,
            "code": "invalid",
            "detail": "Invalid input.",
            "errors": {"attributes.weight": ["Must be a number."]},
            "request_id": "5f0c6a2e9b1d4c3e8a7f6b5d4c3b2a19",
        },
    ),
]


# Writes take ProductWriteSerializer and answer with the read shape (its to_representation).
@extend_schema_view(
    list=extend_schema(parameters=PRODUCT_LIST_PARAMETERS),
    create=extend_schema(responses={201: ProductReadSerializer}, examples=PRODUCT_WRITE_EXAMPLES),
    update=extend_schema(responses=ProductReadSerializer, examples=PRODUCT_WRITE_EXAMPLES[1:2]),
    partial_update=extend_schema(responses=ProductReadSerializer, examples=PRODUCT_PATCH_EXAMPLES),
)
class ProductViewSet(viewsets.ModelViewSet[Product]):
    """Products of the catalogue. Anyone reads active ones; staff with permission write.

    The list filters, searches, sorts, paginates (page numbers, or cursors with ``?cursor=``)
    and, with ``?facets=true``, counts facets. A product's detail adds breadcrumbs, images and
    its rating summary.
    """

    permission_classes = [IsStaffWithModelPermissionOrReadOnly]
    # The list's query string, parsed by ProductFilter into a ProductListQuery for the list's
    # selector (get_list_query); the backend declares it for the schema and the browsable API.
    filter_backends = [ProductListParameters]
    filterset_class = ProductFilter
    lookup_value_regex = ID_PATH_PATTERN
    pagination_class = ProductPagination

    def get_queryset(self) -> ProductQuerySet:
        user = self.request.user
        return Product.objects.visible_to(user).for_detail(every_variant=sees_every_variant(user))

    def get_serializer_class(self) -> type[BaseSerializer[Product]]:
        if self.action in ("create", "update", "partial_update"):
            return ProductWriteSerializer
        if self.action in ("retrieve", "by_slug"):
            return ProductDetailSerializer
        if self.action == "list":
            return ProductListSerializer
        return ProductReadSerializer

    def get_list_query(self) -> ProductListQuery:
        """Return the list's query string as a ``ProductListQuery`` (a 400 naming each
        malformed parameter)."""
        return self.filterset_class(self.request.query_params, request=self.request).list_query()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pagination = self.paginator
        assert isinstance(pagination, ProductPagination)
        listing = product_list_page(
            self.get_list_query(),
            user=request.user,
            page=pagination.get_page_request(request),
            columns=PRODUCT_LIST_VALUES,
        )
        return pagination.get_listing_response(listing, request)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._detail_response(self.get_object())

    @extend_schema(responses=ProductDetailSerializer)
    @action(detail=False, url_path=SLUG_PATH)
    def by_slug(self, request: Request, slug: str) -> Response:
        """Return one product by its slug: the same body as the detail by id."""
        return self._detail_response(get_object_or_404(self.get_queryset(), slug=slug))

    def _detail_response(self, product: Product) -> Response:
        # ProductDetailSerializer's representation (the schema's), built by plain code from
        # the one query of for_detail().
        response = Response(product_detail_data(product, self.request))
        # With the ETag that ConditionalGetMiddleware adds, clients revalidate cheaply.
        response["Last-Modified"] = http_date(product.updated_at.timestamp())
        return response

    def perform_create(self, serializer: BaseSerializer[Product]) -> None:
        serializer.instance = product_create(
            created_by=self.request.user,  # type: ignore[arg-type]
            **serializer.validated_data,
        )

    def perform_update(self, serializer: BaseSerializer[Product]) -> None:
        assert serializer.instance is not None
        serializer.instance = product_update(
            product=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Product) -> None:
        product_delete(product=instance)


class ChangeProductPermission(permissions.BasePermission):
    """Writing a product's images needs ``products.change_product``, whatever the method."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        user = request.user
        return bool(user and user.is_staff and user.has_perm("products.change_product"))


class ProductImageViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[ProductImage],
):
    """Images of one product, first ``position`` first. Anyone lists those of an active
    product; staff who may change products upload (multipart), edit and delete them."""

    permission_classes = [ChangeProductPermission]
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]
    lookup_value_regex = ID_PATH_PATTERN
    pagination_class = None

    def get_product(self) -> Product:
        products = Product.objects.visible_to(self.request.user)
        return get_object_or_404(products, pk=self.kwargs["product_pk"])

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ProductImage.objects.none()
        return self.get_product().images.all()

    def get_serializer_class(self) -> type[BaseSerializer[ProductImage]]:
        if self.action in ("update", "partial_update"):
            return ProductImageUpdateSerializer
        return ProductImageSerializer

    def perform_create(self, serializer: BaseSerializer[ProductImage]) -> None:
        serializer.instance = product_image_add(
            product=self.get_product(), **serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer[ProductImage]) -> None:
        assert serializer.instance is not None
        serializer.instance = product_image_update(
            image=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: ProductImage) -> None:
        product_image_delete(image=instance)


VARIANT_EXAMPLES = [
    OpenApiExample(
        "A variant of a shirt",
        request_only=True,
        value={"sku": "OX-L-BLUE", "price": "34.00", "stock": 5,
               "options": {"size": "l", "colour": "blue"}},
    ),
    OpenApiExample(
        "A combination the product has",
        response_only=True,
        status_codes=["400"],
        value={
            "status": 400,
            "code": "invalid",
            "detail": "Invalid input.",
            "errors": {"options": ["This product already has a variant with these options."]},
            "request_id": "5f0c6a2e9b1d4c3e8a7f6b5d4c3b2a19",
        },
    ),
]  # fmt: skip


@extend_schema_view(
    create=extend_schema(responses={201: VariantSerializer}, examples=VARIANT_EXAMPLES),
    partial_update=extend_schema(responses=VariantSerializer),
    destroy=extend_schema(
        responses={
            204: None,
            400: OpenApiResponse(
                ErrorResponseSerializer,
                "The product's last variant (`invalid`): a product keeps at least one.",
            ),
        }
    ),
)
class VariantViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Variant],
):
    """Variants of one product, by position. Anyone lists the active variants of a product they
    may see (a 404 otherwise); staff who may change variants see all of them. Staff with the
    variant permissions add, change (PATCH) and delete them; a product keeps at least one."""

    permission_classes = [IsStaffWithModelPermissionOrReadOnly]
    serializer_class = VariantSerializer
    lookup_value_regex = ID_PATH_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_product(self) -> Product:
        products = Product.objects.visible_to(self.request.user).only("pk")
        return get_object_or_404(products, pk=self.kwargs["product_pk"])

    def get_queryset(self) -> VariantQuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Variant.objects.none()
        variants = Variant.objects.visible_to(self.request.user).with_options()
        return variants.filter(product=self.get_product()).order_by("position", "id")

    def perform_create(self, serializer: BaseSerializer[Variant]) -> None:
        variant = variant_create(product=self.get_product(), **serializer.validated_data)
        serializer.instance = Variant.objects.with_options().get(pk=variant.pk)

    def perform_update(self, serializer: BaseSerializer[Variant]) -> None:
        assert serializer.instance is not None
        variant = variant_update(variant=serializer.instance, **serializer.validated_data)
        serializer.instance = Variant.objects.with_options().get(pk=variant.pk)

    def perform_destroy(self, instance: Variant) -> None:
        variant_delete(variant=instance)
