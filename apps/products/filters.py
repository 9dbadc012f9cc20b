import django_filters

from .models import Category, Product


class ProductFilter(django_filters.FilterSet):
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), help_text="Products directly in this category (id)."
    )

    class Meta:
        model = Product
        fields = ["category"]


class CategoryFilter(django_filters.FilterSet):
    parent = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), help_text="Direct children of this category (id)."
    )
    is_root = django_filters.BooleanFilter(
        field_name="parent", lookup_expr="isnull", help_text="Only root categories."
    )

    class Meta:
        model = Category
        fields = ["parent", "is_root"]
