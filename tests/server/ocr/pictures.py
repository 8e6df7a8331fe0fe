"""Pictures for the OCR tests, made here in memory: text drawn in the CJK font the
benchmark's screenshots use, and the bad inputs of issue 13's table."""

import io
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# A tax-refund scam, as a text message on a phone screen.
SCAM_LINES = [
    "【国家税务局】尊敬的纳税人，您有一笔",
    "个人所得税退税款2860元待领取，请今天",
    "携带银行卡到ATM机，拨打退税专员电话",
    "17136652089，按提示输入税务识别码完",
    "成退税。办理时请勿挂断电话。",
]
SCAM_TEXT = "".join(SCAM_LINES)


def encoded(image: Image.Image, image_format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def text_screen(lines=SCAM_LINES, size=(1080, 2340), font_size=46, top=300) -> Image.Image:
    """A white phone screen with `lines` in a grey bubble, as a messages app shows them."""
    screen = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(screen)
    font = ImageFont.truetype(str(FONT), font_size)
    height = round(font_size * 1.5)
    draw.rounded_rectangle((30, top - 30, size[0] - 120, top + len(lines) * height + 20),
                           radius=40, fill=(238, 240, 243))
    for at, line in enumerate(lines):
        draw.text((60, top + at * height), line, fill=(17, 17, 17), font=font)
    return screen


def executable() -> bytes:
    """An ELF program, as sent renamed to 截图.jpg."""
    return Path("/bin/true").read_bytes()


def thirty_megabytes() -> bytes:
    """A real picture of 30 MB: an uncompressed BMP."""
    return encoded(Image.new("RGB", (3200, 3200), (200, 210, 220)), "BMP")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb(side: int = 12_000) -> bytes:
    """A PNG of side x side grey pixels in about 150 KB: 144 million pixels, 432 MB
    decoded as RGB, over twice Pillow's limit. Its rows are real compressed data, not
    only a header."""
    rows = (b"\x00" + b"\x80" * side) * 100
    compressor = zlib.compressobj(1)
    body = b"".join(compressor.compress(rows) for _ in range(side // 100)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body)
            + _chunk(b"IEND", b""))


def one_pixel() -> bytes:
    return encoded(Image.new("RGB", (1, 1), "white"))


def no_text() -> bytes:
    """A phone-sized photo of nothing to read: a sky-like gradient and a dark shape."""
    picture = Image.linear_gradient("L").resize((1080, 2340)).convert("RGB")
    ImageDraw.Draw(picture).ellipse((300, 900, 800, 1400), fill=(60, 90, 60))
    return encoded(picture, "JPEG", quality=85)


def upside_down() -> bytes:
    return encoded(text_screen().rotate(180), "JPEG", quality=90)


def very_long() -> bytes:
    """A scrolling screenshot of five phone screens."""
    return encoded(text_screen(size=(1080, 2340 * 5)), "JPEG", quality=80)


def not_an_image() -> bytes:
    return "税务局说要给我退税，这是他发的短信。".encode("utf-8")
