"""Product images: upload, validation, permissions, edits, deletion and the admin inline."""

import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from apps.products.models import Product, ProductImage
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.users.models import User

pytestmark = pytest.mark.django_db

ERROR_FIELDS = {"status", "code", "detail", "errors", "request_id"}
IMAGE_FIELDS = {"id", "image", "alt_text", "position", "width", "height", "created_at"}
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Store every uploaded file under the test's own folder, never in the repository."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def editor(client_for: Callable[[User], APIClient], staff_with_perms) -> APIClient:  # type: ignore[no-untyped-def]
    return client_for(staff_with_perms("products.change_product"))


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (200, 150)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, "teal").save(buffer, image_format)
    return buffer.getvalue()


def image_upload(
    image_format: str = "PNG", size: tuple[int, int] = (200, 150), name: str | None = None
) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name or f"photo.{EXTENSIONS[image_format]}",
        image_bytes(image_format, size),
        content_type=f"image/{image_format.lower()}",
    )


def stored_image(product: Product, *, position: int = 0, alt_text: str = "") -> ProductImage:
    return ProductImage.objects.create(
        product=product, image=image_upload(), position=position, alt_text=alt_text
    )


def stored_files(media_root: Path) -> list[Path]:
    return [path for path in media_root.rglob("*") if path.is_file()]


def images_url(product: Product) -> str:
    return reverse("v1:product-image-list", kwargs={"product_pk": product.pk})


def image_url(image: ProductImage) -> str:
    return reverse(
        "v1:product-image-detail", kwargs={"product_pk": image.product_id, "pk": image.pk}
    )


def product_url(product: Product) -> str:
    return reverse("v1:product-detail", args=[product.pk])


def png_header_claiming(width: int, height: int) -> bytes:
    """Return a PNG signature and header for a picture of that size, and no pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


# --- upload -----------------------------------------------------------------------------------


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP"])
def test_staff_who_change_products_upload_an_image(
    editor: APIClient, media_root: Path, image_format: str
) -> None:
    product = ProductFactory()

    response = editor.post(
        images_url(product),
        {"image": image_upload(image_format, (320, 240)), "alt_text": "Front view"},
        format="multipart",
    )

    assert response.status_code == 201, response.data
    assert set(response.data) == IMAGE_FIELDS
    image = ProductImage.objects.get(pk=response.data["id"])
    assert image.product == product
    assert response.data["image"].startswith(f"http://testserver/media/products/{product.pk}/")
    assert response.data["image"].endswith(image.image.name.rsplit("/", 1)[-1])
    assert response.data["alt_text"] == "Front view"
    assert response.data["position"] == 0
    assert (response.data["width"], response.data["height"]) == (320, 240)
    assert (image.width, image.height) == (320, 240)
    assert default_storage.exists(image.image.name)
    assert (media_root / image.image.name).is_file()


def test_an_upload_goes_after_the_last_image_by_default(editor: APIClient) -> None:
    product = ProductFactory()
    stored_image(product, position=0)
    stored_image(product, position=5)
    stored_image(ProductFactory(), position=40)  # another product's images do not count

    response = editor.post(images_url(product), {"image": image_upload()}, format="multipart")

    assert response.status_code == 201, response.data
    assert response.data["position"] == 6


def test_an_upload_takes_the_position_it_is_given(editor: APIClient) -> None:
    product = ProductFactory()
    stored_image(product, position=3)

    response = editor.post(
        images_url(product), {"image": image_upload(), "position": 1}, format="multipart"
    )

    assert response.status_code == 201, response.data
    assert response.data["position"] == 1


def test_an_upload_marks_the_product_as_modified(editor: APIClient) -> None:
    product = ProductFactory()
    before = product.updated_at

    editor.post(images_url(product), {"image": image_upload()}, format="multipart")

    product.refresh_from_db()
    assert product.updated_at > before


def test_the_product_detail_lists_its_images_in_position_order(api_client: APIClient) -> None:
    product = ProductFactory()
    last = stored_image(product, position=2, alt_text="last")
    first = stored_image(product, position=0, alt_text="first")
    middle = stored_image(product, position=1, alt_text="middle")
    stored_image(ProductFactory(), position=0)

    response = api_client.get(product_url(product))

    assert response.status_code == 200
    assert [row["id"] for row in response.data["images"]] == [first.pk, middle.pk, last.pk]
    assert set(response.data["images"][0]) == IMAGE_FIELDS
    assert response.data["images"][0]["alt_text"] == "first"
    assert response.data["images"][0]["image"] == f"http://testserver{first.image.url}"


@pytest.mark.parametrize(
    ("image_format", "name", "extensions"),
    [("JPEG", "photo.png", {"jpg", "jpeg"}), ("PNG", "scan.pdf", {"png"})],
)
def test_the_stored_file_is_named_for_its_real_format_not_the_uploaded_name(
    editor: APIClient, image_format: str, name: str, extensions: set[str]
) -> None:
    # The extension is what a web server or storage bucket serves the Content-Type from: a
    # JPEG sent as "photo.png", or a PNG as "scan.pdf", must be stored under its real type.
    product = ProductFactory()

    response = editor.post(
        images_url(product), {"image": image_upload(image_format, name=name)}, format="multipart"
    )

    assert response.status_code == 201, response.data
    assert ProductImage.objects.get().image.name.rsplit(".", 1)[-1] in extensions


# --- refused uploads --------------------------------------------------------------------------


def assert_refused_on_image(response, media_root: Path) -> list[str]:  # type: ignore[no-untyped-def]
    """Assert a 400 in the API's error shape naming only ``image``; return its messages."""
    assert response.status_code == 400, response.data
    assert set(response.data) == ERROR_FIELDS
    assert response.data["status"] == 400
    assert response.data["code"] == "invalid"
    assert list(response.data["errors"]) == ["image"]
    assert not ProductImage.objects.exists()
    assert stored_files(media_root) == []
    return [str(message) for message in response.data["errors"]["image"]]


