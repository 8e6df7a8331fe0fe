"""POST /chat/image against the real servers (the Rasa server starts its OCR worker):
what was read, masked, then the same verdict as the pasted text; issue 13's bad-input
table, each with its Chinese reply and a 4xx; uploads counted against the rate limits;
the handoff record's 截图; and, last, no byte of any uploaded picture in the tracker
store, the event broker, the logs or a file written meanwhile.
"""

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, List, Tuple
from zoneinfo import ZoneInfo

import pytest

from core.wording import say
from server.channels.image import IMAGE_TEXT
from server.guard.turns import privacy_warning
from server.ocr import images
from tests.e2e.servers import MODEL, running_assistant
from tests.server.ocr import pictures

UPLOADED: List[bytes] = []  # every picture sent in this module, for the privacy scan
STARTED = time.time()


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    workdir = tmp_path_factory.mktemp("image")
    # Rasa's SQL event broker on SQLite: what a broker was sent can be read back.
    stores = (f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{workdir / "rasa.db"}"\n'
              f'event_broker:\n  type: SQL\n  dialect: "sqlite"\n  db: "{workdir / "broker.db"}"\n')
    env = {"RATE_LIMIT_PER_SENDER": "4/600"}
    with running_assistant(workdir, env, stores=stores) as running:
        running.workdir = workdir
        yield running


