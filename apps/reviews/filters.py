import django_filters

from apps.products.models import Product

from .models import Review


class ReviewFilter(django_filters.FilterSet):
    product = django_filters.ModelChoiceFilter(
        queryset=Product.objects.all(), help_text="Reviews of this product (id)."
    )

    class Meta:
        model = Review
        fields = ["product"]
