"""What a customer's picture must be before OCR looks at it, checked on the bytes alone.

    check_bytes(data)   -> the format, or ImageProblem: not a picture, an executable renamed
                           .jpg, more than MAX_IMAGE_BYTES
    open_checked(data)  -> a decoded, upright RGB PIL image, or ImageProblem: a
                           decompression bomb (Pillow's limit is set here, explicitly), too
                           small to read, a screenshot longer than MAX_SCREENS phone screens

Pure functions on bytes in memory: nothing is written to disk, and no problem's message
holds a byte of the picture. The Chinese reply for each problem is image.problem.<kind>
in knowledge/replies.yml.
"""

import io
import warnings
from typing import Optional

from PIL import Image, ImageOps

# Kinds of problem (ImageProblem.kind), each with its reply and HTTP status.
NOT_IMAGE = "not_image"
EXECUTABLE = "executable"
TOO_LARGE = "too_large"
TOO_MANY_PIXELS = "too_many_pixels"
TOO_SMALL = "too_small"
TOO_LONG = "too_long"
NO_TEXT = "no_text"
BUSY = "busy"
FAILED = "failed"
HTTP_STATUS = {
    NOT_IMAGE: 415, EXECUTABLE: 415, TOO_LARGE: 413, TOO_MANY_PIXELS: 413,
    TOO_SMALL: 422, TOO_LONG: 422, NO_TEXT: 422, BUSY: 503, FAILED: 503,
}

# A phone screenshot is 0.2-3 MB, a camera photo 2-8 MB; the widget sends ~0.3 MB.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Pillow's own guard against decompression bombs, set explicitly rather than left at its
# default (89 million pixels, a warning only): a 4000x6000 photo is 24 million. Above
# it Pillow raises before decoding, and its warning is an error here (see open_checked).
MAX_IMAGE_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
# Smaller than this on either side holds no readable message.
MIN_SIDE = 64
# A scrolling ("long") screenshot of up to three phone screens (1080x2340 each) is read
# whole; a longer one is refused: it takes too long to read, and the customer is asked
# for the screen that matters.
PHONE_SCREEN_RATIO = 2340 / 1080
MAX_SCREENS = 3
MAX_HEIGHT_TO_WIDTH = PHONE_SCREEN_RATIO * MAX_SCREENS
MAX_WIDTH_TO_HEIGHT = 4.0  # a landscape photo is 4:3 or 16:9

# The formats a phone sends (the widget sends JPEG; WeChat JPEG or PNG). Anything else
# (TIFF, PSD, SVG, PDF...) is refused before a decoder sees it.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)
# Programs, renamed or not: ELF, Windows PE (MZ), Mach-O, shell scripts, Java classes
# and archives (APK/JAR are ZIP files).
_EXECUTABLE_MAGIC = (
    b"\x7fELF", b"MZ", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!", b"PK\x03\x04",
)


class ImageProblem(Exception):
    """Why a picture is not read. `kind` is one of the kinds above; `detail` is for logs
    (sizes and formats only, never content)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


def sniff_format(data: bytes) -> Optional[str]:
    """The image format the first bytes announce, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def check_bytes(data: bytes) -> str:
    """The format of `data`, or ImageProblem for what is not a picture we open."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageProblem(TOO_LARGE, f"{len(data)} bytes")
    image_format = sniff_format(data)
    if image_format is None:
        if data.startswith(_EXECUTABLE_MAGIC):
            raise ImageProblem(EXECUTABLE, "program header")
        raise ImageProblem(NOT_IMAGE, f"{len(data)} bytes, no image header")
    return image_format


def check_size(width: int, height: int) -> None:
    """ImageProblem for a picture of these dimensions that is not read."""
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageProblem(TOO_MANY_PIXELS, f"{width}x{height}")
    if min(width, height) < MIN_SIDE:
        raise ImageProblem(TOO_SMALL, f"{width}x{height}")
    if height / width > MAX_HEIGHT_TO_WIDTH:
        raise ImageProblem(TOO_LONG, f"{width}x{height}")
    if width / height > MAX_WIDTH_TO_HEIGHT:
        raise ImageProblem(TOO_LONG, f"{width}x{height}")


def open_checked(data: bytes) -> Image.Image:
    """The picture in `data`, decoded, turned upright by its EXIF orientation (phone
    photos), as RGB; ImageProblem when it is not one to read."""
    image_format = check_bytes(data)
    with warnings.catch_warnings():
        # Over MAX_IMAGE_PIXELS Pillow only warns; over twice that it raises. Both stop here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[image_format])
            # The header's dimensions, checked before a pixel is decoded.
            check_size(*image.size)
            image.seek(0)  # an animated GIF or WebP: its first frame
            image.load()
            upright = ImageOps.exif_transpose(image)
        except ImageProblem:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as bomb:
            raise ImageProblem(TOO_MANY_PIXELS, type(bomb).__name__) from None
        except (OSError, ValueError, SyntaxError, EOFError, IndexError, MemoryError,
                Image.UnidentifiedImageError) as broken:
            # Truncated or corrupt: what a decoder cannot read is not a picture to us.
            raise ImageProblem(NOT_IMAGE, f"{image_format}: {type(broken).__name__}") from None
    check_size(*upright.size)  # turned by EXIF: width and height may have swapped
    if upright.mode != "RGB":
        # Transparent PNGs on white, as a phone shows them.
        if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
            rgba = upright.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.getchannel("A"))
            upright = background
        else:
            upright = upright.convert("RGB")
    return upright