def multipart(fields: Dict[str, Tuple[str, bytes, str]]) -> Tuple[bytes, str]:
    """A multipart/form-data body: name -> (filename or "", bytes, content type)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, (filename, data, kind) in fields.items():
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        head += f"Content-Type: {kind}\r\n\r\n" if filename else "\r\n"
        parts.append(head.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(assistant, path: str, body: bytes, content_type: str) -> Tuple[int, object]:
    request = urllib.request.Request(assistant.rasa_url + path, data=body, method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=180) as reply:
            status, raw = reply.status, reply.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw)


def upload(assistant, sender: str, data: bytes, filename: str = "截图.jpg") -> Tuple[int, object]:
    UPLOADED.append(data)
    body, kind = multipart({"sender": ("", sender.encode(), ""),
                            "image": (filename, data, "image/jpeg")})
    return post(assistant, "/chat/image", body, kind)


def say_text(assistant, sender: str, text: str) -> Tuple[int, object]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    return post(assistant, "/chat/webhook", body, "application/json")


def verdict_of(messages) -> Tuple:
    for message in messages:
        custom = message.get("custom") or {}
        if custom.get("type") == "scam_assessment":
            return custom.get("risk"), custom.get("scam_type")
    return None


def screenshot(lines=pictures.SCAM_LINES) -> bytes:
    return pictures.encoded(pictures.text_screen(lines), "JPEG", quality=85)


def test_a_screenshot_gets_what_was_read_then_the_verdict_of_its_text(assistant):
    status, messages = upload(assistant, "img-scam", screenshot())
    assert status == 200, messages
    read = messages[0]
    assert read["custom"]["type"] == IMAGE_TEXT
    assert read["text"].startswith(say("image.read_heading"))
    assert "退税" in read["custom"]["text"] and "17136652089" in read["custom"]["text"]
    status, pasted = say_text(assistant, "img-scam-pasted", pictures.SCAM_TEXT)
    assert status == 200
    assert verdict_of(messages[1:]) == verdict_of(pasted)
    assert verdict_of(pasted)[1] == "tax_refund" and verdict_of(pasted)[0] in ("high", "medium")
    # The reply has the text channel's shape: each message for this sender, with text.
    assert all(m["recipient_id"] == "img-scam" for m in messages)
    [stored] = [e for e in assistant.stored_events("img-scam") if e["event"] == "user"]
    assert stored["metadata"]["from_image"] == "screenshot"
    assert stored["input_channel"] == "widget"


def test_secrets_read_in_a_screenshot_are_masked_before_rasa_sees_them(assistant):
    lines = ["【工商银行】您正在进行手机银行登录，", "验证码为482913，5分钟内有效。",
             "卡号6222021234567894，任何人索要", "验证码都是诈骗，请勿泄露。"]
    status, messages = upload(assistant, "img-secret", screenshot(lines))
    assert status == 200, messages
    shown = messages[0]["custom"]["text"]
    assert "482913" not in shown and "[验证码]" in shown
    assert "6222021234567894" not in shown and "7894" in shown
    assert privacy_warning() in [m.get("text") for m in messages]
    stored = json.dumps(assistant.stored_events("img-secret"), ensure_ascii=False)
    assert "482913" not in stored and "6222021234567894" not in stored


def test_upside_down_text_is_read_as_if_upright(assistant):
    status, messages = upload(assistant, "img-upside-down", pictures.upside_down())
    assert status == 200, messages
    status, pasted = say_text(assistant, "img-upside-down-pasted", pictures.SCAM_TEXT)
    assert verdict_of(pasted) is not None
    assert verdict_of(messages[1:]) == verdict_of(pasted)


BAD_INPUT = {
    "not an image": (pictures.not_an_image, images.NOT_IMAGE, 415),
    "renamed executable": (pictures.executable, images.EXECUTABLE, 415),
    "30 MB image": (pictures.thirty_megabytes, images.TOO_LARGE, 413),
    "decompression bomb": (pictures.decompression_bomb, images.TOO_MANY_PIXELS, 413),
    "1x1 image": (pictures.one_pixel, images.TOO_SMALL, 422),
    "no text": (pictures.no_text, images.NO_TEXT, 422),
    "very long screenshot": (pictures.very_long, images.TOO_LONG, 422),
}


@pytest.mark.parametrize("case", list(BAD_INPUT), ids=list(BAD_INPUT))
def test_bad_input_gets_a_4xx_and_its_chinese_reply_and_reaches_no_one(assistant, case):
    make, kind, status = BAD_INPUT[case]
    sender = f"img-bad-{uuid.uuid4().hex[:8]}"
    got, body = upload(assistant, sender, make())
    assert (got, body) == (status, {"error": say(f"image.problem.{kind}")})
    assert assistant.stored_events(sender) == [] or all(
        e["event"] != "user" for e in assistant.stored_events(sender))


@pytest.mark.parametrize(
    "fields, why",
    [
        ({"image": ("a.jpg", b"\xff\xd8\xff", "image/jpeg")}, "usage"),
        ({"sender": ("", b"img-no-image", "")}, "no_image"),
        ({"sender": ("", b"img-empty", ""), "image": ("a.jpg", b"", "image/jpeg")}, "no_image"),
    ],
    ids=["no sender", "no image", "empty image"],
)
def test_a_malformed_upload_gets_400_saying_what_to_send(assistant, fields, why):
    body, kind = multipart(fields)
    expected = say("image.usage") if why == "usage" else say("image.problem.no_image")
    assert post(assistant, "/chat/image", body, kind) == (400, {"error": expected})


def test_json_instead_of_a_form_gets_400(assistant):
    body = json.dumps({"sender": "img-json", "message": "hi"}).encode()
    assert post(assistant, "/chat/image", body, "application/json") == (
        400, {"error": say("image.usage")})


def test_uploads_count_against_the_rate_limit_like_messages(assistant):
    sender = "img-fast"
    assert say_text(assistant, sender, "你好")[0] == 200
    assert say_text(assistant, sender, "谢谢")[0] == 200
    assert upload(assistant, sender, pictures.one_pixel())[0] == 422
    assert upload(assistant, sender, pictures.one_pixel())[0] == 422
    status, body = upload(assistant, sender, screenshot())  # the 5th within the limit 4
    assert status == 429 and "秒后再发" in body["error"]
    assert say_text(assistant, sender, "你好")[0] == 429  # one bucket for both


def test_the_handoff_record_says_screenshot_and_keeps_no_picture(assistant):
    from staff.database import open_databases
    from staff.handoff_pages import _screenshots, _turn
    from staff.handoff_queue import transcript

    sender = "img-handoff"
    assert upload(assistant, sender, screenshot())[0] == 200
    status, messages = say_text(assistant, sender, "我要转人工")
    assert status == 200 and any((m.get("custom") or {}).get("type") == "handoff"
                                 for m in messages)
    url = f"sqlite:///{assistant.workdir / 'rasa.db'}"
    databases = open_databases(url, url)
    try:
        turns, _ = transcript(databases, sender)
    finally:
        databases.dispose()
    [image_turn] = [turn for turn in turns if turn.from_image]
    assert "退税" in image_turn.text
    assert _screenshots(turns).startswith("1 张")
    assert "截图" in str(_turn(image_turn, ZoneInfo("Asia/Shanghai")))


def _markers(data: bytes) -> List[bytes]:
    """Up to two 48-byte slices of a picture varied enough (30 different byte values) never
    to occur by chance elsewhere; a uniform picture (the 30 MB one) has none."""
    found = []
    for at in range(len(data) // 3, len(data) - 48, 997):
        piece = data[at:at + 48]
        if len(set(piece)) >= 30:
            found.append(piece)
            if len(found) == 2:
                break
    return found


def test_no_picture_byte_is_in_the_stores_the_logs_or_any_file_written(assistant):
    assert UPLOADED, "run with the tests above"
    import base64

    workdir: Path = assistant.workdir
    written = [path for root in (workdir, Path("/tmp"), Path.cwd() / "results")
               if root.exists()
               for path in root.rglob("*")
               if path.is_file() and path.stat().st_mtime >= STARTED
               and path.stat().st_size < 64 * 1024 * 1024]
    checked = {workdir / "rasa.db", workdir / "broker.db", workdir / "rasa.log",
               workdir / "actions.log"}
    assert all(path.exists() for path in checked)
    assert (workdir / "broker.db").stat().st_size > 0
    assert sum(1 for data in UPLOADED if _markers(data)) >= 5
    for data in UPLOADED:
        for marker in _markers(data):
            encoded = base64.b64encode(marker[:45])
            for path in set(written) | checked:
                try:
                    content = path.read_bytes()
                except OSError:
                    continue
                assert marker not in content and encoded not in content, path
