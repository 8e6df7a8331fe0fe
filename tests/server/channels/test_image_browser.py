"""The widget's "发截图 / 拍照" button in a real browser (headless Chromium, a phone's
screen) against the real servers: a screenshot rendered by Chromium from the benchmark's
mock-up is chosen as a phone would choose it, made smaller in the browser, posted to
/chat/image, and the reply shows what was read, then the verdict card, in order. Nothing
of the picture is kept in the browser's storage. A file that is no picture gets the
server's own reason.
"""

import re

import pytest
import yaml
from playwright.sync_api import expect

from bench.ocr import SCREENS, screen_html
from core.wording import say
from tests.server.channels import test_widget_browser as widget_browser
from tests.server.channels.test_widget_browser import TEXTS, open_chat, screenshot

# The widget browser tests' fixtures: the servers, Chromium, a fresh phone.
widget_assistant = widget_browser.widget_assistant
browser = widget_browser.browser
page = widget_browser.page

pytestmark = pytest.mark.browser

IMAGE_URL = "**/chat/image"
CHOOSE = ".fzw-image-row input[type=file]"


def mockup(browser, screen_id: str, scale: int) -> bytes:
    """The benchmark's phone screen `screen_id`, rendered by Chromium at `scale`x."""
    screens = yaml.safe_load(SCREENS.read_text(encoding="utf-8"))["screens"]
    [screen] = [s for s in screens if s["id"] == screen_id]
    context = browser.new_context(viewport={"width": 360, "height": 780},
                                  device_scale_factor=scale)
    try:
        phone = context.new_page()
        phone.set_content(screen_html(screen))
        phone.evaluate("document.fonts.ready")
        return phone.screenshot(type="png")
    finally:
        context.close()


# Chromium does not hand a form's file to Playwright's request events: the page's fetch
# is watched instead, and what the widget posts is described (never the picture kept).
WATCH_UPLOADS = """
window.__uploads = [];
const originalFetch = window.fetch;
window.fetch = async (url, options) => {
  if (options && options.body instanceof FormData) {
    const image = options.body.get("image");
    const bitmap = await createImageBitmap(image);
    window.__uploads.push({sender: options.body.get("sender"), type: image.type,
                           bytes: image.size, width: bitmap.width, height: bitmap.height});
  }
  return originalFetch(url, options);
};
"""


def test_a_screenshot_shows_what_was_read_then_the_verdict_card(page, browser, widget_assistant, tmp_path):
    picture = tmp_path / "截图.png"
    picture.write_bytes(mockup(browser, "tax_sms", scale=6))  # 2160x4680: a large phone
    page.add_init_script(WATCH_UPLOADS)
    open_chat(page, widget_assistant)
    button = page.get_by_role("button", name=TEXTS["image_button_label"])
    expect(button).to_have_text(TEXTS["image_button"])
    assert button.bounding_box()["height"] >= 48  # large enough for an old thumb
    with page.expect_response(IMAGE_URL, timeout=180_000) as answered:
        page.set_input_files(CHOOSE, str(picture))
    assert answered.value.status == 200
    [upload] = page.evaluate("() => window.__uploads")
    assert upload["sender"] and upload["type"] == "image/jpeg"
    # Made smaller before it left the phone: 2160x4680 -> at most 1080x2340.
    assert upload["width"] <= 1080 and upload["height"] <= 2340
    assert abs(upload["height"] / upload["width"] - 4680 / 2160) < 0.01
    assert upload["bytes"] < picture.stat().st_size

    read = page.locator(".fzw-card-read")
    expect(read).to_be_visible()
    expect(read.locator(".fzw-card-heading")).to_have_text(say("image.read_heading"))
    expect(read.locator(".fzw-read-text")).to_contain_text("退税")
    verdict = page.locator(".fzw-card.fzw-level-high")
    expect(verdict).to_be_visible()
    # In order: the customer's bubble, what was read, the verdict text, its card.
    order = page.evaluate("""() => [...document.querySelectorAll('.fzw-log > *')]
        .map(e => e.className)""")
    at = [i for i, name in enumerate(order) if "fzw-msg-user" in name][-1]
    assert "fzw-card-read" in order[at + 1]
    assert [n for n in order[at + 2:] if "fzw-card" in n][0].find("fzw-level-high") >= 0
    expect(page.locator(".fzw-msg-user").last).to_have_text(TEXTS["image_sent"])
    screenshot(page, "image-verdict")

    stored = page.evaluate("() => localStorage.getItem('fanzha-widget')")
    assert "退税" in stored  # what was read, as the server masked it
    assert not re.search(r"data:image|base64|/9j/|iVBOR", stored)

    page.reload()  # the transcript comes back from storage, the card included
    expect(page.locator(".fzw-card-read .fzw-read-text")).to_contain_text("退税")


def test_a_file_that_is_no_picture_gets_the_servers_reason(page, widget_assistant, tmp_path):
    renamed = tmp_path / "截图.jpg"
    renamed.write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 200)
    open_chat(page, widget_assistant)
    with page.expect_response(IMAGE_URL) as answered:
        page.set_input_files(CHOOSE, str(renamed))
    assert answered.value.status == 415
    expect(page.locator(".fzw-msg-bot").last).to_have_text(say("image.problem.executable"))
    expect(page.get_by_role("button", name=TEXTS["image_button_label"])).to_be_enabled()
