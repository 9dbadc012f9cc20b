"""Uploaded swatch pictures (a fabric, a pattern), with Pillow: checked, then stored as a small
clean PNG made from their pixels, never the client's bytes.

Swatches are shown as thumbnails: a smaller policy than the product images'
(``apps.products.images``, above this app's layer): at most ``SWATCH_MAX_BYTES`` and
``SWATCH_MAX_PIXELS_SIDE`` pixels a side as uploaded, stored at most ``SWATCH_STORED_SIDE``.
"""

from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

SWATCH_MAX_BYTES = 1024 * 1024
SWATCH_MAX_PIXELS_SIDE = 2000
SWATCH_STORED_SIDE = 256


def validate_swatch_image(upload: Any) -> SimpleUploadedFile:
    """Return a clean PNG copy of ``upload`` if it is an accepted picture, else raise a
    ValidationError saying why. Size, format and dimensions are checked from the header before
    any pixel is decoded."""
    if upload.size > SWATCH_MAX_BYTES:
        raise ValidationError(
            f"The file is {upload.size:,} bytes; a swatch is at most {SWATCH_MAX_BYTES:,}."
        )
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    # Imported here: Pillow adds 4 MB to every web worker, and only uploads use it.
    from PIL import Image  # noqa: PLC0415

    try:
        # Reads the header only: the format and size, no pixels.
        picture = Image.open(BytesIO(data))
    except Exception as error:
        # Pillow's parsers raise many types on hostile input (see apps.products.images).
        raise ValidationError("The file is not a readable image.") from error
    with picture:
        formats = settings.CATALOGUE_IMAGE_FORMATS
        if picture.format not in formats:
            raise ValidationError(
                f"{picture.format} images are not accepted; use {', '.join(formats)}."
            )
        width, height = picture.size
        if max(width, height) > SWATCH_MAX_PIXELS_SIDE:
            raise ValidationError(
                f"The image is {width}x{height} pixels; a swatch is at most "
                f"{SWATCH_MAX_PIXELS_SIDE} a side."
            )
        try:
            picture.load()
            picture.thumbnail((SWATCH_STORED_SIDE, SWATCH_STORED_SIDE))
            clean = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
        except Exception as error:
            raise ValidationError("The image is truncated or corrupt.") from error
    output = BytesIO()
    clean.save(output, format="PNG", optimize=True)
    return SimpleUploadedFile("swatch.png", output.getvalue(), content_type="image/png")
