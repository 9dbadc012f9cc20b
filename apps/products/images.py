"""Uploaded product images, with Pillow: checks on type, size and dimensions, and the clean copy
of each that is stored instead of the client's bytes."""

from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

if TYPE_CHECKING:
    from PIL import Image

# The formats this module can re-encode (CATALOGUE_IMAGE_FORMATS picks among them): the file
# extension and Content-Type of each.
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

# The modes each format is written in as they are; any other mode is converted first.
ENCODABLE_MODES = {
    "JPEG": {"L", "RGB"},
    "PNG": {"1", "L", "LA", "I", "I;16", "I;16B", "P", "RGB", "RGBA"},
    "WEBP": {"RGB", "RGBA"},
}
# A JPEG is written with its own quantization tables; one whose tables cannot be reused (it
# changed mode, or the encoder refuses them) at this quality.
JPEG_QUALITY = 90
# A lossy WebP cannot tell the quality it was made at: libwebp's and Pillow's default, which
# most WebPs are made at, keeps the copy about the size of the upload.
WEBP_QUALITY = 80
# A lossless WebP stays lossless, at libwebp's fastest effort: 1 to 2 s of CPU at 6000x6000,
# where its default effort takes over 10 s and 650 MB more, for a copy about a third larger.
WEBP_LOSSLESS = {"lossless": True, "quality": 0, "method": 0}

UNREADABLE = "The file is not a readable image."
CORRUPT = "The image is truncated or corrupt: its pixels cannot be decoded."

_ORIENTATION_TAG = 0x0112  # EXIF Orientation


@dataclass(frozen=True)
class _Source:
    """What the encoder reuses of the uploaded file once its pixels are decoded."""

    format: str
    mode: str
    jpeg_tables: Any = None
    jpeg_subsampling: int = -1
    webp_lossless: bool = False


def validate_product_image(upload: Any) -> SimpleUploadedFile:
    """Return a clean copy of ``upload`` if it is an accepted image, else raise a
    ValidationError saying why.

    The byte size, the format and the dimensions the header claims are checked before any pixel
    is decoded, so a decompression bomb is refused for its header alone. Then the first frame is
    decoded in full (a truncated or corrupt file fails here), turned upright as its EXIF says,
    its colours converted to sRGB and its mode to one the format holds, and re-encoded in the
    format it came in with no metadata: no EXIF (GPS included), XMP, text chunks, comments or
    colour profile, and nothing the client appended. The copy is named after its format, so it
    is stored and served as what it is, whatever the client called it.
    """
    limit = settings.CATALOGUE_IMAGE_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(f"The file is {upload.size:,} bytes; the limit is {limit:,}.")
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    picture, source = _decoded(data)
    picture = _prepared(picture, source.format)
    try:
        encoded = _encode(picture, source, limit)
    finally:
        picture.close()  # its memory goes now, not whenever the collector runs
    return SimpleUploadedFile(
        f"image.{EXTENSIONS[source.format]}", encoded, content_type=CONTENT_TYPES[source.format]
    )


def _decoded(data: bytes) -> tuple["Image.Image", _Source]:
    """Return the first frame of the image in ``data``, decoded, and what the encoder reuses of
    the file; refuse it if its header is unreadable or out of bounds, or its pixels corrupt."""
    # Imported here: Pillow adds 4 MB to every web worker, and only uploads use it.
    from PIL import Image, JpegImagePlugin  # noqa: PLC0415

    try:
        # Reads the header only: the format and size, no pixels.
        opened = Image.open(BytesIO(data))
    except Exception as error:
        # Pillow's parsers raise many types on hostile input (OSError, SyntaxError, ValueError,
        # IndexError, struct.error, DecompressionBombError): each means "not an image we read".
        raise ValidationError(UNREADABLE) from error
    with opened:
        image_format = opened.format or ""
        _check_format_and_dimensions(image_format, *opened.size)
        try:
            opened.seek(0)  # the first frame only, of an animated PNG or WebP
            opened.load()
        except Exception as error:  # as above: a decoder's error is the file's
            raise ValidationError(CORRUPT) from error
        source = _Source(
            format=image_format,
            mode=opened.mode,
            jpeg_tables=getattr(opened, "quantization", None),
            jpeg_subsampling=JpegImagePlugin.get_sampling(opened),
            webp_lossless=image_format == "WEBP" and _webp_is_lossless(data),
        )
        if image_format == "WEBP":
            # Pillow's WebP decoder keeps two more copies of the frame (its canvases) for as
            # long as the file object lives: a copy of the pixels lets them go when this
            # returns, about 270 MB at the largest size allowed.
            return opened.copy(), source
        return opened, source  # leaving the block closes the file, not the decoded pixels


