"""Attribute filters and facets checked against a brute-force count in Python.

Hypothesis draws a small typed catalogue (categories, apparel products with variants in colours
and sizes, some inactive, with brands, features, weights and a yes-or-no) and a combination of
attribute filters, with or without a category; the page must list exactly the products whose
one active variant matches every option filter (and whose values match the others), and each
attribute facet must count, per option, the matching products over every filter but its own.
Bare category pages come from the option summary; the brute force does not know that.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from apps.products.tests.attribute_catalogue import (
    BRANDS,
    COLOURS,
    FEATURES,
    SIZES,
    apparel_catalogue,
    shirt,
)
from apps.products.tests.factories import CategoryFactory
from apps.products.tests.helpers import assert_variant_tags_are_fresh
from apps.products.tests.test_facets import rolled_back

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")
WEIGHTS = [Decimal("80"), Decimal("120.5"), Decimal("300")]
COMBINATIONS = [(colour, size) for colour in COLOURS for size in SIZES]
# The facet order: the attributes' positions in attribute_catalogue.
ORDER = ["colour", "size", "brand", "features", "weight", "waterproof"]
OPTIONS = {"colour": list(COLOURS), "size": SIZES, "brand": BRANDS, "features": FEATURES}
AXES = ("colour", "size")

FACET_SETTINGS = settings(max_examples=60, deadline=None, database=None)


@dataclass(frozen=True)
class ShirtSpec:
    category: int  # 0: the root, 1: its active child, 2: its inactive child
    variants: tuple[tuple[str, str], ...]  # distinct (colour, size) combinations
    inactive: tuple[int, ...]  # positions of inactive variants
    is_active: bool
    brand: str | None
    features: tuple[str, ...]
    weight: Decimal | None
    waterproof: bool | None


@dataclass(frozen=True)
class FilterSpec:
    category: int | None  # 0 or 1 (active categories only)
    options: dict[str, tuple[str, ...]]  # attribute slug: option slugs (non-empty)
    weight: tuple[Decimal | None, Decimal | None] | None
    waterproof: bool | None


@st.composite
def shirts(draw: st.DrawFn) -> ShirtSpec:
    variants = tuple(
        draw(st.lists(st.sampled_from(COMBINATIONS), min_size=1, max_size=4, unique=True))
    )
    return ShirtSpec(
        category=draw(st.integers(min_value=0, max_value=2)),
        variants=variants,
        inactive=tuple(
            draw(st.sets(st.integers(min_value=0, max_value=len(variants) - 1), max_size=1))
        ),
        is_active=draw(st.sampled_from([True, True, True, False])),
        brand=draw(st.one_of(st.none(), st.sampled_from(BRANDS))),
        features=tuple(draw(st.sets(st.sampled_from(FEATURES)))),
        weight=draw(st.one_of(st.none(), st.sampled_from(WEIGHTS))),
        waterproof=draw(st.one_of(st.none(), st.booleans())),
    )


@st.composite
def filter_specs(draw: st.DrawFn) -> FilterSpec:
    options = {}
    for slug, choices in OPTIONS.items():
        chosen = draw(st.sets(st.sampled_from(choices), max_size=2))
        if chosen:
            options[slug] = tuple(sorted(chosen))
    weight = draw(
        st.one_of(
            st.none(),
            st.tuples(
                st.one_of(st.none(), st.sampled_from(WEIGHTS)),
                st.one_of(st.none(), st.sampled_from(WEIGHTS)),
            ).filter(lambda pair: pair != (None, None) and (None in pair or pair[0] <= pair[1])),
        )
    )
    return FilterSpec(
        category=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=1))),
        options=options,
        weight=weight,
        waterproof=draw(st.one_of(st.none(), st.booleans())),
    )


def query_for(filters: FilterSpec, categories: list[Any]) -> dict[str, Any]:
    attribute = [f"{slug}:{','.join(chosen)}" for slug, chosen in filters.options.items()]
    if filters.weight is not None:
        low, high = filters.weight
        attribute.append(f"weight:{'' if low is None else low}..{'' if high is None else high}")
    if filters.waterproof is not None:
        attribute.append(f"waterproof:{'true' if filters.waterproof else 'false'}")
    query: dict[str, Any] = {"facets": "true", "page_size": "100", "attribute": attribute}
    if filters.category is not None:
        query["category"] = categories[filters.category].slug
    return query


def brute_force(
    filters: FilterSpec, shirts_drawn: list[ShirtSpec], ids: list[int]
) -> tuple[set[int], list[dict[str, Any]]]:
    """Return the ids the page lists and the attribute facets, counted shirt by shirt."""

    def visible(spec: ShirtSpec) -> bool:
        in_category = filters.category is None or filters.category == 0 or spec.category == 1
        return spec.is_active and spec.category != 2 and in_category

    def tags(spec: ShirtSpec, variant: tuple[str, str]) -> dict[str, set[str]]:
        return {
            "colour": {variant[0]},
            "size": {variant[1]},
            "brand": {spec.brand} if spec.brand else set(),
            "features": set(spec.features),
        }

    def rows(spec: ShirtSpec, excluding: str | None) -> list[dict[str, set[str]]]:
        """The shirt's active variants that match every option filter but ``excluding``'s."""
        return [
            tags(spec, variant)
            for position, variant in enumerate(spec.variants)
            if position not in spec.inactive
            and all(
                tags(spec, variant)[slug] & set(chosen)
                for slug, chosen in filters.options.items()
                if slug != excluding
            )
        ]

    def values_match(spec: ShirtSpec, excluding: str | None) -> bool:
        if filters.weight is not None and excluding != "weight":
            low, high = filters.weight
            if spec.weight is None or (low is not None and spec.weight < low):
                return False
            if high is not None and spec.weight > high:
                return False
        if filters.waterproof is not None and excluding != "waterproof":
            return spec.waterproof == filters.waterproof
        return True

    def tag_filtered(excluding: str | None) -> bool:
        """Whether a filter on options or yes-or-no other than ``excluding``'s is given: then
        a product matches only through an active variant (a row of the read model)."""
        tagged = set(filters.options) | (
            {"waterproof"} if filters.waterproof is not None else set()
        )
        return bool(tagged - {excluding})

    def has_active_variant(spec: ShirtSpec) -> bool:
        return any(position not in spec.inactive for position in range(len(spec.variants)))

    def matching(excluding: str | None) -> list[ShirtSpec]:
        return [
            spec
            for spec in shirts_drawn
            if visible(spec)
            and values_match(spec, excluding)
            and (rows(spec, excluding) or not tag_filtered(excluding))
        ]

    listed = {pk for pk, spec in zip(ids, shirts_drawn, strict=True) if spec in matching(None)}
    facets = []
    for slug in ORDER:
        if slug in OPTIONS:
            counted = [(spec, rows(spec, slug)) for spec in matching(slug)]
            options = []
            for option in OPTIONS[slug]:
                count = sum(any(option in row[slug] for row in found) for _, found in counted)
                if count or option in filters.options.get(slug, ()):
                    entry: dict[str, Any] = {
                        "slug": option,
                        "value": option.upper(),
                        "count": count,
                    }
                    if slug == "colour":
                        entry["swatch_colour"] = COLOURS[option]
                    options.append(entry)
            if options:
                facets.append({"slug": slug, "options": options})
        elif slug == "weight":
            # Only products with an active variant, as every attribute facet counts.
            weights = [
                spec.weight
                for spec in matching(slug)
                if spec.weight is not None and has_active_variant(spec)
            ]
            if weights:
                facets.append({"slug": slug, "min": str(min(weights)), "max": str(max(weights))})
        else:
            # A yes-or-no is a tag: counted for products with a matching active variant.
            answers = [
                spec.waterproof
                for spec in matching(slug)
                if spec.waterproof is not None and rows(spec, slug)
            ]
            options = [
                {"slug": text, "value": label, "count": answers.count(value)}
                for text, label, value in (("true", "Yes", True), ("false", "No", False))
                if answers.count(value) or filters.waterproof is value
            ]
            if options:
                facets.append({"slug": slug, "options": options})
    return listed, facets


# A listed product whose only variant is inactive, with a weight: counted by no facet, on a bare
# category page (the summaries) as on the whole catalogue's.
WITHOUT_AN_ACTIVE_VARIANT = ShirtSpec(
    category=0,
    variants=((next(iter(COLOURS)), SIZES[0]),),
    inactive=(0,),
    is_active=True,
    brand=None,
    features=(),
    weight=WEIGHTS[0],
    waterproof=None,
)


@FACET_SETTINGS
@given(
    shirts_drawn=st.lists(shirts(), max_size=8),
    filters=filter_specs(),
)
@example(
    shirts_drawn=[WITHOUT_AN_ACTIVE_VARIANT],
    filters=FilterSpec(category=0, options={}, weight=None, waterproof=None),
)
@example(
    shirts_drawn=[WITHOUT_AN_ACTIVE_VARIANT],
    filters=FilterSpec(category=None, options={}, weight=None, waterproof=None),
)
def test_attribute_filters_and_facets_match_a_brute_force_count(
    shirts_drawn: list[ShirtSpec], filters: FilterSpec
) -> None:
    with rolled_back():
        cache.clear()
        apparel = apparel_catalogue()
        root = CategoryFactory()
        categories = [
            root,
            CategoryFactory(parent=root),
            CategoryFactory(parent=root, is_active=False),
        ]
        ids = [
            shirt(
                apparel,
                *spec.variants,
                category=categories[spec.category],
                brand=spec.brand,
                features=spec.features,
                weight=spec.weight,
                waterproof=spec.waterproof,
                inactive=spec.inactive,
                is_active=spec.is_active,
            ).pk
            for spec in shirts_drawn
        ]
        assert_variant_tags_are_fresh()
        query = query_for(filters, categories)
        expected_ids, expected_facets = brute_force(filters, shirts_drawn, ids)

        response = APIClient().get(PRODUCTS, query)

        assert response.status_code == 200, (query, response.data)
        assert {row["id"] for row in response.data["results"]} == expected_ids, query
        assert response.data["count"] == len(expected_ids), query
        facets = [
            {key: value for key, value in facet.items() if key not in ("name", "kind", "unit")}
            for facet in response.data["facets"]["attributes"]
        ]
        assert facets == expected_facets, query
