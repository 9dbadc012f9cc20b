from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.core.fields import ID_PATH_PATTERN
from apps.core.permissions import IsStaffWithModelPermissionOrReadOnly

from .filters import AttributeFilter
from .models import Attribute, AttributeQuerySet, ProductType, ProductTypeQuerySet
from .serializers import (
    AttributeSerializer,
    AttributeWriteSerializer,
    ProductTypeSerializer,
    ProductTypeWriteSerializer,
)
from .services import (
    attribute_create,
    attribute_delete,
    attribute_update,
    product_type_create,
    product_type_delete,
    product_type_update,
)

SLUG_PATH = r"slug/(?P<slug>[-\w]+)"


ATTRIBUTE_EXAMPLES = [
    OpenApiExample(
        "A swatch attribute",
        request_only=True,
        value={
            "name": "Colour",
            "kind": "swatch",
            "is_filterable": True,
            "options": [
                {"value": "Navy", "swatch_colour": "#1f2f4d"},
                {"value": "Sand", "slug": "sand", "swatch_colour": "#d8c8a8"},
            ],
        },
    ),
    OpenApiExample(
        "A number attribute",
        request_only=True,
        value={"name": "Screen size", "kind": "number", "unit": "in", "is_filterable": True},
    ),
    OpenApiExample(
        "A swatch attribute, as answered",
        response_only=True,
        value={
            "id": 2,
            "name": "Colour",
            "slug": "colour",
            "kind": "swatch",
            "unit": "",
            "is_filterable": True,
            "is_shown": True,
            "position": 0,
            "options": [
                {"id": 7, "value": "Navy", "slug": "navy", "position": 0,
                 "swatch_colour": "#1f2f4d", "swatch_image": None},
                {"id": 8, "value": "Sand", "slug": "sand", "position": 1,
                 "swatch_colour": "#d8c8a8", "swatch_image": None},
            ],
            "created_at": "2026-12-07T09:30:00Z",
            "updated_at": "2026-12-07T09:30:00Z",
        },
    ),
]  # fmt: skip
OPTIONS_PATCH_EXAMPLE = OpenApiExample(
    "The options reordered, one added",
    request_only=True,
    value={"options": [{"value": "Sand", "slug": "sand"}, {"value": "Navy", "slug": "navy"},
                       {"value": "Olive", "swatch_colour": "#5b6236"}]},
)  # fmt: skip
PRODUCT_TYPE_EXAMPLES = [
    OpenApiExample(
        "A type with variants",
        request_only=True,
        value={
            "name": "T-shirt",
            "has_variants": True,
            "attributes": [
                {"slug": "size", "is_axis": True},
                {"slug": "colour", "is_axis": True},
                {"slug": "material"},
            ],
        },
    ),
    OpenApiExample(
        "A type with variants, as answered",
        response_only=True,
        value={
            "id": 1,
            "name": "T-shirt",
            "slug": "t-shirt",
            "has_variants": True,
            "attributes": [
                {"id": 1, "slug": "size", "name": "Size", "kind": "choice", "unit": "",
                 "is_axis": True, "position": 0},
                {"id": 2, "slug": "colour", "name": "Colour", "kind": "swatch", "unit": "",
                 "is_axis": True, "position": 1},
                {"id": 3, "slug": "material", "name": "Material", "kind": "text", "unit": "",
                 "is_axis": False, "position": 2},
            ],
            "created_at": "2026-12-07T09:30:00Z",
            "updated_at": "2026-12-07T09:30:00Z",
        },
    ),
]  # fmt: skip