def test_a_text_file_named_png_is_refused(editor: APIClient, media_root: Path) -> None:
    fake = SimpleUploadedFile("photo.png", b"not a picture at all\n" * 20, "image/png")

    response = editor.post(images_url(ProductFactory()), {"image": fake}, format="multipart")

    messages = assert_refused_on_image(response, media_root)
    assert "valid image" in messages[0]


def test_a_gif_is_refused(editor: APIClient, media_root: Path) -> None:
    response = editor.post(
        images_url(ProductFactory()), {"image": image_upload("GIF")}, format="multipart"
    )

    messages = assert_refused_on_image(response, media_root)
    assert "GIF" in messages[0]


def test_an_image_too_small_is_refused(editor: APIClient, media_root: Path) -> None:
    response = editor.post(
        images_url(ProductFactory()), {"image": image_upload(size=(50, 50))}, format="multipart"
    )

    messages = assert_refused_on_image(response, media_root)
    assert "50x50" in messages[0]


def test_an_image_too_large_in_pixels_is_refused(editor: APIClient, media_root: Path) -> None:
    # One flat grey band compresses to a few hundred bytes.
    buffer = BytesIO()
    Image.new("L", (7000, 100)).save(buffer, "PNG")
    upload = SimpleUploadedFile("band.png", buffer.getvalue(), "image/png")

    response = editor.post(images_url(ProductFactory()), {"image": upload}, format="multipart")

    messages = assert_refused_on_image(response, media_root)
    assert "7000x100" in messages[0]


def test_a_header_claiming_a_huge_picture_is_refused_without_decoding(
    editor: APIClient, media_root: Path
) -> None:
    bomb = SimpleUploadedFile("bomb.png", png_header_claiming(60_000, 60_000), "image/png")

    response = editor.post(images_url(ProductFactory()), {"image": bomb}, format="multipart")

    assert_refused_on_image(response, media_root)


