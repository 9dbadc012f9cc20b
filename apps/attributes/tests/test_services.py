import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.attributes.models import AttributeKind
from apps.attributes.services import OptionData, attribute_delete, attribute_update

from .factories import AttributeFactory, AttributeOptionFactory

pytestmark = pytest.mark.django_db


def stored_swatch() -> str:
    return default_storage.save("swatches/test/fabric.png", ContentFile(b"png"))


def test_deleting_an_attribute_deletes_its_swatch_pictures_once_committed(
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    name = stored_swatch()
    option = AttributeOptionFactory(
        attribute=AttributeFactory(kind=AttributeKind.SWATCH), swatch_image=name
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        attribute_delete(attribute=option.attribute)
    assert default_storage.exists(name)  # not before the commit
    for callback in callbacks:
        callback()

    assert not default_storage.exists(name)


def test_options_left_out_or_shedding_their_swatches_lose_their_pictures(
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    attribute = AttributeFactory(kind=AttributeKind.SWATCH)
    kept, dropped = stored_swatch(), stored_swatch()
    AttributeOptionFactory(attribute=attribute, slug="kept", swatch_image=kept)
    AttributeOptionFactory(attribute=attribute, slug="dropped", swatch_image=dropped)

    with django_capture_on_commit_callbacks(execute=True):
        attribute_update(attribute=attribute, options=[OptionData(value="Kept", slug="kept")])
    assert not default_storage.exists(dropped)
    assert default_storage.exists(kept)

    with django_capture_on_commit_callbacks(execute=True):
        attribute_update(
            attribute=attribute,
            kind=AttributeKind.CHOICE,
            options=[OptionData(value="Kept", slug="kept")],
        )
    assert not default_storage.exists(kept)
    assert attribute.options.get().swatch_image.name == ""
