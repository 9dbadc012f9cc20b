from django.shortcuts import get_object_or_404
from rest_framework import mixins, permissions, viewsets
from rest_framework.serializers import BaseSerializer

from apps.products.models import Product

from .filters import ReviewFilter
from .models import Review, ReviewQuerySet
from .serializers import ReviewContentSerializer, ReviewCreateSerializer, ReviewReadSerializer
from .services import review_create, review_delete, review_update


class ReviewViewSet(viewsets.ModelViewSet[Review]):
    """Reviews of active products. Anyone reads; a signed-in user writes, edits and deletes their
    own (someone else's review is a 404 to them)."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    filterset_class = ReviewFilter
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self) -> ReviewQuerySet:
        reviews = Review.objects.public().for_list()
        if getattr(self, "swagger_fake_view", False):  # schema generation has no signed-in user
            return reviews
        if self.request.method not in permissions.SAFE_METHODS:
            # Writes reach only the caller's own reviews; anything else does not exist for them.
            user_id = self.request.user.pk
            assert user_id is not None, "IsAuthenticatedOrReadOnly lets only signed-in users write"
            reviews = reviews.filter(user_id=user_id)
        return reviews

    def get_serializer_class(self) -> type[BaseSerializer[Review]]:
        if self.action == "create":
            return ReviewCreateSerializer
        if self.action in ("update", "partial_update"):
            return ReviewContentSerializer
        return ReviewReadSerializer

    def perform_create(self, serializer: BaseSerializer[Review]) -> None:
        serializer.instance = review_create(user=self.request.user, **serializer.validated_data)  # type: ignore[arg-type]

    def perform_update(self, serializer: BaseSerializer[Review]) -> None:
        assert serializer.instance is not None
        serializer.instance = review_update(review=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Review) -> None:
        review_delete(review=instance)


class ProductReviewViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Review]
):
    """The reviews of one active product: anyone lists them, a signed-in user adds theirs."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    def get_product(self) -> Product:
        return get_object_or_404(Product.objects.active(), pk=self.kwargs["product_pk"])

    def get_queryset(self) -> ReviewQuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no product_pk
            return Review.objects.none()
        return Review.objects.filter(product=self.get_product()).for_list()

    def get_serializer_class(self) -> type[BaseSerializer[Review]]:
        if self.action == "create":
            return ReviewContentSerializer
        return ReviewReadSerializer

    def perform_create(self, serializer: BaseSerializer[Review]) -> None:
        serializer.instance = review_create(
            product=self.get_product(),
            user=self.request.user,  # type: ignore[arg-type]
            **serializer.validated_data,
        )
