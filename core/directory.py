"""The official-number directory (knowledge/official_numbers.yml): every number the
assistant may say, plus the configured bank's hotline.

The numbers are the same in every language; owners and purposes come in the reply's
language: English from official_numbers.en.yml (by number), Traditional through OpenCC.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterable, List, Tuple

import yaml

from core import KNOWLEDGE
from core.language import ENGLISH, SIMPLIFIED, TRADITIONAL, to_traditional
from core.settings import Bank

NUMBERS_FILE = KNOWLEDGE / "official_numbers.yml"
# In a catalog `hotlines` list, this word stands for the configured bank's hotline.
BANK_HOTLINE_REF = "bank"


@dataclass(frozen=True)
class OfficialNumber:
    number: str
    owner: str
    purpose: str


@lru_cache(maxsize=1)
def _raw() -> dict:
    return yaml.safe_load(NUMBERS_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _raw_english() -> dict:
    from core.wording import english_file

    return yaml.safe_load(english_file(NUMBERS_FILE).read_text(encoding="utf-8"))


def _words(entry: dict, number: str, language: str) -> Tuple[str, str]:
    """(owner, purpose) of a directory entry in `language`."""
    if language == ENGLISH:
        english = _raw_english()["numbers"][number] if number else _raw_english()["bank_hotline"]
        return english["owner"], english["purpose"]
    if language == TRADITIONAL:
        return to_traditional(entry["owner"]), to_traditional(entry["purpose"])
    return entry["owner"], entry["purpose"]


@lru_cache(maxsize=None)
def load_official_numbers(language: str = SIMPLIFIED) -> Tuple[OfficialNumber, ...]:
    numbers = []
    for n in _raw()["numbers"]:
        owner, purpose = _words(n, str(n["number"]), language)
        numbers.append(OfficialNumber(number=str(n["number"]), owner=owner, purpose=purpose))
    return tuple(numbers)


def official_directory(bank: Bank, language: str = SIMPLIFIED) -> Dict[str, OfficialNumber]:
    """Every number the assistant may say: the official list plus the bank's hotline,
    their owners and purposes in `language`."""
    directory = {entry.number: entry for entry in load_official_numbers(language)}
    if bank.hotline not in directory:
        owner, purpose = _words(_raw()["bank_hotline"], "", language)
        name = bank.name_in(language)
        directory[bank.hotline] = OfficialNumber(
            number=bank.hotline,
            owner=owner.format(bank_name=to_traditional(name) if language == TRADITIONAL else name),
            purpose=purpose,
        )
    return directory


def resolve_hotlines(hotlines: Iterable[str], bank: Bank) -> List[str]:
    """Catalog hotline references to the numbers to dial, `bank` replaced, order kept."""
    resolved = [bank.hotline if ref == BANK_HOTLINE_REF else ref for ref in hotlines]
    return list(dict.fromkeys(resolved))
