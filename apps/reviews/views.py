from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.core.fields import ID_PATH_PATTERN
from apps.core.schema import ErrorResponseSerializer
from apps.products.models import Product

from .filters import ReviewFilter
from .models import Review, ReviewQuerySet
from .permissions import CanModerateReviews, is_moderator
from .serializers import (
    ReviewAsListedSerializer,
    ReviewContentSerializer,
    ReviewCreateSerializer,
    ReviewHideSerializer,
    ReviewModerationSerializer,
    ReviewReadSerializer,
)
from .services import (
    review_create,
    review_delete,
    review_hide,
    review_restore,
    review_update,
    review_vote_add,
    review_vote_remove,
)


# Writes take ReviewCreateSerializer or ReviewContentSerializer and answer with the read shape.
@extend_schema_view(
    list=extend_schema(responses=ReviewAsListedSerializer),
    retrieve=extend_schema(responses=ReviewAsListedSerializer),
    create=extend_schema(responses={201: ReviewReadSerializer}),
    update=extend_schema(responses=ReviewReadSerializer),
    partial_update=extend_schema(responses=ReviewReadSerializer),
)
class ReviewViewSet(viewsets.ModelViewSet[Review]):
    """Reviews of active products. Anyone reads; a signed-in user writes, edits and deletes their
    own (someone else's review is a 404 to them) and marks others' reviews helpful. Moderators
    (``reviews.moderate_review``) hide and restore reviews and see hidden ones."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    filterset_class = ReviewFilter
    lookup_value_regex = ID_PATH_PATTERN
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self) -> ReviewQuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no signed-in user
            return Review.objects.none()
        user = self.request.user
        if self.action in ("update", "partial_update", "destroy"):
            # Writes reach only the caller's own reviews; anything else does not exist for them.
            return Review.objects.filter(user__pk=user.pk or 0).select_related("user")
        if self.action in ("hide", "restore"):
            return Review.objects.select_related("user")
        return Review.objects.visible_to(user).for_list()

    def get_serializer_class(self) -> type[BaseSerializer[Review]]:
        if self.action == "create":
            return ReviewCreateSerializer
        if self.action in ("update", "partial_update"):
            return ReviewContentSerializer
        if self.action == "hide":
            return ReviewHideSerializer
        if self.action == "restore" or is_moderator(self.request.user):
            return ReviewModerationSerializer
        return ReviewReadSerializer

    def perform_create(self, serializer: BaseSerializer[Review]) -> None:
        serializer.instance = review_create(user=self.request.user, **serializer.validated_data)  # type: ignore[arg-type]

    def perform_update(self, serializer: BaseSerializer[Review]) -> None:
        assert serializer.instance is not None
        serializer.instance = review_update(review=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Review) -> None:
        review_delete(review=instance)

    @extend_schema(request=ReviewHideSerializer, responses=ReviewModerationSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CanModerateReviews])
    def hide(self, request: Request, pk: str) -> Response:
        """Hide a review from the public, with a reason; it leaves the product's figures."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = review_hide(
            review=self.get_object(),
            moderator=request.user,  # type: ignore[arg-type]
            reason=serializer.validated_data["reason"],
        )
        return Response(
            ReviewModerationSerializer(review, context=self.get_serializer_context()).data
        )

    @extend_schema(request=None, responses=ReviewModerationSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CanModerateReviews])
    def restore(self, request: Request, pk: str) -> Response:
        """Show a hidden review again; it rejoins the product's figures."""
        review = review_restore(review=self.get_object())
        return Response(self.get_serializer(review).data)

    # Both methods answer 200 with the review: a DELETE here removes a vote, not the review.
    @extend_schema(
        methods=["POST"],
        request=None,
        responses={
            200: ReviewReadSerializer,
            400: OpenApiResponse(ErrorResponseSerializer, "Your own review (`invalid`)."),
        },
    )
    @extend_schema(methods=["DELETE"], responses={200: ReviewReadSerializer})
    @action(
        detail=True, methods=["post", "delete"], permission_classes=[permissions.IsAuthenticated]
    )
    def helpful(self, request: Request, pk: str) -> Response:
        """POST: mark the review helpful (once; not your own). DELETE: take the vote back."""
        review = self.get_object()
        user = request.user
        if request.method == "POST":
            review = review_vote_add(review=review, user=user)  # type: ignore[arg-type]
        else:
            review = review_vote_remove(review=review, user=user)  # type: ignore[arg-type]
        return Response(ReviewReadSerializer(review, context=self.get_serializer_context()).data)


@extend_schema_view(create=extend_schema(responses={201: ReviewReadSerializer}))
class ProductReviewViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Review]
):
    """The public reviews of one active product: anyone lists them, a signed-in user adds
    theirs."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    filterset_class = ReviewFilter

    def get_product(self) -> Product:
        return get_object_or_404(Product.objects.active(), pk=self.kwargs["product_pk"])

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no product_pk
            return Review.objects.none()
        return Review.objects.filter(product=self.get_product(), is_hidden=False).for_list()

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
