"""The textbook catalogue: generic views over the plain queryset, no select_related or
prefetch_related, page numbers with an exact count."""

from collections import OrderedDict
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import generics, permissions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from apps.products.models import Category, Product

from .serializers import ProductDetailSerializer, ProductListSerializer


class ProductPagination(PageNumberPagination):
    """Page numbers with ours' envelope; the count is always exact (a plain COUNT)."""

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        return Response(
            OrderedDict(
                [
                    ("count", self.page.paginator.count),
                    ("count_is_estimate", False),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )


class ProductList(generics.ListAPIView[Product]):
    serializer_class = ProductListSerializer
    pagination_class = ProductPagination
    permission_classes = [permissions.AllowAny]

    def get_queryset(self) -> QuerySet[Product]:
        products = Product.objects.filter(is_active=True, category__is_active=True)
        slug = self.request.query_params.get("category")
        if slug:
            category = get_object_or_404(Category, slug=slug, is_active=True)
            subtree = Category.objects.filter(path__startswith=category.path)
            products = products.filter(category__in=subtree)
        return products.order_by("-created_at", "-id")


class ProductDetail(generics.RetrieveAPIView[Product]):
    serializer_class = ProductDetailSerializer
    permission_classes = [permissions.AllowAny]
    queryset = Product.objects.filter(is_active=True, category__is_active=True)
