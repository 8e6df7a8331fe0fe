"""Phone numbers: find the phone-like numbers in a text and check one against the directory."""

import re
from dataclasses import dataclass
from typing import Dict, List, Optional

from actions.catalog import OfficialNumber

# Three or more digits, optionally split by spaces or hyphens on one line ("0731-12333",
# "+86 955 88"). Newlines never join two numbers.
_PHONE_LIKE = re.compile(r"\+?\d(?:[\d\- ]*\d)?")
_AREA_CODE_96110 = re.compile(r"0\d{2,3}96110")


def digits_of(number: str) -> str:
    """The number as dialled: digits only, a leading + kept."""
    plus = "+" if number.strip().startswith("+") else ""
    return plus + re.sub(r"\D", "", number)


def phone_like_numbers(text: str) -> List[str]:
    """Every run of three or more digits in `text`, as dialled."""
    found = (digits_of(match.group()) for match in _PHONE_LIKE.finditer(text or ""))
    return [number for number in found if len(number.lstrip("+")) >= 3]


def unlisted_numbers(text: str, directory: Dict[str, OfficialNumber]) -> List[str]:
    """Phone-like numbers in `text` that the assistant is not allowed to say."""
    return [number for number in phone_like_numbers(text) if number not in directory]


@dataclass(frozen=True)
class NumberCheck:
    number: str
    official: bool
    owner: Optional[str]
    official_number: Optional[str]


def check_number(raw: str, directory: Dict[str, OfficialNumber]) -> NumberCheck:
    """Is `raw` an official number? Only an exact match, or area code + 96110, counts."""
    number = digits_of(raw)
    entry = directory.get(number)
    if entry is None and _AREA_CODE_96110.fullmatch(number):
        entry = directory.get("96110")
    if entry is None:
        return NumberCheck(number=number, official=False, owner=None, official_number=None)
    return NumberCheck(
        number=number, official=True, owner=entry.owner, official_number=entry.number
    )
