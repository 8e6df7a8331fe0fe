"""ATM QR codes: the URL, input checks, the files written and the printable sign."""

import csv
import io
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from core.settings import Bank
from tools.atm_qr import (
    Atm,
    InputError,
    build_chat_url,
    build_sign_html,
    build_sign_svg,
    check_output_names_unique,
    fit_font_size,
    make_qr,
    normalize_base_url,
    parse_atm_csv,
    qr_svg_text,
    readable_url,
    validate_atm_id,
)

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
BANK = Bank(name="工商银行", hotline="95588")
CHROMIUM = "/usr/bin/chromium"
HAS_CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Tests choose the base URL and bank themselves, whatever the shell exported."""
    for name in ("PUBLIC_BASE_URL", "BANK_NAME", "BANK_HOTLINE"):
        monkeypatch.delenv(name, raising=False)


def run_tool(*args, env=None):
    """`python -m tools.atm_qr ARGS` as staff run it, with a clean environment plus `env`."""
    environment = {
        name: value for name, value in os.environ.items()
        if name not in ("PUBLIC_BASE_URL", "BANK_NAME", "BANK_HOTLINE")
    }
    environment.update(PYTHONIOENCODING="utf-8", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "tools.atm_qr", *map(str, args)],
        cwd=ROOT, env=environment, capture_output=True, text=True, encoding="utf-8", timeout=60,
    )


def assert_rejected(result):
    """Exit code 2, a Chinese message and no traceback."""
    assert result.returncode == 2, result
    assert HAS_CJK.search(result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def decode_qr(path):
    results = zxingcpp.read_barcodes(Image.open(path))
    assert len(results) == 1, f"expected one QR code in {path}, found {len(results)}"
    return results[0].text


def qr_path_data(svg_root):
    """The `d` of the path drawing the dark modules (the one with a stroke)."""
    return next(p.get("d") for p in svg_root.iter(f"{SVG}path") if p.get("stroke"))


def csv_text(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def write_csv(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# --- the URL -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://localhost:5005", "http://localhost:5005/chat?entry=atm&atm=ATM-001"),
        ("https://fanzha.example.com/", "https://fanzha.example.com/chat?entry=atm&atm=ATM-001"),
        ("https://bank.example.com/assistant//", "https://bank.example.com/assistant/chat?entry=atm&atm=ATM-001"),
        ("  HTTPS://Bank.Example.com:8443 ", "https://bank.example.com:8443/chat?entry=atm&atm=ATM-001"),
        ("https://反诈.example.com", "https://xn--kors61k.example.com/chat?entry=atm&atm=ATM-001"),
        ("https://bank.example.com/反诈", "https://bank.example.com/%E5%8F%8D%E8%AF%88/chat?entry=atm&atm=ATM-001"),
        ("http://[::1]:5005", "http://[::1]:5005/chat?entry=atm&atm=ATM-001"),
    ],
)
def test_chat_url(base, expected):
    assert build_chat_url(base, "ATM-001") == expected


def test_readable_url_shows_a_chinese_host_in_chinese():
    url = build_chat_url("https://反诈.example.com", "A1")
    assert readable_url(url) == "https://反诈.example.com/chat?entry=atm&atm=A1"


@pytest.mark.parametrize(
    "base",
    [
        "", "   ", "localhost:5005", "ftp://bank.example.com", "javascript:alert(1)", "http://",
        "https://user:secret@bank.example.com", "https://bank.example.com/?x=1",
        "https://bank.example.com/#top", "https://bank.example.com?", "http://bank.example.com:99999",
        "http://bank example.com", "http://[::1", "https://bank.example.com/\x00",
    ],
)
def test_bad_base_url_is_rejected_in_chinese(base):
    with pytest.raises(InputError) as error:
        normalize_base_url(base)
    assert HAS_CJK.search(str(error.value))


# --- ATM ids -----------------------------------------------------------------


@pytest.mark.parametrize("atm_id", ["A", "ATM-001", "bj_chaoyang-07", "X" * 32, " ATM-1\n"])
def test_valid_atm_id(atm_id):
    assert validate_atm_id(atm_id) == atm_id.strip()


@pytest.mark.parametrize(
    "atm_id", ["", "  ", "ATM 1", "ATM/1", "../etc", "ATM.1", "柜员机1", "ＡＴＭ1", "X" * 33, "A\x00B", "a&b"]
)
def test_invalid_atm_id_is_rejected_in_chinese(atm_id):
    with pytest.raises(InputError, match="ATM编号"):
        validate_atm_id(atm_id)


# --- the CSV -----------------------------------------------------------------


def test_csv_with_bom_crlf_quotes_and_blank_lines():
    text = '\ufeffatm_id,location\r\nATM-1,"朝阳支行, 大厅"\r\n\r\nATM-2,\r\n ATM-3 , 东门 \r\n,\r\n'
    assert parse_atm_csv(text) == [
        Atm("ATM-1", "朝阳支行, 大厅"), Atm("ATM-2", ""), Atm("ATM-3", "东门")
    ]


def test_csv_location_column_is_optional_and_other_columns_are_ignored():
    assert parse_atm_csv("note, ATM_ID \n朝阳,A1\n海淀,A2\n") == [Atm("A1"), Atm("A2")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "空"),
        ("ATM-1,大厅\nATM-2,东门\n", "表头"),
        ("atm_id,location\n", "没有任何 ATM"),
        ("atm_id,atm_id\nA,B\n", "不止一次"),
        ("atm_id,location\nA1,大厅,多余\n", "第 2 行：列数比表头多"),
        ("atm_id,location\nA1,ok\nA 2,ok\n", "第 3 行：ATM编号 'A 2' 不合规"),
        ("atm_id,location\nA1,大厅\na1,东门\n", "第 3 行：ATM编号 a1 与第 2 行重复"),
        ("atm_id,location\nA1,\n,东门\n", "第 3 行：ATM编号不能为空"),
        ("atm_id,location\nA1," + "长" * 61 + "\n", "太长"),
        ("atm_id,location\nA1,\"a\x07b\"\n", "控制字符"),
        ("atm_id,location\nA1,\"unclosed\n", "格式有误"),
    ],
)
def test_bad_csv_is_rejected_in_chinese(text, message):
    with pytest.raises(InputError, match=message):
        parse_atm_csv(text)


def test_every_bad_row_is_reported_at_once():
    with pytest.raises(InputError) as error:
        parse_atm_csv("atm_id\nA1\nbad id\nA1\nok\n")
    message = str(error.value)
    assert "2 处问题" in message and "第 3 行" in message and "第 4 行" in message


def test_ids_whose_files_would_collide_are_rejected_only_with_signs():
    atms = [Atm("A"), Atm("A-sign")]
    check_output_names_unique(atms, with_sign=False)
    with pytest.raises(InputError, match="A-sign.svg"):
        check_output_names_unique(atms, with_sign=True)


# --- the sign ----------------------------------------------------------------

HOSTILE_LOCATION = '朝阳支行 <script>alert("x")</script> & 东门'
SIGN_URL = "https://fanzha.example.com/chat?entry=atm&atm=ATM-7"


def test_sign_svg_is_well_formed_and_says_what_to_do():
    svg = build_sign_svg(Atm("ATM-7", "朝阳支行大厅"), SIGN_URL, Bank("建设银行", "95533"))
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == "0 0 148 210"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for line in ("接到可疑电话？", "扫码问反诈助手", "正在按电话里的指示操作ATM？",
                 "请立即停止，取卡，挂断电话。", "110", "96110", "95533", "建设银行客服热线"):
        assert line in texts
    assert any("ATM-7" in t and "朝阳支行大厅" in t for t in texts)
    assert "接到可疑电话？扫码问反诈助手" in root.find(f"{SVG}title").text


def test_sign_escapes_inserted_text():
    bank = Bank('<b>"银行"</b>', "95533")
    svg = build_sign_svg(Atm("ATM-7", HOSTILE_LOCATION), SIGN_URL, bank)
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 东门" in svg
    texts = " ".join(t.text for t in ET.fromstring(svg).iter(f"{SVG}text"))
    assert HOSTILE_LOCATION in texts and '<b>"银行"</b>客服热线' in texts


def test_sign_embeds_the_same_qr_code_as_the_svg_file():
    sign = ET.fromstring(build_sign_svg(Atm("ATM-7"), SIGN_URL, BANK))
    embedded = sign.find(f".//{SVG}svg[@id='qr']")
    standalone = ET.fromstring(qr_svg_text(make_qr(SIGN_URL)).encode("utf-8"))
    assert qr_path_data(embedded) == qr_path_data(standalone)
    # The quiet zone is part of the embedded code, so nothing printed can touch the modules.
    assert embedded.get("viewBox") == standalone.get("viewBox")


def test_sign_html_inlines_the_sign_and_prints_on_one_page():
    page = build_sign_html(Atm("ATM-7", HOSTILE_LOCATION), SIGN_URL, BANK)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page
    assert '<svg class="sign" xmlns="http://www.w3.org/2000/svg"' in page
    assert 'id="qr"' in page and "@page" in page and "@media print" in page
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_long_text_gets_a_smaller_font_instead_of_running_off_the_sign():
    assert fit_font_size("ATM", 10, 128) == 10
    assert fit_font_size("位" * 64, 4, 128) == pytest.approx(2)


# --- the command line --------------------------------------------------------


def test_one_atm_writes_png_and_svg_that_encode_the_url(tmp_path):
    result = run_tool("--atm", "ATM-001", "--out", tmp_path, env={"PUBLIC_BASE_URL": "https://fanzha.example.com/"})
    assert result.returncode == 0, result.stderr
    expected = "https://fanzha.example.com/chat?entry=atm&atm=ATM-001"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ATM-001.png", "ATM-001.svg"]
    assert decode_qr(tmp_path / "ATM-001.png") == expected
    image = Image.open(tmp_path / "ATM-001.png")
    modules = make_qr(expected).symbol_size(scale=1, border=4)
    assert image.size == (modules[0] * 10, modules[1] * 10)  # 10 px modules, border 4
    svg = ET.parse(tmp_path / "ATM-001.svg").getroot()
    assert svg.tag == f"{SVG}svg" and qr_path_data(svg)
    assert expected in result.stdout


def test_base_url_option_wins_over_environment_and_localhost_gets_a_warning(tmp_path):
    result = run_tool(
        "--atm", "A1", "--out", tmp_path, "--base-url", "http://localhost:5005",
        env={"PUBLIC_BASE_URL": "https://ignored.example.com"},
    )
    assert result.returncode == 0, result.stderr
    assert decode_qr(tmp_path / "A1.png") == "http://localhost:5005/chat?entry=atm&atm=A1"
    assert "PUBLIC_BASE_URL" in result.stderr


def test_csv_of_three_atms_writes_two_files_each(tmp_path):
    csv_file = write_csv(tmp_path / "atms.csv", "\ufeffatm_id,location\nA1,大厅\nA2,东门\nA3,\n")
    out = tmp_path / "qr"
    result = run_tool("--csv", csv_file, "--out", out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"A{n}.{ext}" for n in (1, 2, 3) for ext in ("png", "svg")]
    assert decode_qr(out / "A2.png") == "http://localhost:5005/chat?entry=atm&atm=A2"


def test_csv_with_signs(tmp_path):
    rows = [("atm_id", "location"), ("A1", HOSTILE_LOCATION), ("A2", ""), ("A3", "东门")]
    csv_file = write_csv(tmp_path / "atms.csv", csv_text(rows))
    out = tmp_path / "qr"
    result = run_tool("--csv", csv_file, "--out", out, "--sign", env={"BANK_NAME": "建设银行", "BANK_HOTLINE": "95533"})
    assert result.returncode == 0, result.stderr
    assert len(list(out.iterdir())) == 3 * 4
    sign_svg = (out / "A1-sign.svg").read_text(encoding="utf-8")
    sign_html = (out / "A1-sign.html").read_text(encoding="utf-8")
    root = ET.fromstring(sign_svg)
    for page in (sign_svg, sign_html):
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 东门" in page
        assert "<script>" not in page and "建设银行客服" in page and "95533" in page
    standalone = ET.parse(out / "A1.svg").getroot()
    assert qr_path_data(root.find(f".//{SVG}svg[@id='qr']")) == qr_path_data(standalone)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_printed_sign_scans(tmp_path):
    assert run_tool("--atm", "ATM-9", "--out", tmp_path, "--sign").returncode == 0
    screenshot = tmp_path / "sign.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=600,850", f"--screenshot={screenshot}", (tmp_path / "ATM-9-sign.html").as_uri()],
        capture_output=True, timeout=120, check=True,
    )
    assert decode_qr(screenshot) == "http://localhost:5005/chat?entry=atm&atm=ATM-9"


@pytest.mark.parametrize(
    "args",
    [
        ["--atm", "ATM 001"],
        ["--atm", "柜员机"],
        ["--atm", "x" * 33],
        ["--atm", "A1", "--base-url", "bank.example.com"],
        ["--atm", "A1", "--base-url", "https://bank.example.com/?a=1"],
        [],
        ["--atm", "A1", "--csv", "atms.csv"],
        ["--atm", "A1", "--no-such-option"],
    ],
)
def test_bad_arguments_exit_2_in_chinese(tmp_path, args):
    out = tmp_path / "qr"
    assert_rejected(run_tool(*args, "--out", out))
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("ATM-1,大厅\n", "表头"),
        ("atm_id,location\nA1,大厅\nA2,东门\na1,西门\n", "重复"),
        ("atm_id,location\nA1,大厅\nA/2,东门\n", "不合规"),
        ("atm_id\n", "没有任何 ATM"),
    ],
)
def test_bad_csv_exits_2_and_writes_nothing(tmp_path, content, message):
    out = tmp_path / "qr"
    result = run_tool("--csv", write_csv(tmp_path / "atms.csv", content), "--out", out)
    assert_rejected(result)
    assert message in result.stderr
    assert not out.exists()


def test_csv_saved_as_gbk_is_rejected_with_a_hint(tmp_path):
    result = run_tool("--csv", write_csv(tmp_path / "atms.csv", "atm_id,location\nA1,大厅\n", "gbk"))
    assert_rejected(result)
    assert "UTF-8" in result.stderr


def test_missing_csv_file(tmp_path):
    result = run_tool("--csv", tmp_path / "nope.csv", "--out", tmp_path / "qr")
    assert_rejected(result)
    assert "无法读取" in result.stderr


def test_bank_misconfigured_for_signs(tmp_path):
    result = run_tool("--atm", "A1", "--out", tmp_path / "qr", "--sign", env={"BANK_NAME": "建设银行"})
    assert_rejected(result)
    assert "BANK_HOTLINE" in result.stderr and not (tmp_path / "qr").exists()


def test_unwritable_output_directory_exits_1_without_traceback(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_tool("--atm", "A1", "--out", blocker / "qr")
    assert result.returncode == 1
    assert "无法写入" in result.stderr and "Traceback" not in result.stderr


def test_help_is_chinese():
    result = run_tool("--help")
    assert result.returncode == 0
    assert "用法" in result.stdout and "PUBLIC_BASE_URL" in result.stdout and "atm_id,location" in result.stdout
