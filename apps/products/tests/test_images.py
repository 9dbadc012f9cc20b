"""Product images: upload, validation, permissions, edits, deletion and the admin inline."""

import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import ExifTags, Image, ImageCms, ImageFile, PngImagePlugin
from rest_framework.test import APIClient

from apps.products.models import Product, ProductImage
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.products.tests.helpers import EXTENSIONS, image_bytes, image_upload, stored_image
from apps.users.models import User

pytestmark = pytest.mark.django_db

ERROR_FIELDS = {"status", "code", "detail", "errors", "request_id"}
IMAGE_FIELDS = {"id", "image", "alt_text", "position", "width", "height", "created_at"}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Store every uploaded file under the test's own folder, never in the repository."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def editor(client_for: Callable[[User], APIClient], staff_with_perms) -> APIClient:  # type: ignore[no-untyped-def]
    return client_for(staff_with_perms("products.change_product"))


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


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What a polyglot appends to a picture, for a browser that sniffs the file as a page.
HTML_PAYLOAD = b"<html><body><script>alert(document.cookie)</script></body></html>"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_claiming(width: int, height: int) -> bytes:
    """Return a PNG signature and header for a picture of that size, and no pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IEND", b"")


def grey_png_holding(width: int, height: int, pixel_data: bytes) -> bytes:
    """Return a well-framed grey PNG of that size (every chunk and checksum right) whose one
    IDAT chunk holds ``pixel_data``, whatever that is."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixel_data)
        + png_chunk(b"IEND", b"")
    )


