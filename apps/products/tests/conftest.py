from typing import Any

import pytest

from apps.products.tests.attribute_catalogue import apparel_catalogue


@pytest.fixture
def apparel(db: None) -> dict[str, Any]:
    """The attribute tests' apparel type, attributes and options (attribute_catalogue)."""
    return apparel_catalogue()