# Writes take the write serializers and answer with the read shape (their to_representation).
@extend_schema_view(
    retrieve=extend_schema(examples=ATTRIBUTE_EXAMPLES[2:]),
    create=extend_schema(responses={201: AttributeSerializer}, examples=ATTRIBUTE_EXAMPLES),
    update=extend_schema(responses=AttributeSerializer, examples=ATTRIBUTE_EXAMPLES),
    partial_update=extend_schema(
        responses=AttributeSerializer, examples=[OPTIONS_PATCH_EXAMPLE, ATTRIBUTE_EXAMPLES[2]]
    ),
)
class AttributeViewSet(viewsets.ModelViewSet[Attribute]):
    """Attributes that describe products (size, colour, storage), with their options. Anyone
    reads them; staff with permission write.

    A write's ``options`` replaces the stored list whole; options are matched by slug, so those
    kept keep their id. An attribute that a product type uses cannot be deleted (409).
    """

    permission_classes = [IsStaffWithModelPermissionOrReadOnly]
    filterset_class = AttributeFilter
    lookup_value_regex = ID_PATH_PATTERN

    def get_queryset(self) -> AttributeQuerySet:
        if self.action == "list":
            return Attribute.objects.for_list()
        return Attribute.objects.for_detail()

    def get_serializer_class(self) -> type[BaseSerializer[Attribute]]:
        if self.action in ("create", "update", "partial_update"):
            return AttributeWriteSerializer
        return AttributeSerializer

    @extend_schema(responses=AttributeSerializer)
    @action(detail=False, url_path=SLUG_PATH, filter_backends=[])
    def by_slug(self, request: Request, slug: str) -> Response:
        """Return one attribute by its slug, with its options."""
        attribute = get_object_or_404(self.get_queryset(), slug=slug)
        return Response(self.get_serializer(attribute).data)

    def perform_create(self, serializer: BaseSerializer[Attribute]) -> None:
        assert isinstance(serializer, AttributeWriteSerializer)
        serializer.instance = attribute_create(**serializer.service_arguments())

    def perform_update(self, serializer: BaseSerializer[Attribute]) -> None:
        assert isinstance(serializer, AttributeWriteSerializer) and serializer.instance
        serializer.instance = attribute_update(
            attribute=serializer.instance, **serializer.service_arguments()
        )

    def perform_destroy(self, instance: Attribute) -> None:
        attribute_delete(attribute=instance)


@extend_schema_view(
    retrieve=extend_schema(examples=PRODUCT_TYPE_EXAMPLES[1:]),
    create=extend_schema(responses={201: ProductTypeSerializer}, examples=PRODUCT_TYPE_EXAMPLES),
    update=extend_schema(responses=ProductTypeSerializer, examples=PRODUCT_TYPE_EXAMPLES),
    partial_update=extend_schema(responses=ProductTypeSerializer, examples=PRODUCT_TYPE_EXAMPLES),
)
class ProductTypeViewSet(viewsets.ModelViewSet[ProductType]):
    """Product types (a T-shirt, a phone, a book): the attributes that describe their products
    in order, and which of them are variant axes. Anyone reads them; staff with permission
    write.

    A write's ``attributes`` replaces the stored list whole.
    """

    permission_classes = [IsStaffWithModelPermissionOrReadOnly]
    lookup_value_regex = ID_PATH_PATTERN

    def get_queryset(self) -> ProductTypeQuerySet:
        if self.action == "list":
            return ProductType.objects.for_list()
        return ProductType.objects.for_detail()

    def get_serializer_class(self) -> type[BaseSerializer[ProductType]]:
        if self.action in ("create", "update", "partial_update"):
            return ProductTypeWriteSerializer
        return ProductTypeSerializer

    @extend_schema(responses=ProductTypeSerializer)
    @action(detail=False, url_path=SLUG_PATH, filter_backends=[])
    def by_slug(self, request: Request, slug: str) -> Response:
        """Return one product type by its slug, with its attributes."""
        product_type = get_object_or_404(self.get_queryset(), slug=slug)
        return Response(self.get_serializer(product_type).data)

    def perform_create(self, serializer: BaseSerializer[ProductType]) -> None:
        assert isinstance(serializer, ProductTypeWriteSerializer)
        serializer.instance = product_type_create(**serializer.service_arguments())

    def perform_update(self, serializer: BaseSerializer[ProductType]) -> None:
        assert isinstance(serializer, ProductTypeWriteSerializer) and serializer.instance
        serializer.instance = product_type_update(
            product_type=serializer.instance, **serializer.service_arguments()
        )

    def perform_destroy(self, instance: ProductType) -> None:
        product_type_delete(product_type=instance)