def truncated_png(width: int = 6000, height: int = 6000) -> bytes:
    """Return a PNG whose header claims ``width`` x ``height`` over half the pixel data."""
    rows = zlib.compress(bytes((width + 1) * height))  # each row: a filter byte, then black
    return grey_png_holding(width, height, rows[: len(rows) // 2])


def stored_bytes(media_root: Path, image: ProductImage) -> bytes:
    return (media_root / image.image.name).read_bytes()


def decoded(data: bytes) -> Image.Image:
    """Return the image in ``data`` with every pixel decoded (a truncated file raises)."""
    picture = Image.open(BytesIO(data))
    picture.load()
    return picture


def assert_colour_close(pixel: Any, expected: tuple[int, ...], tolerance: int = 8) -> None:
    assert all(abs(got - want) <= tolerance for got, want in zip(pixel, expected, strict=True)), (
        pixel,
        expected,
    )


def halves(image_format: str, size: tuple[int, int] = (300, 200), **options: Any) -> bytes:
    """Return a picture red on its left half and blue on its right, written with ``options``."""
    picture = Image.new("RGB", size, (0, 0, 255))
    picture.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    buffer = BytesIO()
    picture.save(buffer, image_format, **options)
    return buffer.getvalue()


def swapped_primaries_profile() -> bytes:
    """Return an ICC v2 RGB profile with sRGB's red and green primaries swapped: a pixel it
    calls pure red is, in sRGB, pure green. Only a real conversion makes the difference."""

    def s15fixed16(*values: float) -> bytes:
        return b"".join(struct.pack(">i", round(value * 65536)) for value in values)

    def xyz(*values: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15fixed16(*values)

    name = b"Swapped primaries\0"
    description = b"desc\0\0\0\0" + struct.pack(">I", len(name)) + name + bytes(8 + 3 + 67)
    gamma = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    d50 = (0.9642, 1.0, 0.8249)
    tags = [
        (b"desc", description),
        (b"wtpt", xyz(*d50)),
        (b"rXYZ", xyz(0.3851, 0.7169, 0.0971)),  # sRGB's green, adapted to D50
        (b"gXYZ", xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    offset, table, body = 128 + 4 + 12 * len(tags), b"", b""
    for signature, data in tags:
        padded = data + bytes(-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(padded))
        body += padded
    header = (
        struct.pack(">I", offset + len(body))
        + b"none\x02\x10\0\0mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(24)
        + struct.pack(">I", 0)
        + s15fixed16(*d50)
        + bytes(48)
    )
    return header + struct.pack(">I", len(tags)) + table + body


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
    stored = decoded(stored_bytes(media_root, image))
    assert (stored.format, stored.size) == (image_format, (320, 240))


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


# --- what is stored: the decoded pixels, re-encoded, and nothing else ---------------------


def test_a_png_whose_header_claims_more_than_its_body_holds_is_refused(
    editor: APIClient, media_root: Path
) -> None:
    # Every chunk is well formed, so reading the header and checking the chunks passes: only
    # decoding the pixels finds that half of them are missing.
    upload = SimpleUploadedFile("cut.png", truncated_png(6000, 6000), "image/png")

    response = editor.post(images_url(ProductFactory()), {"image": upload}, format="multipart")

    messages = assert_refused_on_image(response, media_root)
    assert messages == ["The image is truncated or corrupt: its pixels cannot be decoded."]


def corrupt_png() -> bytes:
    # A deflate stream whose first block has the reserved type 3: no decoder gets a pixel out.
    return grey_png_holding(200, 150, b"\x78\x9c" + b"\xff" * 200)


def truncated_jpeg() -> bytes:
    buffer = BytesIO()
    Image.effect_noise((300, 300), 40).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


@pytest.mark.parametrize(
    ("name", "make"), [("corrupt.png", corrupt_png), ("cut.jpg", truncated_jpeg)]
)
def test_an_image_whose_pixels_cannot_be_decoded_is_refused(
    editor: APIClient, media_root: Path, name: str, make: Callable[[], bytes]
) -> None:
    upload = SimpleUploadedFile(name, make(), "application/octet-stream")

    response = editor.post(images_url(ProductFactory()), {"image": upload}, format="multipart")

    messages = assert_refused_on_image(response, media_root)
    assert "truncated or corrupt" in messages[0]


def test_the_limits_are_checked_before_any_pixel_is_decoded(
    editor: APIClient,
    media_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    decoded_sizes: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def recording_load(picture: ImageFile.ImageFile) -> Any:
        decoded_sizes.append(picture.size)
        return load(picture)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    settings.CATALOGUE_IMAGE_MAX_BYTES = 20_000
    heavy = BytesIO()
    Image.frombytes("L", (200, 200), os.urandom(200 * 200)).save(heavy, "PNG")
    wide = BytesIO()
    Image.new("L", (7000, 100)).save(wide, "PNG")  # a few hundred bytes
    product = ProductFactory()

    for name, data in [
        ("bomb.png", png_header_claiming(60_000, 60_000)),
        ("wide.png", wide.getvalue()),
        ("heavy.png", heavy.getvalue()),
    ]:
        upload = SimpleUploadedFile(name, data, "image/png")
        response = editor.post(images_url(product), {"image": upload}, format="multipart")
        assert response.status_code == 400, (name, response.data)
        assert list(response.data["errors"]) == ["image"]
    assert decoded_sizes == []

    # The recorder does see a decoding: an image within the limits is decoded in full.
    within = BytesIO()
    Image.new("L", (6000, 100)).save(within, "PNG")
    upload = SimpleUploadedFile("within.png", within.getvalue(), "image/png")
    accepted = editor.post(images_url(product), {"image": upload}, format="multipart")
    assert accepted.status_code == 201, accepted.data
    assert set(decoded_sizes) == {(6000, 100)}


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_bytes_appended_to_an_image_are_not_stored(
    editor: APIClient, media_root: Path, image_format: str
) -> None:
    upload = image_bytes(image_format, (200, 150)) + HTML_PAYLOAD

    response = editor.post(
        images_url(ProductFactory()),
        {"image": SimpleUploadedFile(f"photo.{EXTENSIONS[image_format]}", upload)},
        format="multipart",
    )

    assert response.status_code == 201, response.data
    stored = stored_bytes(media_root, ProductImage.objects.get())
    assert stored != upload
    assert b"<script" not in stored
    picture = decoded(stored)
    assert (picture.format, picture.size) == (image_format, (200, 150))


def exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Hidden Camera Co"
    exif[ExifTags.Base.DateTime] = "2026:03:04 05:06:07"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (51.0, 30.0, 26.0),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (0.0, 7.0, 39.0),
    }
    return exif


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-xmp-packet</x:xmpmeta>'
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def image_with_metadata(image_format: str) -> bytes:
    """Return a picture carrying every kind of metadata ``image_format`` holds."""
    options: dict[str, Any] = {"exif": exif_with_gps().tobytes(), "icc_profile": SRGB_PROFILE}
    if image_format == "JPEG":
        options |= {"xmp": XMP, "comment": b"secret comment"}
    elif image_format == "WEBP":
        options |= {"xmp": XMP}
    else:
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "secret text")
        text.add_text("Author", "secret compressed text", zip=True)
        text.add_itxt("XML:com.adobe.xmp", XMP.decode())
        options |= {"pnginfo": text}
    buffer = BytesIO()
    Image.new("RGB", (200, 150), "teal").save(buffer, image_format, **options)
    return buffer.getvalue()


# Where each format keeps metadata: none of these may be left in a stored file.
METADATA_MARKERS = {
    "JPEG": [b"Exif\0\0", b"http://ns.adobe.com/xap/1.0/", b"ICC_PROFILE"],
    "PNG": [b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"],
    "WEBP": [b"EXIF", b"XMP ", b"ICCP"],
}
METADATA_KEYS = {"exif", "xmp", "icc_profile", "comment", "Comment", "Author", "XML:com.adobe.xmp"}


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_metadata_gps_included_is_not_stored(
    editor: APIClient, media_root: Path, image_format: str
) -> None:
    upload = image_with_metadata(image_format)
    sent = Image.open(BytesIO(upload))
    assert sent.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert {"exif", "icc_profile"} <= set(sent.info)

    response = editor.post(
        images_url(ProductFactory()),
        {"image": SimpleUploadedFile(f"photo.{EXTENSIONS[image_format]}", upload)},
        format="multipart",
    )

    assert response.status_code == 201, response.data
    stored = stored_bytes(media_root, ProductImage.objects.get())
    for secret in [b"Hidden Camera Co", b"2026:03:04", b"secret", *METADATA_MARKERS[image_format]]:
        assert secret not in stored
    picture = decoded(stored)
    assert not METADATA_KEYS & set(picture.info)
    assert dict(picture.getexif()) == {}
    assert_colour_close(picture.getpixel((100, 75)), (0, 128, 128))


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_the_exif_orientation_is_applied_before_it_is_dropped(
    editor: APIClient, media_root: Path, image_format: str
) -> None:
    # Stored 300x200, left half red; orientation 6 says "turn 90 degrees clockwise to show",
    # so the picture is 200x300 with red on top, as a camera held upright took it.
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    upload = halves(image_format, (300, 200), exif=exif.tobytes())

    response = editor.post(
        images_url(ProductFactory()),
        {"image": SimpleUploadedFile(f"photo.{EXTENSIONS[image_format]}", upload)},
        format="multipart",
    )

    assert response.status_code == 201, response.data
    assert (response.data["width"], response.data["height"]) == (200, 300)
    image = ProductImage.objects.get()
    assert (image.width, image.height) == (200, 300)
    picture = decoded(stored_bytes(media_root, image))
    assert picture.size == (200, 300)
    assert ExifTags.Base.Orientation not in picture.getexif()
    assert_colour_close(picture.getpixel((100, 20)), (255, 0, 0))
    assert_colour_close(picture.getpixel((100, 280)), (0, 0, 255))


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_only_the_first_frame_of_an_animation_is_stored(
    editor: APIClient, media_root: Path, image_format: str
) -> None:
    buffer = BytesIO()
    Image.new("RGB", (200, 150), (255, 0, 0)).save(
        buffer,
        image_format,
        save_all=True,
        append_images=[Image.new("RGB", (200, 150), (0, 0, 255))],
        duration=100,
    )
    assert Image.open(BytesIO(buffer.getvalue())).n_frames == 2

    response = editor.post(
        images_url(ProductFactory()),
        {"image": SimpleUploadedFile(f"moving.{EXTENSIONS[image_format]}", buffer.getvalue())},
        format="multipart",
    )

    assert response.status_code == 201, response.data
    picture = decoded(stored_bytes(media_root, ProductImage.objects.get()))
    assert getattr(picture, "n_frames", 1) == 1
    assert_colour_close(picture.getpixel((100, 75)), (255, 0, 0))


def test_a_cmyk_jpeg_is_stored_as_rgb(editor: APIClient, media_root: Path) -> None:
    # Print workflows make CMYK JPEGs; several browsers show them with wrong colours or not at all.
    buffer = BytesIO()
    Image.new("CMYK", (200, 150), (0, 255, 255, 0)).save(buffer, "JPEG")

    response = editor.post(
        images_url(ProductFactory()),
        {"image": SimpleUploadedFile("print.jpg", buffer.getvalue())},
        format="multipart",
    )

    assert response.status_code == 201, response.data
    picture = decoded(stored_bytes(media_root, ProductImage.objects.get()))
    assert (picture.format, picture.mode) == ("JPEG", "RGB")
    assert_colour_close(picture.getpixel((100, 75)), (255, 0, 0))


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_colours_in_another_profile_are_converted_to_srgb_and_the_profile_dropped(
    editor: APIClient, media_root: Path, image_format: str
) -> None:
    buffer = BytesIO()
    Image.new("RGB", (200, 150), (255, 0, 0)).save(
        buffer, image_format, icc_profile=swapped_primaries_profile()
    )

    response = editor.post(
        images_url(ProductFactory()),
        {"image": SimpleUploadedFile(f"wide.{EXTENSIONS[image_format]}", buffer.getvalue())},
        format="multipart",
    )

    assert response.status_code == 201, response.data
    picture = decoded(stored_bytes(media_root, ProductImage.objects.get()))
    assert "icc_profile" not in picture.info
    # What the profile called red is sRGB's green: shown without a profile, it stays green.
    assert_colour_close(picture.getpixel((100, 75)), (0, 255, 0))


def test_an_image_that_re_encodes_over_the_byte_limit_is_refused(
    editor: APIClient,
    media_root: Path,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    # Noise at WebP's lowest quality is small; at the quality we store lossy WebPs it is not.
    settings.CATALOGUE_IMAGE_MAX_BYTES = 10_000
    buffer = BytesIO()
    Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)).save(buffer, "WEBP", quality=1)
    assert len(buffer.getvalue()) < 10_000  # about 7,500; stored at quality 80, 15,000

    response = editor.post(
        images_url(ProductFactory()),
        {"image": SimpleUploadedFile("noise.webp", buffer.getvalue())},
        format="multipart",
    )

    messages = assert_refused_on_image(response, media_root)
    assert "Re-encoded, the image takes more than the limit of 10,000 bytes" in messages[0]


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


def product_change_form(product: Product, **overrides: str) -> dict[str, str]:
    """Return the admin change form's data for ``product``, an empty image inline and its one
    variant unchanged."""
    variant = product.variants.get()
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
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "1",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-id": str(variant.pk),
        "variants-0-product": str(product.pk),
        "variants-0-sku": variant.sku,
        "variants-0-price": str(variant.price),
        "variants-0-stock": str(variant.stock),
        "variants-0-is_active": "on",
        "variants-0-position": str(variant.position),
        "variants-0-option_ids": "",
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


def test_the_admin_refuses_a_truncated_image_and_stores_a_clean_copy_of_a_good_one(
    admin_client: Client, media_root: Path
) -> None:
    product = ProductFactory()
    change_url = reverse("admin:products_product_change", args=[product.pk])
    form = product_change_form(
        product, **{"images-TOTAL_FORMS": "1", "images-0-alt_text": "", "images-0-position": "0"}
    )
    good = image_bytes("PNG", (300, 300)) + HTML_PAYLOAD

    refused = admin_client.post(
        change_url,
        form | {"images-0-image": SimpleUploadedFile("cut.png", truncated_png(), "image/png")},  # type: ignore[dict-item]
    )

    assert refused.status_code == 200
    assert "truncated or corrupt" in str(refused.context["inline_admin_formsets"][0].formset.errors)
    assert not ProductImage.objects.exists()
    assert stored_files(media_root) == []

    accepted = admin_client.post(
        change_url,
        form | {"images-0-image": SimpleUploadedFile("good.png", good, "image/png")},  # type: ignore[dict-item]
    )

    assert accepted.status_code == 302
    image = ProductImage.objects.get(product=product)
    stored = stored_bytes(media_root, image)
    assert stored != good
    assert b"<script" not in stored
    assert decoded(stored).size == (image.width, image.height) == (300, 300)


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
