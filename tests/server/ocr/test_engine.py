"""Reading a phone screen (server/ocr/engine.py): the layout put back (pure), and the
real OCR models on pictures drawn here: a scam SMS, one upside down, one with no text."""

import difflib

import pytest

from server.ocr.engine import Line, ScreenReader, _phone_chrome, layout
from server.ocr.images import NO_TEXT, ImageProblem, open_checked
from tests.server.ocr import pictures


def line(text, left, top, height=50, width=None):
    return Line(text, 0.99, left, top, left + (width or 40 * len(text)), top + height)


def test_the_phones_own_words_are_left_out_of_a_screenshot():
    screen = (1080, 2340)
    kept = [line("您好，我是快递理赔中心的", 60, 400), line("10:21前转过来", 60, 600)]
    chrome = [line("9:41", 40, 20), line("今天 上午10:21", 400, 300),
              line("Yesterday 9:41 PM", 380, 900), line("短信", 80, 2250)]
    assert [found.text for found in kept + chrome if not _phone_chrome(found, *screen)] \
        == ["您好，我是快递理赔中心的", "10:21前转过来"]
    # "短信" in the middle of a screen, or anywhere on a photo of a letter, is a word.
    assert not _phone_chrome(line("短信", 80, 1200), *screen)
    assert not _phone_chrome(line("短信", 80, 2250), 1600, 2340)


def test_wrapped_lines_of_a_bubble_join_and_bubbles_keep_their_order():
    lines = [
        line("您好，请问是刘阿姨吗？我是市税", 200, 300),
        line("务局的陈专员。", 200, 370),
        line("是我，什么事？", 540, 560),  # my bubble, on the right
        line("您的车可以退税。", 200, 760),
    ]
    assert layout(lines) == "您好，请问是刘阿姨吗？我是市税务局的陈专员。\n是我，什么事？\n您的车可以退税。"


def test_latin_words_keep_a_space_and_links_none():
    lines = [
        line("Go to the nearest", 60, 100),
        line("ATM and call us at", 60, 165),
        line("http://etax-tuikuan.", 60, 230),
        line("top/refund", 60, 295),
    ]
    assert layout(lines) == "Go to the nearest ATM and call us at http://etax-tuikuan.top/refund"


def test_an_indented_paragraph_starts_a_new_line_its_wrapped_lines_do_not():
    lines = [
        line("各位居民：近期诈骗电话增多，请", 140, 100),
        line("大家提高警惕。", 60, 170),
        line("接到让您转账的电话请挂断。", 140, 240),
    ]
    assert layout(lines) == "各位居民：近期诈骗电话增多，请大家提高警惕。\n接到让您转账的电话请挂断。"


@pytest.fixture(scope="module")
def reader():
    return ScreenReader(threads=1)


def similarity(read: str, truth: str) -> float:
    return difflib.SequenceMatcher(None, "".join(read.split()), truth).ratio()


def test_a_screenshot_is_read_in_one_piece(reader):
    reading = reader.read(pictures.text_screen())
    assert reading.turned == 0
    assert "\n" not in reading.text  # one bubble: its five wrapped lines joined
    assert similarity(reading.text, pictures.SCAM_TEXT) >= 0.95, reading.text


def test_upside_down_text_is_turned_and_read_in_order(reader):
    reading = reader.read(open_checked(pictures.upside_down()))
    assert reading.turned == 180
    assert similarity(reading.text, pictures.SCAM_TEXT) >= 0.95, reading.text


def test_a_picture_without_text_says_so(reader):
    with pytest.raises(ImageProblem) as refused:
        reader.read(open_checked(pictures.no_text()))
    assert refused.value.kind == NO_TEXT


def test_the_status_bar_of_a_screenshot_is_left_out(reader):
    screen = pictures.text_screen()
    from PIL import ImageDraw, ImageFont

    font = ImageFont.truetype(str(pictures.FONT), 36)
    ImageDraw.Draw(screen).text((40, 20), "9:41", fill="black", font=font)
    ImageDraw.Draw(screen).text((860, 20), "5G 87%", fill="black", font=font)
    assert "9:41" not in reader.read(screen).text