def test_a_file_over_the_byte_limit_is_refused(
    editor: APIClient,
    media_root: Path,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.CATALOGUE_IMAGE_MAX_BYTES = 2_000
    noise = Image.frombytes("L", (200, 200), os.urandom(200 * 200))
    buffer = BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 2_000
    upload = SimpleUploadedFile("noise.png", buffer.getvalue(), "image/png")

    response = editor.post(images_url(ProductFactory()), {"image": upload}, format="multipart")

    messages = assert_refused_on_image(response, media_root)
    assert "limit is 2,000" in messages[0]


def test_an_empty_file_is_refused(editor: APIClient, media_root: Path) -> None:
    empty = SimpleUploadedFile("empty.png", b"", "image/png")

    response = editor.post(images_url(ProductFactory()), {"image": empty}, format="multipart")

    assert_refused_on_image(response, media_root)


def test_an_upload_without_an_image_is_refused(editor: APIClient, media_root: Path) -> None:
    response = editor.post(
        images_url(ProductFactory()), {"alt_text": "nothing attached"}, format="multipart"
    )

    assert_refused_on_image(response, media_root)


# --- permissions ------------------------------------------------------------------------------


def test_anonymous_upload_is_a_401(api_client: APIClient, media_root: Path) -> None:
    response = api_client.post(
        images_url(ProductFactory()), {"image": image_upload()}, format="multipart"
    )

    assert response.status_code == 401
    assert set(response.data) == {"status", "code", "detail", "request_id"}
    assert not ProductImage.objects.exists()
    assert stored_files(media_root) == []


@pytest.mark.parametrize(
    "perms",
    [None, (), ("products.add_product", "products.delete_product", "products.view_product")],
    ids=["customer", "staff-without-perms", "staff-without-change-product"],
)
def test_customers_and_staff_who_may_not_change_products_cannot_upload(
    client_for: Callable[[User], APIClient],
    staff_with_perms,  # type: ignore[no-untyped-def]
    user: User,
    media_root: Path,
    perms: tuple[str, ...] | None,
) -> None:
    someone = user if perms is None else staff_with_perms(*perms)

    response = client_for(someone).post(
        images_url(ProductFactory()), {"image": image_upload()}, format="multipart"
    )

    assert response.status_code == 403
    assert not ProductImage.objects.exists()
    assert stored_files(media_root) == []


def test_customers_cannot_edit_or_delete_images(
    client_for: Callable[[User], APIClient], user: User
) -> None:
    image = stored_image(ProductFactory(), alt_text="kept")
    customer = client_for(user)

    edit = customer.patch(image_url(image), {"alt_text": "changed"})
    delete = customer.delete(image_url(image))

    assert (edit.status_code, delete.status_code) == (403, 403)
    image.refresh_from_db()
    assert image.alt_text == "kept"


def test_anyone_lists_the_images_of_an_active_product(api_client: APIClient) -> None:
    product = ProductFactory()
    second = stored_image(product, position=1)
    first = stored_image(product, position=0)
    stored_image(ProductFactory())

    response = api_client.get(images_url(product))

    assert response.status_code == 200
    assert [row["id"] for row in response.data] == [first.pk, second.pk]
    assert set(response.data[0]) == IMAGE_FIELDS


@pytest.mark.parametrize("hidden_by", ["product", "category"])
def test_images_of_an_inactive_product_are_404_to_shoppers_but_listed_for_editors(
    api_client: APIClient, editor: APIClient, hidden_by: str
) -> None:
    if hidden_by == "product":
        product = ProductFactory(is_active=False)
    else:
        product = ProductFactory(category=CategoryFactory(is_active=False))
    image = stored_image(product)

    hidden = api_client.get(images_url(product))
    shown = editor.get(images_url(product))

    assert hidden.status_code == 404
    assert hidden.data["code"] == "not_found"
    assert shown.status_code == 200
    assert [row["id"] for row in shown.data] == [image.pk]


def test_images_of_an_unknown_product_are_404(api_client: APIClient) -> None:
    response = api_client.get(reverse("v1:product-image-list", kwargs={"product_pk": 999_999}))

    assert response.status_code == 404


def test_the_image_list_takes_two_queries(api_client: APIClient, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory()
    for position in range(5):
        stored_image(product, position=position)

    with django_assert_num_queries(2):  # the visible product, its images
        response = api_client.get(images_url(product))

    assert len(response.data) == 5


# --- edits and deletion -----------------------------------------------------------------------


def test_staff_change_alt_text_and_position(editor: APIClient) -> None:
    image = stored_image(ProductFactory(), position=0, alt_text="old")

    response = editor.patch(image_url(image), {"alt_text": "Side view", "position": 4})

    assert response.status_code == 200, response.data
    assert response.data["alt_text"] == "Side view"
    assert response.data["position"] == 4
    image.refresh_from_db()
    assert (image.alt_text, image.position) == ("Side view", 4)


def test_an_edit_marks_the_product_as_modified(editor: APIClient) -> None:
    # Uploads and deletions touch the product's updated_at (its Last-Modified); an edit to an
    # image it shows must too, or clients revalidating with If-Modified-Since keep stale images.
    image = stored_image(ProductFactory(), alt_text="old")
    before = Product.objects.get(pk=image.product_id).updated_at

    response = editor.patch(image_url(image), {"alt_text": "new"})

    assert response.status_code == 200
    assert Product.objects.get(pk=image.product_id).updated_at > before


def test_the_image_itself_cannot_be_replaced_by_an_edit(
    editor: APIClient, media_root: Path
) -> None:
    image = stored_image(ProductFactory())
    files_before = stored_files(media_root)

    response = editor.patch(
        image_url(image),
        {"image": image_upload("JPEG", (400, 400)), "alt_text": "only this"},
        format="multipart",
    )

    assert response.status_code == 200, response.data
    assert response.data["alt_text"] == "only this"
    stored = ProductImage.objects.get(pk=image.pk)
    assert stored.image.name == image.image.name
    assert (stored.width, stored.height) == (200, 150)
    assert stored_files(media_root) == files_before


def test_an_edit_with_a_bad_position_is_refused(editor: APIClient) -> None:
    image = stored_image(ProductFactory(), position=2)

    response = editor.patch(image_url(image), {"position": -1})

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["position"]
    image.refresh_from_db()
    assert image.position == 2


def test_staff_delete_an_image_and_its_file_goes_after_commit(
    editor: APIClient,
    media_root: Path,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    image = stored_image(ProductFactory())
    kept = stored_image(image.product, position=1)
    path = media_root / image.image.name

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = editor.delete(image_url(image))

    assert response.status_code == 204
    assert len(callbacks) == 1
    assert not ProductImage.objects.filter(pk=image.pk).exists()
    assert not path.exists()
    assert not default_storage.exists(image.image.name)
    assert (media_root / kept.image.name).is_file()


def test_the_file_stays_until_the_deletion_commits(
    editor: APIClient,
    media_root: Path,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    image = stored_image(ProductFactory())
    path = media_root / image.image.name

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = editor.delete(image_url(image))

    assert response.status_code == 204
    assert path.is_file()  # a rolled-back deletion must not lose the picture
    for callback in callbacks:
        callback()
    assert not path.exists()


def test_deleting_a_product_deletes_its_image_files_after_commit(
    client_for: Callable[[User], APIClient],
    staff_with_perms,  # type: ignore[no-untyped-def]
    media_root: Path,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # The rows go by CASCADE; their files must not stay behind in storage for ever.
    product = ProductFactory()
    paths = [media_root / stored_image(product, position=n).image.name for n in range(2)]
    staff = client_for(staff_with_perms("products.delete_product"))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.delete(product_url(product))

    assert response.status_code == 204
    assert not ProductImage.objects.exists()
    assert [path for path in paths if path.exists()] == []


def test_an_image_cannot_be_reached_through_another_product(editor: APIClient) -> None:
    image = stored_image(ProductFactory())
    other = ProductFactory()
    url = reverse("v1:product-image-detail", kwargs={"product_pk": other.pk, "pk": image.pk})

    edit = editor.patch(url, {"alt_text": "hijacked"})
    delete = editor.delete(url)

    assert (edit.status_code, delete.status_code) == (404, 404)
    image.refresh_from_db()
    assert image.alt_text == ""


# --- admin ------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client, superuser: User) -> Client:
    client.force_login(superuser)
    return client


def product_change_form(product: Product, **overrides: str) -> dict[str, str]:
    """Return the admin change form's data for ``product`` and an empty image inline."""
    return {
        "name": product.name,
        "slug": product.slug,
        "sku": product.sku,
        "category": str(product.category_id),
        "description": product.description,
        "price": str(product.price),
        "stock": str(product.stock),
        "is_active": "on",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        **overrides,
    }


def test_the_product_change_page_shows_the_image_inline_with_previews(
    admin_client: Client,
) -> None:
    product = ProductFactory()
    second = stored_image(product, position=1, alt_text="Back")
    first = stored_image(product, position=0, alt_text="Front")

    response = admin_client.get(reverse("admin:products_product_change", args=[product.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="images-TOTAL_FORMS" value="2"' in page
    assert 'name="images-0-alt_text"' in page
    assert 'name="images-0-position"' in page
    assert f'<img src="{first.image.url}" alt="Front"' in page
    assert f'<img src="{second.image.url}" alt="Back"' in page
    assert page.index(first.image.url) < page.index(second.image.url)
    formset = response.context["inline_admin_formsets"][0].formset
    assert [form.instance for form in formset.forms] == [first, second]  # no extra blank form


def test_the_preview_escapes_the_alt_text(admin_client: Client) -> None:
    product = ProductFactory()
    stored_image(product, alt_text='"><script>alert(1)</script>')

    response = admin_client.get(reverse("admin:products_product_change", args=[product.pk]))

    assert b"<script>alert(1)" not in response.content
    assert b"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_the_product_add_page_shows_an_empty_image_inline(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:products_product_add"))

    assert response.status_code == 200
    assert b'name="images-TOTAL_FORMS" value="0"' in response.content


def test_an_image_uploaded_in_the_admin_meets_the_api_rules(
    admin_client: Client, media_root: Path
) -> None:
    product = ProductFactory()
    change_url = reverse("admin:products_product_change", args=[product.pk])

    refused = admin_client.post(
        change_url,
        product_change_form(
            product,
            **{"images-TOTAL_FORMS": "1", "images-0-alt_text": "", "images-0-position": "0"},
        )
        | {"images-0-image": image_upload("GIF")},  # type: ignore[dict-item]
    )
    accepted = admin_client.post(
        change_url,
        product_change_form(
            product,
            **{"images-TOTAL_FORMS": "1", "images-0-alt_text": "Top", "images-0-position": "0"},
        )
        | {"images-0-image": image_upload("PNG", (300, 300))},  # type: ignore[dict-item]
    )

    assert refused.status_code == 200
    assert "GIF" in str(refused.context["inline_admin_formsets"][0].formset.errors)
    assert accepted.status_code == 302
    image = ProductImage.objects.get(product=product)
    assert (image.alt_text, image.width, image.height) == ("Top", 300, 300)
    assert stored_files(media_root) == [media_root / image.image.name]


def test_an_image_deleted_in_the_admin_loses_its_file_after_commit(
    admin_client: Client,
    media_root: Path,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    product = ProductFactory()
    image = stored_image(product, alt_text="Old")
    path = media_root / image.image.name

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:products_product_change", args=[product.pk]),
            product_change_form(
                product,
                **{
                    "images-TOTAL_FORMS": "1",
                    "images-INITIAL_FORMS": "1",
                    "images-0-id": str(image.pk),
                    "images-0-product": str(product.pk),
                    "images-0-alt_text": "Old",
                    "images-0-position": "0",
                    "images-0-DELETE": "on",
                },
            ),
        )

    assert response.status_code == 302
    assert not ProductImage.objects.exists()
    assert not path.exists()


# --- settings ---------------------------------------------------------------------------------


def test_production_reads_the_media_storage_from_the_environment() -> None:
    base_dir = Path(django_settings.BASE_DIR)
    environment = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    for line in (base_dir / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            environment[key] = value

    def backend(**overrides: str) -> str:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from django.conf import settings; "
                "print(settings.STORAGES['default']['BACKEND'])",
            ],
            cwd=base_dir,
            env={**environment, **overrides},
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    assert backend() == "django.core.files.storage.FileSystemStorage"
    assert backend(DJANGO_MEDIA_STORAGE="example.storage.Elsewhere") == "example.storage.Elsewhere"
