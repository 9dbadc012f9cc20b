import django_filters
from django.db.models import QuerySet

from apps.core.filters import AsciiModelChoiceFilter, AsciiNumberFilter, StrictBooleanFilter
from apps.core.ordering import order_with_tie_breaker, ordering_choices
from apps.products.models import Product

from .models import Review

# ?ordering= values and the columns they sort on; the id breaks ties in the same direction.
ORDERINGS = {"created_at": "created_at", "rating": "rating", "helpful": "helpful_count"}
ORDERING_CHOICES = ordering_choices(ORDERINGS)


class ReviewFilter(django_filters.FilterSet):
    product = AsciiModelChoiceFilter(
        queryset=Product.objects.all(), help_text="Reviews of this product (id)."
    )
    rating = AsciiNumberFilter(
        field_name="rating", min_value=1, max_value=5, help_text="Reviews with exactly this rating."
    )
    rating_min = AsciiNumberFilter(
        field_name="rating",
        lookup_expr="gte",
        min_value=1,
        max_value=5,
        help_text="Reviews rated at least this.",
    )
    is_hidden = StrictBooleanFilter(
        field_name="is_hidden",
        help_text="Moderators only (others never see hidden reviews): the moderation queue.",
    )
    ordering = django_filters.ChoiceFilter(
        choices=ORDERING_CHOICES,
        method="filter_ordering",
        empty_label=None,
        help_text="`-created_at` (newest, the default), `-rating`, `-helpful` (most helpful) "
        "...; ties are broken by id.",
    )

    class Meta:
        model = Review
        fields = ["product", "rating", "rating_min", "is_hidden"]

    def filter_ordering(
        self, queryset: QuerySet[Review], name: str, value: str
    ) -> QuerySet[Review]:
        return queryset  # applied in filter_queryset, after every filter

    def filter_queryset(self, queryset: QuerySet[Review]) -> QuerySet[Review]:
        queryset = super().filter_queryset(queryset)
        ordering = self.form.cleaned_data.get("ordering") or "-created_at"
        return order_with_tie_breaker(queryset, ORDERINGS, ordering)
