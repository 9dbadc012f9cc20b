"""What the benchmark measures: the API's address and the scenarios, each with its servers."""

from dataclasses import dataclass

LIST_PATH = "/api/v1/products/"
PAGE_SIZE = 24
# Every request names this host (wrk_paths.lua too), so that links and ETags match.
HOST = "localhost"


@dataclass(frozen=True)
class Scenario:
    """One kind of request (a list of ``paths`` in the request lists) and the servers it times;
    the first server is the reference the others are checked against."""

    name: str
    paths: str
    servers: tuple[str, ...]
    description: str
    etag: bool = False
    same_json: bool = False  # every server must answer with ours' JSON
    # Only this part of the JSON (keys from the top) is compared, when given.
    compared: tuple[str, ...] = ()


SCENARIOS = [
    Scenario(
        "list",
        "list",
        ("ours", "floor", "textbook"),
        "category pages of 24 (leaf and mid-level categories, pages 1-3)",
        same_json=True,
    ),
    Scenario(
        "detail", "detail", ("ours", "floor", "textbook"), "product pages by id", same_json=True
    ),
    Scenario(
        "detail-50",
        "detail_50",
        ("ours", "floor"),
        "pages of products with 50 variants (the generator's every thousandth product)",
        same_json=True,
    ),
    Scenario("cursor-first", "cursor_first", ("ours",), "cursor page one, newest first"),
    Scenario("cursor-deep", "cursor_deep", ("ours",), "cursor pages half the catalogue deep"),
    Scenario("search", "search", ("ours",), "search mix: rare, common, two-word, misspelled"),
    Scenario("search-misspelled", "search_misspelled", ("ours",), "misspelled search terms"),
    Scenario("facets", "facets", ("ours",), "category pages with facets=true"),
    Scenario(
        "attribute_list",
        "attribute_list",
        ("ours", "eav"),
        "category pages filtered by attributes (a brand of two, axes on one variant)",
        same_json=True,
    ),
    Scenario(
        "attribute_facets",
        "attribute_facets",
        ("ours", "eav"),
        "the same pages with facets=true (the EAV serves and is checked on facets.attributes)",
        same_json=True,
        compared=("facets", "attributes"),
    ),
    Scenario(
        "department_facets",
        "department_facets",
        ("ours", "eav"),
        "department pages (a root category, 50,000+ products at M) with facets=true, no filter",
        same_json=True,
        compared=("facets", "attributes"),
    ),
    Scenario(
        "etag-304",
        "etag",
        ("ours-cached", "floor", "textbook"),
        "list and detail with If-None-Match (floor: uncached 200s)",
        etag=True,
        same_json=True,
    ),
    Scenario(
        "list-cached",
        "list_hot",
        ("ours-cached", "floor"),
        "20 hot category pages, ours' response cache on (floor: uncached)",
        same_json=True,
    ),
]
