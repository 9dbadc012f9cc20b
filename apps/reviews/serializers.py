from rest_framework import serializers

from apps.core.fields import AsciiIntegerField, AsciiPrimaryKeyRelatedField, ModelSerializer
from apps.core.serializers import JSONTypesMixin
from apps.products.models import Product
from apps.users.serializers import UserPublicSerializer

from .models import MAX_RATING, MIN_RATING, Review


class ReviewReadSerializer(ModelSerializer[Review]):
    user = UserPublicSerializer(read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "product",
            "user",
            "rating",
            "comment",
            "helpful_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReviewModerationSerializer(ReviewReadSerializer):
    """A review as moderators see it: with its moderation state."""

    class Meta(ReviewReadSerializer.Meta):
        fields = [*ReviewReadSerializer.Meta.fields, "is_hidden", "hidden_reason", "hidden_at"]
        read_only_fields = fields


class ReviewAsListedSerializer(ReviewReadSerializer):
    """The schema of a review in the list and detail: moderators also get its moderation state
    (ReviewModerationSerializer), everyone else the read shape. Schema only: the fields are
    declared optional, not read-only, because drf-spectacular marks every read-only field
    required."""

    is_hidden = serializers.BooleanField(required=False, help_text="Moderators only.")
    hidden_reason = serializers.CharField(required=False, help_text="Moderators only.")
    hidden_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Moderators only."
    )

    class Meta(ReviewReadSerializer.Meta):
        fields = ReviewModerationSerializer.Meta.fields
        read_only_fields = ReviewReadSerializer.Meta.fields


class ReviewHideSerializer(JSONTypesMixin, serializers.Serializer[Review]):
    reason = serializers.CharField(
        max_length=500, help_text="Why the review is hidden; kept for the record."
    )


class ReviewContentSerializer(JSONTypesMixin, ModelSerializer[Review]):
    """Write a review's rating and comment: one's own review, or a new one of the product in the
    URL. Answers with the read shape."""

    rating = AsciiIntegerField(min_value=MIN_RATING, max_value=MAX_RATING)

    class Meta:
        model = Review
        fields = ["rating", "comment"]

    def to_representation(self, instance: Review) -> dict[str, object]:
        return ReviewReadSerializer(instance, context=self.context).data


class ReviewCreateSerializer(ReviewContentSerializer):
    """Write a review of ``product``, the id of an active product."""

    product = AsciiPrimaryKeyRelatedField(queryset=Product.objects.active())

    class Meta(ReviewContentSerializer.Meta):
        fields = ["product", "rating", "comment"]