def _check_format_and_dimensions(image_format: str, width: int, height: int) -> None:
    formats = settings.CATALOGUE_IMAGE_FORMATS
    if image_format not in formats or image_format not in CONTENT_TYPES:
        raise ValidationError(f"{image_format} images are not accepted; use {', '.join(formats)}.")
    largest, smallest = (
        settings.CATALOGUE_IMAGE_MAX_PIXELS_SIDE,
        settings.CATALOGUE_IMAGE_MIN_PIXELS_SIDE,
    )
    if max(width, height) > largest or min(width, height) < smallest:
        raise ValidationError(
            f"The image is {width}x{height} pixels; each side must be {smallest} to {largest}."
        )


def _prepared(picture: "Image.Image", image_format: str) -> "Image.Image":
    """Return ``picture`` upright, in sRGB and in a mode ``image_format`` holds.

    A step that makes a new image closes the one before, so that no more than two copies of
    the pixels are held at once: at 6000x6000 a copy takes 144 MB.
    """
    for step in (_upright, _in_srgb, lambda image: _encodable(image, image_format)):
        result = step(picture)
        if result is not picture:
            picture.close()
            picture = result
    return picture


def _upright(picture: "Image.Image") -> "Image.Image":
    """Return ``picture`` turned as its EXIF Orientation says, before that tag is dropped."""
    from PIL import Image  # noqa: PLC0415  # lazily, as in _decoded

    try:
        orientation = picture.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:
        # Broken EXIF is common in camera files and says nothing about the pixels: show as is.
        return picture
    turn = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    if turn is None:
        return picture
    turned = picture.transpose(turn)
    turned.info = picture.info  # the transparency (and profile) belong to the turned pixels too
    return turned


def _in_srgb(picture: "Image.Image") -> "Image.Image":
    """Return ``picture`` with its colours in sRGB, what a browser assumes of an image with no
    colour profile.

    The profile itself is never stored: it is an arbitrary blob of up to megabytes, with text
    tags of the client's choosing. Dropping it without converting would shift the colours of
    every photo taken in Display P3 (phones) or Adobe RGB (cameras); converting keeps them
    right on every screen, at the cost of colours outside sRGB, which most screens cannot show
    anyway. Greyscale and palette images keep their values: a grey profile differs from sRGB
    by a tone curve at most.
    """
    from PIL import ImageCms  # noqa: PLC0415  # lazily, as in _decoded

    icc_profile = picture.info.get("icc_profile")
    if icc_profile and picture.mode in ("RGB", "RGBA", "CMYK"):
        try:
            profile = ImageCms.ImageCmsProfile(BytesIO(icc_profile))
            already_srgb = "sRGB" in ImageCms.getProfileDescription(profile)
            if picture.mode == "CMYK" or not already_srgb:
                converted = ImageCms.profileToProfile(
                    picture,
                    profile,
                    ImageCms.createProfile("sRGB"),
                    outputMode="RGBA" if picture.mode == "RGBA" else "RGB",
                )
                assert converted is not None  # not in place: profileToProfile returns the copy
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a profile lcms cannot read, or not for these pixels: take them as sRGB
    if picture.mode == "CMYK":
        return picture.convert("RGB")
    return picture


