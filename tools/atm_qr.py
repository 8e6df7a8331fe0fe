"""Printable QR codes for ATMs: a scan opens the chat widget in ATM mode.

A customer being talked through an ATM "operation" on the phone scans the code beside the
machine and reaches the assistant at `<public base URL>/chat?entry=atm&atm=<id>`.

    python -m tools.atm_qr --atm ATM-001 --sign
    python -m tools.atm_qr --csv atms.csv --base-url https://fanzha.example.com

writes `<id>.png` and `<id>.svg` (and with --sign a one-page sign, `<id>-sign.svg` and
`<id>-sign.html`) to build/qr. Everything is validated before anything is written; bad
input exits with code 2 and a Chinese message.
"""

from __future__ import annotations

import argparse
import html
import io
import sys
import unicodedata
from pathlib import Path
from typing import Dict, List, Optional, Sequence
from urllib.parse import quote, urlencode, urlsplit

import segno

from tools.cli import EXIT_INVALID_INPUT, ChineseArgumentParser, ChineseHelpFormatter
# The ATM list and its checks live in core/atms.py (the servers read the list too).
from core.atms import (  # noqa: F401 (re-exported for callers of this tool's module)
    ATM_ID_PATTERN,
    ATM_ID_RULE,
    LOCATION_MAX_CHARS,
    Atm,
    InputError,
    has_control_characters,
    parse_atm_csv,
    read_atm_csv,
    validate_atm_id,
    validate_location,
)
from core.directory import official_directory
from core.settings import DEFAULT_PUBLIC_BASE_URL, Bank, SettingsError, settings
from core.wording import say, say_each

EXIT_WRITE_FAILED = 1

DEFAULT_BASE_URL = DEFAULT_PUBLIC_BASE_URL
DEFAULT_OUT_DIR = Path("build/qr")
CHAT_PATH = "/chat"

# Stickers beside ATMs get scratched and dirty: level H still reads with ~30% damaged.
QR_ERROR_LEVEL = "h"
QR_BORDER_MODULES = 4  # the quiet zone the QR standard asks for
PNG_MODULE_PX = 10
PNG_DPI = 300  # 10 px modules at 300 dpi print ~0.85 mm each, ~4 cm for a typical code

# ---------------------------------------------------------------------------
# Validation and the URL


