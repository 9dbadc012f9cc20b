from rest_framework import viewsets
from rest_framework.serializers import BaseSerializer

from apps.core.permissions import IsStaffWithModelPermissionOrReadOnly

from .filters import CategoryFilter, ProductFilter
from .models import Category, CategoryQuerySet, Product, ProductQuerySet
from .serializers import CategorySerializer, ProductReadSerializer, ProductWriteSerializer
from .services import category_create, category_update, product_create, product_update


class CategoryViewSet(viewsets.ModelViewSet[Category]):
    """Categories of the catalogue. Anyone reads active ones; staff with permission write."""

    serializer_class = CategorySerializer
    permission_classes = [IsStaffWithModelPermissionOrReadOnly]
    filterset_class = CategoryFilter

    def get_queryset(self) -> CategoryQuerySet:
        return Category.objects.visible_to(self.request.user)

    def perform_create(self, serializer: BaseSerializer[Category]) -> None:
        serializer.instance = category_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Category]) -> None:
        assert serializer.instance is not None
        serializer.instance = category_update(
            category=serializer.instance, **serializer.validated_data
        )


class ProductViewSet(viewsets.ModelViewSet[Product]):
    """Products of the catalogue. Anyone reads active ones; staff with permission write."""

    permission_classes = [IsStaffWithModelPermissionOrReadOnly]
    filterset_class = ProductFilter

    def get_queryset(self) -> ProductQuerySet:
        return Product.objects.visible_to(self.request.user).for_list()

    def get_serializer_class(self) -> type[BaseSerializer[Product]]:
        if self.action in ("create", "update", "partial_update"):
            return ProductWriteSerializer
        return ProductReadSerializer

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