def _encodable(picture: "Image.Image", image_format: str) -> "Image.Image":
    """Return ``picture`` in a mode ``image_format`` can be written in, converted if need be."""
    from PIL import Image  # noqa: PLC0415  # lazily, as in _decoded

    if picture.mode in ENCODABLE_MODES[image_format]:
        return picture
    if image_format == "JPEG" and picture.has_transparency_data:
        # JPEG has no alpha: transparent parts are laid over white, as a product page shows them.
        with_alpha = picture.convert("RGBA")
        flattened = Image.new("RGB", with_alpha.size, "white")
        flattened.paste(with_alpha, mask=with_alpha.getchannel("A"))
        return flattened
    if image_format == "JPEG":
        return picture.convert("L" if picture.mode in ("1", "I", "I;16", "F") else "RGB")
    return picture.convert("RGBA" if picture.has_transparency_data else "RGB")


def _encode(picture: "Image.Image", source: _Source, limit: int) -> bytes:
    """Return ``picture`` written in the format it came in, with no metadata, within ``limit``
    bytes."""
    # Each writer also reads some keys from the image's own info (a JPEG's comment, a PNG's
    # profile): with none left, only what is passed here is written.
    transparency = picture.info.get("transparency")
    picture.info = {}
    attempts: list[dict[str, Any]] = []
    if source.format == "JPEG":
        if source.jpeg_tables and picture.mode == source.mode:
            # The upload's own tables and chroma subsampling: the copy keeps its quality and
            # about its size, where one fixed quality would bloat some photos and blur others.
            attempts.append({"qtables": source.jpeg_tables, "subsampling": source.jpeg_subsampling})
        # With no tables to reuse, or tables the encoder refuses (they are the client's).
        attempts.append({"quality": JPEG_QUALITY})
        attempts = [{**options, "optimize": True} for options in attempts]
    elif source.format == "PNG":
        # Which pixels are transparent, in a palette, grey or RGB image: pixel data, kept.
        attempts.append({} if transparency is None else {"transparency": transparency})
    else:
        attempts.append(WEBP_LOSSLESS if source.webp_lossless else {"quality": WEBP_QUALITY})
    for options in attempts[:-1]:
        try:
            return _write(picture, source.format, options, limit)
        except (ValueError, OSError):
            continue
    return _write(picture, source.format, attempts[-1], limit)


def _write(picture: "Image.Image", image_format: str, options: dict[str, Any], limit: int) -> bytes:
    buffer = _CappedBuffer(limit)
    try:
        picture.save(buffer, image_format, **options)
    except _TooLarge as error:
        # What is stored and served keeps to the limit on what is accepted.
        raise ValidationError(
            f"Re-encoded, the image takes more than the limit of {limit:,} bytes; "
            "send it with fewer pixels, or as a JPEG."
        ) from error
    return buffer.getvalue()


def _webp_is_lossless(data: bytes) -> bool:
    """Return whether a WebP file's first image is lossless (VP8L), from its RIFF chunks."""
    position = 12  # after "RIFF", the file's size and "WEBP"
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        size = int.from_bytes(data[position + 4 : position + 8], "little")
        if kind == b"VP8L":
            return True
        if kind == b"VP8 ":
            return False
        if kind == b"ANMF":
            position += 8 + 16  # into the frame: its header, then its own chunks
            continue
        position += 8 + size + (size & 1)
    return False


class _TooLarge(Exception):
    pass


class _CappedBuffer(BytesIO):
    """A BytesIO that refuses to grow past ``limit`` bytes, so that an image which encodes far
    larger than it came (a crafted PNG can) stops the encoder early, memory and time alike."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: Any) -> int:
        if self.tell() + len(data) > self.limit:
            raise _TooLarge
        return super().write(data)
