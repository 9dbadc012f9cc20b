import django_filters

from apps.core.filters import StrictBooleanFilter

from .models import Attribute, AttributeKind


class AttributeFilter(django_filters.FilterSet):
    filterable = StrictBooleanFilter(
        field_name="is_filterable", help_text="Only the attributes product lists filter by."
    )
    kind = django_filters.ChoiceFilter(
        choices=AttributeKind.choices, help_text="Only the attributes of this kind."
    )

    class Meta:
        model = Attribute
        fields = ["filterable", "kind"]
