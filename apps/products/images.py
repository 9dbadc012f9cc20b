"""Checks on uploaded product images, with Pillow: type, size and dimensions."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

# The file extension for each accepted format.
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "AVIF": "avif"}


def validate_product_image(upload: Any) -> Any:
    """Return ``upload`` if it is an accepted image, else raise a ValidationError saying why.

    Only the header is read for the format and dimensions, so an oversized picture is refused
    before any pixel is decoded; then the whole file is verified. The file is renamed after its
    real format, so that it is stored and served as what it is, whatever the client called it.
    """
    # Imported here: Pillow adds 4 MB to every web worker, and only uploads use it.
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    limit = settings.CATALOGUE_IMAGE_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(f"The file is {upload.size:,} bytes; the limit is {limit:,}.")
    try:
        upload.seek(0)
        with Image.open(upload) as picture:
            image_format, (width, height) = picture.format, picture.size
            picture.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValidationError("The file is not a readable image.") from error
    finally:
        upload.seek(0)
    formats = settings.CATALOGUE_IMAGE_FORMATS
    if image_format not in formats or image_format not in EXTENSIONS:
        raise ValidationError(f"{image_format} images are not accepted; use {', '.join(formats)}.")
    largest, smallest = (
        settings.CATALOGUE_IMAGE_MAX_PIXELS_SIDE,
        settings.CATALOGUE_IMAGE_MIN_PIXELS_SIDE,
    )
    if max(width, height) > largest or min(width, height) < smallest:
        raise ValidationError(
            f"The image is {width}x{height} pixels; each side must be {smallest} to {largest}."
        )
    upload.name = f"image.{EXTENSIONS[image_format]}"
    return upload
