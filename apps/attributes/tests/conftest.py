# A real browser for the admin's drag and drop, as the core tests have it.
from apps.core.tests.conftest import browser  # noqa: F401
