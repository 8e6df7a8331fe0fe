"""The bank's ATM list: id, location and branch of each machine, from a CSV.

    atm_id,location,branch
    ATM-001,"朝阳支行, 大厅",朝阳支行

`location` and `branch` are optional columns; other columns are ignored. The QR tool
(tools/atm_qr.py) prints signs from it; the action server reads the branch of the ATM a
customer came from (core/assessment_records.py), and the staff console shows where an
ATM is. ATM_LIST names the CSV the servers use (no list: ATMs are known by id only).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from core.settings import settings

ATM_LIST_ENV = "ATM_LIST"

# ASCII only: the id becomes a file name and a query value, and staff type it from a label.
ATM_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
ATM_ID_RULE = "只能用英文字母、数字、“-”和“_”，1-32 个字符"
LOCATION_MAX_CHARS = 60
BRANCH_MAX_CHARS = 60

CSV_ID_COLUMN = "atm_id"
CSV_LOCATION_COLUMN = "location"
CSV_BRANCH_COLUMN = "branch"
MAX_ERRORS_SHOWN = 20


class InputError(ValueError):
    """Bad input from the person running the tool; the message is Chinese and says what to fix."""


@dataclass(frozen=True)
class Atm:
    atm_id: str
    location: str = ""
    branch: str = ""


def validate_atm_id(raw: str) -> str:
    """The id without surrounding blanks, or InputError saying what is allowed."""
    atm_id = raw.strip()
    if not atm_id:
        raise InputError(f"ATM编号不能为空（{ATM_ID_RULE}）")
    if not ATM_ID_PATTERN.fullmatch(atm_id):
        raise InputError(f"ATM编号 {atm_id!r} 不合规：{ATM_ID_RULE}")
    return atm_id


def has_control_characters(text: str) -> bool:
    # Category C: control, format (e.g. bidi overrides that reorder printed text), surrogate,
    # private use, unassigned. XML cannot hold most control characters even when escaped.
    return any(unicodedata.category(ch).startswith("C") for ch in text)


def _validate_text(raw: str, what: str, max_chars: int) -> str:
    text = raw.strip()
    if has_control_characters(text):
        raise InputError(f"{what} {text!r} 含有控制字符")
    if len(text) > max_chars:
        raise InputError(f"{what} {text!r} 太长：最多 {max_chars} 个字")
    return text


def validate_location(raw: str) -> str:
    return _validate_text(raw, "位置", LOCATION_MAX_CHARS)


def validate_branch(raw: str) -> str:
    return _validate_text(raw, "网点", BRANCH_MAX_CHARS)


def _join_errors(errors: Sequence[str]) -> str:
    shown = list(errors[:MAX_ERRORS_SHOWN])
    if len(errors) > MAX_ERRORS_SHOWN:
        shown.append(f"……另有 {len(errors) - MAX_ERRORS_SHOWN} 处问题")
    return "\n".join(shown)


def parse_atm_csv(text: str, source: str = "CSV") -> List[Atm]:
    """ATMs from CSV text with header `atm_id[,location][,branch]`; other columns are ignored.

    Every row is checked before anything is returned, and all problems are reported at
    once with line numbers, so a list with one typo is refused whole.
    """
    text = text.removeprefix("\ufeff")  # BOM left by Excel's "CSV UTF-8"
    # strict: an unclosed quote is a mistake to report, not a location that swallows the rest.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise InputError(f"{source} 是空的：第一行必须是表头 atm_id,location,branch")
        columns = [cell.strip().lower() for cell in header]
        if CSV_ID_COLUMN not in columns:
            raise InputError(
                f"{source} 第 1 行必须是表头，且包含 atm_id 列（可选 location、branch 列），"
                f"实际是：{','.join(header)!r}"
            )
        for name in (CSV_ID_COLUMN, CSV_LOCATION_COLUMN, CSV_BRANCH_COLUMN):
            if columns.count(name) > 1:
                raise InputError(f"{source} 表头里 {name} 列出现了不止一次")
        id_index = columns.index(CSV_ID_COLUMN)
        optional = {
            name: columns.index(name) if name in columns else None
            for name in (CSV_LOCATION_COLUMN, CSV_BRANCH_COLUMN)
        }

        def cell(row: List[str], name: str) -> str:
            index = optional[name]
            return row[index] if index is not None and index < len(row) else ""

        atms: List[Atm] = []
        errors: List[str] = []
        first_line_of: Dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank lines are common at the end of exported files
            if any(cell.strip() for cell in row[len(columns):]):
                errors.append(f"第 {line} 行：列数比表头多（位置里有逗号时请用英文双引号括起来）")
                continue
            try:
                atm_id = validate_atm_id(row[id_index] if id_index < len(row) else "")
                location = validate_location(cell(row, CSV_LOCATION_COLUMN))
                branch = validate_branch(cell(row, CSV_BRANCH_COLUMN))
            except InputError as error:
                errors.append(f"第 {line} 行：{error}")
                continue
            # Case-insensitive: ATM-1 and atm-1 would overwrite each other's files on
            # Windows and macOS, and are most likely one machine typed twice.
            key = atm_id.lower()
            if key in first_line_of:
                errors.append(f"第 {line} 行：ATM编号 {atm_id} 与第 {first_line_of[key]} 行重复")
                continue
            first_line_of[key] = line
            atms.append(Atm(atm_id, location, branch))
    except csv.Error as error:
        raise InputError(f"{source} 格式有误（第 {reader.line_num} 行）：{error}") from None
    if errors:
        raise InputError(f"{source} 有 {len(errors)} 处问题：\n{_join_errors(errors)}")
    if not atms:
        raise InputError(f"{source} 只有表头，没有任何 ATM")
    return atms


def read_atm_csv(path: Path) -> List[Atm]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"无法读取 CSV 文件 {str(path)!r}：{error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            f"CSV 文件 {str(path)!r} 不是 UTF-8 编码（Excel 请“另存为 → CSV UTF-8”）"
        ) from None
    return parse_atm_csv(text, source=f"CSV 文件 {str(path)!r}")


@lru_cache(maxsize=4)
def _atms_by_id(path: str, modified: float) -> Dict[str, Atm]:
    return {atm.atm_id.lower(): atm for atm in read_atm_csv(Path(path))}


def atm_list_path() -> Optional[Path]:
    raw = settings().atm_list
    return Path(raw) if raw else None


def known_atms() -> Dict[str, Atm]:
    """The ATMs of ATM_LIST by lower-cased id; {} when it is unset. Re-read when the file
    changes, so a new list takes effect without a restart. InputError if it is bad."""
    path = atm_list_path()
    if path is None:
        return {}
    try:
        modified = path.stat().st_mtime
    except OSError as error:
        raise InputError(f"{ATM_LIST_ENV}：无法读取 {str(path)!r}：{error.strerror or error}") from None
    return _atms_by_id(str(path), modified)


def find_atm(atm_id: Optional[str]) -> Optional[Atm]:
    """The listed ATM with this id (case-insensitive), or None."""
    if not atm_id:
        return None
    return known_atms().get(atm_id.lower())
