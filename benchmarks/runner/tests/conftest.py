from collections.abc import Iterator

import pytest

from .eav_reference import demo_catalogue_with_side_tables


@pytest.fixture
def eav_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Load the demo catalogue, write the EAV's side tables, point the EAV at the test
    database (dropping the tables after)."""
    yield from demo_catalogue_with_side_tables(monkeypatch)
