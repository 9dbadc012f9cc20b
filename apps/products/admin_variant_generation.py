"""The product page's "Generate variants": staff tick options per axis of the product's type,
confirm the combinations to create (those that exist are listed as skipped), and
``variants_generate`` creates them in one transaction.

Two steps on one URL, posted back with a button: ``preview`` (the plan, the input frozen in
hidden fields), ``edit`` (the form again, as filled in) and ``apply``. Needs
``products.add_variant`` and the right to view the product.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from apps.attributes.models import AttributeOption

from .admin_bulk_inputs import price_field, stock_field
from .models import Product
from .variant_generation import (
    DEFAULT_SKU_PATTERN,
    Axis,
    VariantPlan,
    product_type_axes,
    variants_generate,
    variants_plan,
)

PREVIEW, APPLY, EDIT = "preview", "apply", "edit"
GENERATE_PERMISSION = "products.add_variant"


class GenerateVariantsForm(forms.Form):
    """One set of checkboxes per axis (``axis_<slug>``), then the new variants' SKU pattern,
    price and stock."""

    sku_pattern = forms.CharField(
        label="SKU pattern",
        max_length=200,
        initial=DEFAULT_SKU_PATTERN,
        help_text="{sku} is the product's SKU, {options} the options' slugs joined by hyphens.",
    )
    price = price_field("Price")
    stock = stock_field("Stock", initial=0)

    def __init__(self, *args: Any, axes: list[Axis], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.axes = axes
        axis_fields = {
            self.axis_field_name(axis): forms.TypedMultipleChoiceField(
                label=axis.attribute.name,
                choices=[(option.pk, option.value) for option in axis.options],
                coerce=int,
                widget=forms.CheckboxSelectMultiple,
                error_messages={"required": f"Tick at least one {axis.attribute.name}."},
            )
            for axis in axes
        }
        # The axes first, in the type's order.
        self.fields = {**axis_fields, **self.fields}

    @staticmethod
    def axis_field_name(axis: Axis) -> str:
        return f"axis_{axis.attribute.slug}"

    def axis_fields(self) -> list[forms.BoundField]:
        return [self[self.axis_field_name(axis)] for axis in self.axes]

    def other_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("sku_pattern", "price", "stock")]

    def chosen(self) -> list[list[AttributeOption]]:
        """Return the ticked options per axis, in the axes' and the options' order."""
        result = []
        for axis in self.axes:
            ticked = set(self.cleaned_data[self.axis_field_name(axis)])
            result.append([option for option in axis.options if option.pk in ticked])
        return result


class ProductVariantGenerationMixin(admin.ModelAdmin[Product]):
    """Add "Generate variants" to the product admin: a page per product, and a link on the
    change page of a product whose type has variant axes."""

    generate_variants_template = "admin/products/product/generate_variants.html"

    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"

        def wrap(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
            return self.admin_site.admin_view(view)

        # Before the default URLs, whose "<path:object_id>/" would take the rest for an id.
        return [
            path(
                "<path:object_id>/generate-variants/",
                wrap(self.generate_variants_view),
                name=f"{info}_generate_variants",
            ),
            *super().get_urls(),
        ]

    def has_generate_variants_permission(self, request: HttpRequest, product: Product) -> bool:
        """Return whether the user may generate variants of ``product``."""
        return self.has_view_or_change_permission(request, product) and request.user.has_perm(
            GENERATE_PERMISSION
        )

    def render_change_form(  # noqa: PLR0917 (Django's signature)
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Product | None = None,
    ) -> HttpResponse:
        # The link shows on the page of a product with a type (the page it leads to says when
        # the type has no axes), for staff who may add variants.
        if (
            obj is not None
            and obj.pk is not None
            and obj.product_type_id is not None
            and self.has_generate_variants_permission(request, obj)
        ):
            context["generate_variants_url"] = reverse(
                f"{self.admin_site.name}:products_product_generate_variants", args=[obj.pk]
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def generate_variants_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        product = self.get_object(request, unquote(object_id))
        if product is None:
            raise Http404("No such product.")
        if not self.has_generate_variants_permission(request, product):
            raise PermissionDenied
        change_url = reverse(f"{self.admin_site.name}:products_product_change", args=[product.pk])
        axes = product_type_axes(product.product_type_id)
        if not axes:
            self.message_user(
                request,
                "This product's type has no variant axes: there is nothing to generate.",
                messages.WARNING,
            )
            return HttpResponseRedirect(change_url)
        posted = request.method == "POST"
        step = next((name for name in (APPLY, PREVIEW, EDIT) if name in request.POST), None)
        form = GenerateVariantsForm(
            request.POST if posted else None, axes=axes, initial={"price": product.price}
        )
        plan: VariantPlan | None = None
        if posted and step != EDIT and form.is_valid():
            try:
                if step == APPLY:
                    done = variants_generate(
                        user=request.user,
                        product=product,
                        chosen=form.chosen(),
                        price=form.cleaned_data["price"],
                        stock=form.cleaned_data["stock"],
                        sku_pattern=form.cleaned_data["sku_pattern"],
                    )
                    self.message_user(
                        request,
                        f"{len(done.new)} variant{'s' if len(done.new) != 1 else ''} created, "
                        f"{len(done.existing)} skipped (they exist).",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(change_url)
                plan = variants_plan(
                    product=product,
                    chosen=form.chosen(),
                    sku_pattern=form.cleaned_data["sku_pattern"],
                )
            except ValidationError as error:
                # Nothing was written; the form shows why.
                form.add_error(None, error)
                plan = None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Generate variants of {product.name}",
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "original": product,
            "form": form,
            "plan": plan,
            "confirming": plan is not None,
            "change_url": change_url,
            "changelist_url": reverse(f"{self.admin_site.name}:products_product_changelist"),
            "form_url": request.get_full_path(),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.generate_variants_template, context)
