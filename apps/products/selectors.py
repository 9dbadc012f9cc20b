"""Reads that assemble more than one query's worth of catalogue data for a response."""

from typing import Any

from .models import Category, CategoryFacetCount, path_ids


def category_breadcrumbs(category: Category) -> list[Category]:
    """Return the categories from the root down to ``category`` itself, in one query."""
    ids = path_ids(category.path)
    by_id = {node.pk: node for node in Category.objects.filter(pk__in=ids[:-1])}
    return [*(by_id[pk] for pk in ids[:-1] if pk in by_id), category]


def category_with_details(category: Category) -> Category:
    """Attach breadcrumbs, active children and the count of active products in the whole
    subtree to ``category`` (three queries)."""
    category.breadcrumbs = category_breadcrumbs(category)  # type: ignore[attr-defined]
    category.active_children = list(  # type: ignore[attr-defined]
        Category.objects.active().filter(parent=category).order_by("name", "id")
    )
    # From the facet summary: the products shoppers see in the subtree, without counting them.
    category.product_count = CategoryFacetCount.objects.product_count(category)  # type: ignore[attr-defined]
    return category


def category_tree() -> list[dict[str, Any]]:
    """Return the active categories as nested dicts, roots first, in one query.

    A category under an inactive parent is left out with its parent.
    """
    nodes: dict[int, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    rows = Category.objects.active().order_by("path").values("id", "name", "slug", "parent_id")
    # Ordered by path, every parent comes before its children.
    for row in rows:
        node = {"id": row["id"], "name": row["name"], "slug": row["slug"], "children": []}
        if row["parent_id"] is None:
            roots.append(node)
        elif row["parent_id"] in nodes:
            nodes[row["parent_id"]]["children"].append(node)
        else:
            continue  # its parent is inactive
        nodes[row["id"]] = node
    _sort_by_name(roots)
    return roots


def _sort_by_name(nodes: list[dict[str, Any]]) -> None:
    nodes.sort(key=lambda node: (node["name"].lower(), node["id"]))
    for node in nodes:
        _sort_by_name(node["children"])
