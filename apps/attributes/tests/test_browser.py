"""The attribute admin in a real browser (Debian's Chromium, headless, driven by Playwright):
options dragged into a new order and saved, under the site's Content-Security-Policy."""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from apps.attributes.models import AttributeKind
from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

from .factories import AttributeFactory, AttributeOptionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def problems() -> list[str]:
    """Collect what the page refused (the policy) or failed at (its scripts)."""
    return []


@pytest.fixture
def page(browser: Browser, live_server: Any, problems: list[str]) -> Iterator[Page]:
    staff: User = UserFactory(is_staff=True, is_superuser=True, email="staff@example.com")
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto("/admin/login/")
    page.fill("#id_username", staff.email)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Catalogue admin")
    yield page
    context.close()


def test_staff_drag_an_option_to_the_top_and_save(page: Page, problems: list[str]) -> None:
    colour = AttributeFactory(name="Colour", kind=AttributeKind.SWATCH)
    for position, (value, hex_colour) in enumerate(
        [("Red", "#ff0000"), ("Green", "#00ff00"), ("Blue", "#0000ff")]
    ):
        AttributeOptionFactory(
            attribute=colour,
            value=value,
            slug=value.lower(),
            position=position,
            swatch_colour=hex_colour,
        )

    page.goto(f"/admin/attributes/attribute/{colour.pk}/change/")
    rows = page.locator("#options-group tbody tr.has_original")
    expect(rows).to_have_count(3)
    expect(rows.locator("svg.swatch-preview")).to_have_count(3)
    # Blue, the last row, dropped on the upper half of the first.
    page.locator("#options-2 .drag-handle").drag_to(
        page.locator("#options-0"), target_position={"x": 40, "y": 3}
    )
    values = [row.locator("input[name$='-value']").input_value() for row in rows.all()]
    positions = [row.locator("input[name$='-position']").input_value() for row in rows.all()]
    assert values == ["Blue", "Red", "Green"]
    assert positions == ["0", "1", "2"]
    page.click("input[name=_save]")

    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    assert list(colour.options.order_by("position").values_list("value", flat=True)) == [
        "Blue",
        "Red",
        "Green",
    ]
    assert problems == []
