"""The checks on a picture's bytes before OCR (server/ocr/images.py): issue 13's bad
inputs, each refused with its own kind (its reply: knowledge/replies.yml image.problem)."""

import pytest
from PIL import Image

from core.wording import say
from server.ocr import images
from server.ocr.images import ImageProblem, check_bytes, open_checked
from tests.server.ocr import pictures

BAD = {
    "not an image": (pictures.not_an_image, images.NOT_IMAGE),
    "renamed executable": (pictures.executable, images.EXECUTABLE),
    "30 MB image": (pictures.thirty_megabytes, images.TOO_LARGE),
    "decompression bomb": (pictures.decompression_bomb, images.TOO_MANY_PIXELS),
    "1x1 image": (pictures.one_pixel, images.TOO_SMALL),
    "very long screenshot": (pictures.very_long, images.TOO_LONG),
    "truncated JPEG": (lambda: pictures.encoded(pictures.text_screen(), "JPEG")[:5000],
                       images.NOT_IMAGE),
    "TIFF": (lambda: pictures.encoded(pictures.text_screen(), "TIFF"), images.NOT_IMAGE),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_is_refused_with_its_kind_and_a_chinese_reply(case):
    make, kind = BAD[case]
    with pytest.raises(ImageProblem) as refused:
        open_checked(make())
    assert refused.value.kind == kind
    reply = say(f"image.problem.{kind}")
    assert reply and any("\u4e00" <= char <= "\u9fff" for char in reply)
    assert 400 <= images.HTTP_STATUS[kind] < 500


def test_pillows_pixel_limit_is_set_explicitly():
    assert Image.MAX_IMAGE_PIXELS == images.MAX_IMAGE_PIXELS == 40_000_000


def test_a_bomb_between_the_limit_and_twice_it_is_refused_too(monkeypatch):
    # Pillow only warns there; the warning is an error here. Our own size check is
    # lifted for this test so that Pillow's is the one that fires.
    monkeypatch.setattr(images, "check_size", lambda width, height: None)
    with pytest.raises(ImageProblem) as refused:
        open_checked(pictures.decompression_bomb(side=7_000))  # 49 million pixels
    assert refused.value.kind == images.TOO_MANY_PIXELS


def test_problems_name_sizes_never_content():
    with pytest.raises(ImageProblem) as refused:
        check_bytes(pictures.not_an_image())
    assert "税务" not in str(refused.value)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
def test_phone_formats_open_as_upright_rgb(image_format):
    data = pictures.encoded(pictures.text_screen(size=(540, 1170), font_size=23, top=150),
                            image_format)
    picture = open_checked(data)
    assert picture.mode == "RGB" and picture.size == (540, 1170)


def test_a_photo_is_turned_upright_by_its_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    data = pictures.encoded(Image.new("RGB", (400, 300), "white"), "JPEG", exif=exif)
    assert open_checked(data).size == (300, 400)


def test_transparent_png_reads_on_white():
    picture = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    assert open_checked(pictures.encoded(picture)).getpixel((10, 10)) == (255, 255, 255)
