"""Phone numbers: find them in a text, check one against the directory, and say what is
suspicious about an unofficial one (the patterns are in number_rules.yml)."""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

import yaml

from core import RULES
from core.directory import OfficialNumber

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


# --- assessing a number the customer asks about -----------------------------------

NUMBER_RULES_FILE = RULES / "number_rules.yml"
NUMBER_REASON_KEYS = (
    "international", "hotline_with_extras", "mobile", "virtual_operator", "caller_id_spoofable",
)

# A candidate is a phone-like run that is not an amount, a date, an age or a count
# (the same exclusions as the phone_number regex in data/nlu/regex.yml), nor part of a
# word or link (12366-tax.top, www.95588.com). At most 25 characters, enough for any
# number with separators: a longer digit run (a card number) gives none.
_CANDIDATE = re.compile(
    r"(?<![\dA-Za-z./])\+?\d(?:[\d\- ]{0,23}\d)?"
    r"(?![\d.\-]*\s*(?:元|块|万|千|百|%|岁|年|月|日|号|点|分|个|天|次|条|w|k)|\d|[.\-]?[A-Za-z])",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
# A card number the channels masked ("6222 **** **** 7894") keeps two 4-digit groups
# that are not phone numbers.
_MASKED_CARD = re.compile(r"\d{4}(?:[ \-]?\*+)+[ \-]?\d{4}")
_INTERNATIONAL_PREFIX = re.compile(r"^(?:\+|00)")
_MAINLAND_PREFIX = re.compile(r"^(?:\+86|0086)")
_MOBILE = re.compile(r"1[3-9]\d{9}")
# E.164 numbers have at most 15 digits after the international prefix; longer runs are
# card or ID numbers, which are neither checked nor repeated.
MAX_PHONE_DIGITS = 15
# A short hotline (110) turns up inside ordinary numbers by chance, so it counts as
# imitated only behind a + or 0 prefix; longer ones (95588) count at either end.
_SHORT_HOTLINE_DIGITS = 4


@dataclass(frozen=True)
class NumberRules:
    virtual_operator_prefixes: Tuple[str, ...]
    reasons: Dict[str, str]


@lru_cache(maxsize=1)
def load_number_rules() -> NumberRules:
    raw = yaml.safe_load(NUMBER_RULES_FILE.read_text(encoding="utf-8"))
    reasons = {key: str(text) for key, text in raw["reasons"].items()}
    if set(reasons) != set(NUMBER_REASON_KEYS):
        raise ValueError(f"number_rules.yml reasons must be exactly {NUMBER_REASON_KEYS}")
    prefixes = tuple(str(prefix) for prefix in raw["virtual_operator_prefixes"])
    if not all(re.fullmatch(r"1\d\d", prefix) for prefix in prefixes):
        raise ValueError(f"virtual_operator_prefixes must be mobile prefixes such as '170': {prefixes}")
    return NumberRules(virtual_operator_prefixes=prefixes, reasons=reasons)


@dataclass(frozen=True)
class NumberVerdict:
    """What the assistant can say about one number.

    `number` is as dialled (digits, a leading "+" kept) and must not be repeated to the
    customer unless `official`. `official_number` is the directory entry it matched
    ("96110" for "0731-96110"); `imitates` the official number it is built around
    ("95588" for "0095588"). `reasons` are short Chinese sentences, safe to say;
    `patterns` their keys in number_rules.yml ("international", …), for payloads.
    """

    number: str
    official: bool
    owner: str
    official_number: str
    imitates: str
    spoofable: bool
    reasons: Tuple[str, ...]
    patterns: Tuple[str, ...]


def candidate_numbers(text: str) -> List[str]:
    """Phone numbers in free text, as dialled, first mention first, without repeats.

    Amounts (5000元), dates (2024年, 2024-11-27), ages and card or ID numbers (masked or
    not) are left out.
    """
    text = _MASKED_CARD.sub(" ", unicodedata.normalize("NFKC", text or ""))
    found = []
    for match in _CANDIDATE.finditer(text):
        if _ISO_DATE.fullmatch(match.group()):
            continue
        number = digits_of(match.group())
        significant_digits = len(_INTERNATIONAL_PREFIX.sub("", number))
        if len(number.lstrip("+")) >= 3 and significant_digits <= MAX_PHONE_DIGITS:
            found.append(number)
    return list(dict.fromkeys(found))


def assess_number(text: str, directory: Dict[str, OfficialNumber]) -> Optional[NumberVerdict]:
    """The verdict on the first number in `text` (a bare number or a sentence), or None."""
    candidates = candidate_numbers(text)
    return _verdict(candidates[0], directory) if candidates else None


def _verdict(number: str, directory: Dict[str, OfficialNumber]) -> NumberVerdict:
    check = check_number(number, directory)
    if check.official:
        imitates, patterns = "", ["caller_id_spoofable"]
    else:
        imitates, patterns = _suspicious_patterns(number, directory)
    official_number = check.official_number or ""
    texts = load_number_rules().reasons
    return NumberVerdict(
        number=number,
        official=check.official,
        owner=check.owner or "",
        official_number=official_number,
        imitates=imitates,
        spoofable=check.official,
        reasons=tuple(texts[p].format(official=official_number or imitates) for p in patterns),
        patterns=tuple(patterns),
    )


def _suspicious_patterns(number: str, directory: Dict[str, OfficialNumber]) -> Tuple[str, List[str]]:
    """For an unofficial number: the official number it imitates ("" if none), its patterns."""
    national = _MAINLAND_PREFIX.sub("", number)
    is_mobile = bool(_MOBILE.fullmatch(national))
    # A mobile number that happens to end in 95588 is a coincidence, not a disguise.
    imitates = "" if is_mobile else _imitated_hotline(number, directory)
    patterns = []
    if _INTERNATIONAL_PREFIX.match(number) and not _MAINLAND_PREFIX.match(number):
        patterns.append("international")
    if imitates:
        patterns.append("hotline_with_extras")
    if is_mobile:
        patterns.append("mobile")
        if national.startswith(load_number_rules().virtual_operator_prefixes):
            patterns.append("virtual_operator")
    return imitates, patterns


def _imitated_hotline(number: str, directory: Dict[str, OfficialNumber]) -> str:
    """The official number `number` is built around (95588-123456, 0095588), or ""."""
    digits = number.lstrip("+")
    for hotline in sorted(directory, key=len, reverse=True):
        if len(hotline) > _SHORT_HOTLINE_DIGITS:
            if digits.startswith(hotline) or digits.endswith(hotline):
                return hotline
        elif digits.endswith(hotline) and number.startswith(("+", "0")):
            return hotline
    return ""


def pattern_verdict(pattern: str, prefix: str, directory: Dict[str, OfficialNumber]) -> NumberVerdict:
    """What can be said of a kind of number the customer described without giving it
    ("+00开头的号码", "95588后面带一串数字的号码"): the pattern's reason, no number to repeat."""
    if pattern not in NUMBER_REASON_KEYS:
        raise ValueError(f"unknown number pattern {pattern!r}; expected one of {NUMBER_REASON_KEYS}")
    official = prefix if prefix in directory else ""
    reason = load_number_rules().reasons[pattern].format(official=official)
    return NumberVerdict(
        number="", official=False, owner="", official_number="", imitates=official,
        spoofable=False, reasons=(reason,), patterns=(pattern,),
    )