def normalize_base_url(raw: str) -> str:
    """`scheme://host[:port][/path]` without a trailing slash, or InputError.

    The widget reads its own query string, so a base URL with a query or fragment is
    refused rather than guessed at; so are credentials, which would be printed on every sign.
    """
    text = raw.strip()
    example = "例如 https://fanzha.example.com"
    if not text:
        raise InputError(f"公网地址（--base-url / PUBLIC_BASE_URL）不能为空，{example}")
    if any(ch.isspace() for ch in text) or has_control_characters(text):
        raise InputError(f"公网地址 {text!r} 含有空格或控制字符")
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a port that is not 0-65535
    except ValueError:
        raise InputError(f"公网地址 {text!r} 不是有效的网址，{example}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InputError(f"公网地址 {text!r} 必须以 http:// 或 https:// 开头，{example}")
    if not parts.hostname:
        raise InputError(f"公网地址 {text!r} 缺少主机名，{example}")
    if parts.username is not None or parts.password is not None:
        raise InputError(f"公网地址 {text!r} 不能包含用户名或密码")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise InputError(f"公网地址 {text!r} 不能带“?”或“#”后面的部分，只写到路径为止")
    try:
        # A Chinese domain name must be punycode in the QR: not every scanner converts it.
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise InputError(f"公网地址 {text!r} 的主机名无效") from None
    netloc = f"[{host}]" if ":" in host else host  # IPv6 literal
    if port is not None:
        netloc += f":{port}"
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~").rstrip("/")
    return f"{parts.scheme.lower()}://{netloc}{path}"


def build_chat_url(base_url: str, atm_id: str) -> str:
    """The URL the ATM's QR code encodes: `<base>/chat?entry=atm&atm=<id>`."""
    query = urlencode({"entry": "atm", "atm": validate_atm_id(atm_id)})
    return f"{normalize_base_url(base_url)}{CHAT_PATH}?{query}"


def readable_url(url: str) -> str:
    """The URL as a person reads it: a punycode host shown in Chinese again."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        readable_host = host.encode("ascii").decode("idna")
    except UnicodeError:
        return url
    return url.replace(host, readable_host, 1) if readable_host != host else url


def is_local_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "localhost" or host.endswith(".localhost") or host.startswith("127.") or host == "::1"


# ---------------------------------------------------------------------------
# Output files


def output_names(atm: Atm, with_sign: bool) -> List[str]:
    names = [f"{atm.atm_id}.png", f"{atm.atm_id}.svg"]
    if with_sign:
        names += [f"{atm.atm_id}-sign.svg", f"{atm.atm_id}-sign.html"]
    return names


def check_output_names_unique(atms: Sequence[Atm], with_sign: bool) -> None:
    """InputError if two ATMs would write the same file (e.g. `A` and `A-sign` with --sign)."""
    owner: Dict[str, str] = {}
    for atm in atms:
        for name in output_names(atm, with_sign):
            key = name.lower()
            if key in owner and owner[key] != atm.atm_id:
                raise InputError(f"ATM {owner[key]} 和 {atm.atm_id} 会写同一个文件 {name}，请改其中一个编号")
            owner[key] = atm.atm_id


# ---------------------------------------------------------------------------
# QR code


def make_qr(url: str) -> segno.QRCode:
    # make_qr, not make: a Micro QR code would not open in phone camera apps.
    return segno.make_qr(url, error=QR_ERROR_LEVEL)


def qr_png_bytes(qr: segno.QRCode) -> bytes:
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=PNG_MODULE_PX, border=QR_BORDER_MODULES, dpi=PNG_DPI)
    return buffer.getvalue()


def qr_svg_text(qr: segno.QRCode, title: str = "") -> str:
    """A standalone SVG of the code: 1 mm per module at 100 %, scalable to any print size."""
    buffer = io.BytesIO()
    # A white background so the code also reads when the sticker is printed on coloured stock.
    qr.save(
        buffer, kind="svg", border=QR_BORDER_MODULES, unit="mm", scale=1, light="#fff",
        title=title or None, svgclass=None, lineclass=None,
    )
    return buffer.getvalue().decode("utf-8")


def qr_svg_element(qr: segno.QRCode, x: float, y: float, size: float) -> str:
    """The code as a nested <svg> placed at (x, y) with the given size, for the sign."""
    inline = qr.svg_inline(
        border=QR_BORDER_MODULES, omitsize=True, svgclass=None, lineclass=None,
        dark="#000", light="#fff",
    )
    if not inline.startswith("<svg "):  # segno's output is the only input here
        raise RuntimeError(f"unexpected SVG from segno: {inline[:40]!r}")
    placement = f'id="qr" x="{_num(x)}" y="{_num(y)}" width="{_num(size)}" height="{_num(size)}" '
    return "<svg " + placement + inline[len("<svg "):]


# ---------------------------------------------------------------------------
# The printable sign

# The sign's words are atm_sign.* of knowledge/replies.yml, read when a sign is built; its
# numbers, these and the bank's hotline, are named as in the official directory.
SIGN_NUMBERS = ("110", "96110")

# A5 in millimetres. A4 has the same aspect ratio, so the HTML scales it to fill either.
SIGN_WIDTH_MM = 148
SIGN_HEIGHT_MM = 210
SIGN_MARGIN_MM = 10
SIGN_RED = "#c8102e"
SIGN_DARK_RED = "#8b0000"
SIGN_GREY = "#555"
# Fonts found on Windows, macOS and Linux print PCs; without a CJK font the text would be boxes.
SIGN_FONTS = (
    "'Microsoft YaHei', 'PingFang SC', 'Hiragino Sans GB', 'Noto Sans CJK SC', "
    "'Source Han Sans SC', 'WenQuanYi Micro Hei', sans-serif"
)


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _text_width_em(text: str) -> float:
    # Rough advance widths: CJK glyphs are 1 em, Latin letters and digits at most ~0.6 em.
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)


def fit_font_size(text: str, preferred: float, max_width: float) -> float:
    """`preferred`, or smaller so that `text` fits `max_width` (SVG text does not wrap)."""
    width_em = _text_width_em(text)
    return preferred if width_em == 0 else min(preferred, max_width / width_em)


def _svg_text(
    content: str, x: float, y: float, size: float, *, max_width: Optional[float] = None,
    bold: bool = False, fill: str = "#000", family: Optional[str] = None,
) -> str:
    if max_width is not None:
        size = fit_font_size(content, size, max_width)
    attributes = f'x="{_num(x)}" y="{_num(y)}" font-size="{_num(size)}" fill="{fill}"'
    if bold:
        attributes += ' font-weight="700"'
    if family:
        attributes += f' font-family="{family}"'
    return f"<text {attributes}>{html.escape(content)}</text>"


def sign_title(atm: Atm) -> str:
    return f"{say('atm_sign.heading')}（ATM {atm.atm_id}）"


def build_sign_svg(atm: Atm, url: str, bank: Bank) -> str:
    """The one-page A5 sign as SVG text: heading, QR code, what to do now, numbers, ATM id.

    Every inserted value (ATM id, location, bank name, URL) is XML-escaped.
    """
    if has_control_characters(bank.name):
        raise InputError(f"BANK_NAME {bank.name!r} 含有控制字符")
    width, height, margin = SIGN_WIDTH_MM, SIGN_HEIGHT_MM, SIGN_MARGIN_MM
    center = width / 2
    text_width = width - 2 * margin
    directory = official_directory(bank)
    numbers = [(number, directory[number].owner) for number in (*SIGN_NUMBERS, bank.hotline)]
    heading, warning = say_each("atm_sign.heading"), say_each("atm_sign.warning")
    footer = say("atm_sign.footer_atm", atm_id=atm.atm_id) + (
        "　　" + say("atm_sign.footer_location", location=atm.location) if atm.location else "")
    description = "".join(heading) + " " + "".join(warning) + " " + "，".join(
        f"{label} {number}" for number, label in numbers
    )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="sign-title sign-desc">',
        f'<title id="sign-title">{html.escape(sign_title(atm))}</title>',
        f'<desc id="sign-desc">{html.escape(description)}</desc>',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<g font-family="{SIGN_FONTS}" text-anchor="middle">',
        # Heading on a red band: the first thing seen from across the ATM lobby.
        f'<rect width="{width}" height="46" fill="{SIGN_RED}"/>',
        _svg_text(heading[0], center, 20, 14, max_width=text_width, bold=True, fill="#fff"),
        _svg_text(heading[1], center, 38, 14, max_width=text_width, bold=True, fill="#fff"),
        _svg_text(warning[0], center, 57, 6.5, max_width=text_width, bold=True),
        _svg_text(warning[1], center, 66, 6.5, max_width=text_width, bold=True, fill=SIGN_DARK_RED),
        qr_svg_element(make_qr(url), x=center - 35, y=70, size=70),
        _svg_text(say("atm_sign.scan_hint"), center, 145, 4, max_width=text_width),
        # The address in words, so a customer can tell a scammer's sticker pasted over ours.
        _svg_text(readable_url(url), center, 150.5, 2.6, max_width=text_width, fill=SIGN_GREY, family="monospace"),
        _svg_text(say("dial_yourself"), center, 160, 4.2, max_width=text_width, bold=True),
        f'<rect x="{margin}" y="163" width="{text_width}" height="26" rx="2" fill="none" '
        f'stroke="{SIGN_RED}" stroke-width="0.6"/>',
    ]
    column_width = text_width / len(numbers)
    for index, (number, label) in enumerate(numbers):
        column_center = margin + column_width * (index + 0.5)
        parts.append(_svg_text(number, column_center, 177, 10, max_width=column_width - 4, bold=True, fill=SIGN_RED))
        parts.append(_svg_text(label, column_center, 184.5, 3.6, max_width=column_width - 4))
    parts += [
        f'<line x1="{margin}" y1="195" x2="{width - margin}" y2="195" stroke="#ccc" stroke-width="0.3"/>',
        _svg_text(footer, center, 201.5, 3.2, max_width=text_width, fill=SIGN_GREY),
        "</g>",
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def build_sign_html(atm: Atm, url: str, bank: Bank) -> str:
    """The sign as a web page to print: the same SVG inline, one page on A5 or A4."""
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{html.escape(sign_title(atm))}</title>
<style>
  /* No fixed paper size: A5 and A4 share the 1:√2 ratio, so the sign fills either. */
  @page {{ margin: 6mm; }}
  html, body {{ margin: 0; padding: 0; background: #fff; }}
  svg.sign {{ display: block; margin: 0 auto; width: auto; height: 100vh; max-width: 100%; }}
  @media screen {{ body {{ background: #eee; }} svg.sign {{ height: 96vh; margin-top: 2vh; background: #fff; }} }}
  @media print {{ html, body {{ height: 100%; overflow: hidden; }} svg.sign {{ break-inside: avoid; }} }}
</style>
</head>
<body>
{build_sign_svg(atm, url, bank).replace("<svg ", '<svg class="sign" ', 1)}</body>
</html>
"""


# ---------------------------------------------------------------------------
# Command line


def render_files(atm: Atm, url: str, bank: Optional[Bank]) -> Dict[str, bytes]:
    """File name -> content for one ATM; signs only when `bank` is given."""
    qr = make_qr(url)
    files = {
        f"{atm.atm_id}.png": qr_png_bytes(qr),
        f"{atm.atm_id}.svg": qr_svg_text(qr, title=f"反诈助手 ATM {atm.atm_id}").encode("utf-8"),
    }
    if bank is not None:
        files[f"{atm.atm_id}-sign.svg"] = build_sign_svg(atm, url, bank).encode("utf-8")
        files[f"{atm.atm_id}-sign.html"] = build_sign_html(atm, url, bank).encode("utf-8")
    return files


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(
        prog="python -m tools.atm_qr",
        description="为 ATM 生成可打印的二维码（PNG 和 SVG）。客户扫码后打开 ATM 模式的反诈助手："
        "<公网地址>/chat?entry=atm&atm=<ATM编号>",
        epilog="示例：\n"
        "  python -m tools.atm_qr --atm ATM-001 --sign\n"
        "  python -m tools.atm_qr --csv atms.csv --base-url https://fanzha.example.com\n\n"
        "CSV 第一行必须是表头 atm_id,location,branch（location 和 branch 可省略），UTF-8 编码，带不带 BOM 都可以。\n"
        f"ATM编号{ATM_ID_RULE}。先检查全部输入，有问题时不写任何文件，退出码为 2。",
        formatter_class=ChineseHelpFormatter,
        add_help=False,
    )
    options = parser.add_argument_group("选项")
    options.add_argument("--atm", metavar="ID", help="为一台 ATM 生成，例如 ATM-001")
    options.add_argument("--csv", metavar="FILE", type=Path, help="为 CSV 清单里的每台 ATM 生成（列：atm_id,location,branch）")
    options.add_argument(
        "--base-url", metavar="URL",
        help=f"助手对外的公网地址；默认取环境变量 PUBLIC_BASE_URL，没有则为 {DEFAULT_BASE_URL}（只能本机测试）",
    )
    options.add_argument("--out", metavar="DIR", type=Path, default=DEFAULT_OUT_DIR, help=f"输出目录（默认 {DEFAULT_OUT_DIR}）")
    options.add_argument(
        "--sign", action="store_true",
        help="同时生成可打印的一页告示（<编号>-sign.svg 和 <编号>-sign.html，A5/A4）",
    )
    options.add_argument("-h", "--help", action="help", help="显示本帮助并退出")
    return parser


def _load_atms(args: argparse.Namespace, parser: argparse.ArgumentParser) -> List[Atm]:
    if (args.atm is None) == (args.csv is None):
        parser.error("请用 --atm 指定一台 ATM，或用 --csv 指定 ATM 清单（二选一）")
    if args.atm is not None:
        return [Atm(validate_atm_id(args.atm))]
    return read_atm_csv(args.csv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        try:
            config = settings()
        except SettingsError as error:
            raise InputError(str(error)) from None
        atms = _load_atms(args, parser)
        base_url = normalize_base_url(
            args.base_url if args.base_url is not None else config.public_base_url
        )
        check_output_names_unique(atms, with_sign=args.sign)
        bank = config.bank if args.sign else None
        # Build everything in memory first, so bad input never leaves half a batch on disk.
        urls = [build_chat_url(base_url, atm.atm_id) for atm in atms]
        rendered = [(atm, url, render_files(atm, url, bank)) for atm, url in zip(atms, urls)]
    except InputError as error:
        print(f"错误：{error}\n没有生成任何文件。", file=sys.stderr)
        return EXIT_INVALID_INPUT

    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for atm, url, files in rendered:
            for name, content in files.items():
                (args.out / name).write_bytes(content)
            print(f"{atm.atm_id}\t{url}")
    except OSError as error:
        print(f"错误：无法写入 {error.filename or args.out}：{error.strerror or error}", file=sys.stderr)
        return EXIT_WRITE_FAILED

    kinds = "PNG、SVG 和告示" if args.sign else "PNG 和 SVG"
    print(f"已为 {len(rendered)} 台 ATM 生成二维码（{kinds}），保存在 {args.out}")
    if is_local_url(base_url):
        print(
            f"注意：二维码指向 {base_url}，只有本机能打开。打印前请用 --base-url 或环境变量 "
            "PUBLIC_BASE_URL 设置对外的 https 地址。",
            file=sys.stderr,
        )
    elif not base_url.startswith("https://"):
        print(f"注意：{base_url} 不是 https 地址，客户手机可能提示不安全。", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
