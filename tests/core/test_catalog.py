"""The knowledge the assistant speaks from: catalog.yml and official_numbers.yml."""

import re
from pathlib import Path

import pytest
import yaml

from core.catalog import RISK_LEVELS, load_catalog
from core.directory import NUMBERS_FILE
from core.directory import BANK_HOTLINE_REF, load_official_numbers, resolve_hotlines
from core.numbers import phone_like_numbers
from core.settings import Bank

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BANK = Bank("工商银行", "95588")
SEED_TYPES = {"tax_refund", "impersonate_police", "impersonate_social_security", "credential_request"}


def labelled_scam_ids():
    """The scam-type ids listed in docs/labeling.md (rows of the form | `scam_<id>` |)."""
    text = (ROOT / "docs" / "labeling.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `scam_(\w+)` \|", text, flags=re.MULTILINE)


CATALOG = load_catalog()
SCAMS = list(CATALOG.scam_types.values())
DIRECTORY_NUMBERS = {entry.number for entry in load_official_numbers()}
by_id = pytest.mark.parametrize("scam", SCAMS, ids=lambda s: s.id)


def texts_of(scam):
    """Every piece of catalog text the assistant may say about `scam`."""
    return [scam.name, scam.verdict, scam.how_it_goes, *scam.red_flags, *scam.steps, scam.seed_case or ""]


def test_catalog_has_exactly_the_labelled_scam_types():
    ids = labelled_scam_ids()
    assert len(ids) == 19
    assert set(CATALOG.scam_types) == set(ids)


def test_domain_has_an_intent_per_scam_type(domain):
    scam_intents = {i for i in domain["intents"] if i.startswith("scam_")}
    assert scam_intents == {f"scam_{scam_id}" for scam_id in CATALOG.scam_types}


@by_id
def test_every_field_is_filled(scam):
    for field in ("name", "risk", "verdict", "how_it_goes", "red_flags", "steps", "hotlines"):
        assert getattr(scam, field), field
    for item in (*scam.red_flags, *scam.steps, *scam.hotlines):
        assert isinstance(item, str) and item.strip()


@by_id
def test_shape_of_each_entry(scam):
    assert scam.risk in RISK_LEVELS
    assert 2 <= len(scam.steps) <= 4
    assert 3 <= len(scam.red_flags) <= 5


@by_id
def test_hotlines_are_official_or_bank(scam):
    assert set(scam.hotlines) <= DIRECTORY_NUMBERS | {BANK_HOTLINE_REF}


def test_seed_types_have_seed_case():
    assert {s.id for s in SCAMS if s.seed_case} == SEED_TYPES


@by_id
def test_numbers_in_text_are_the_entrys_hotlines(scam):
    allowed = set(resolve_hotlines(scam.hotlines, DEFAULT_BANK))
    for text in texts_of(scam):
        assert set(phone_like_numbers(text)) <= allowed, text


@by_id
def test_amounts_are_written_in_chinese(scam):
    for text in texts_of(scam):
        assert not re.search(r"\d+\s*[元万块]", text), text


def test_money_lost_guidance():
    guidance = CATALOG.money_lost
    allowed = set(resolve_hotlines(guidance.hotlines, DEFAULT_BANK))
    assert guidance.verdict and guidance.steps
    assert set(guidance.hotlines) <= DIRECTORY_NUMBERS | {BANK_HOTLINE_REF}
    assert {"110", BANK_HOTLINE_REF} <= set(guidance.hotlines)
    for text in (guidance.verdict, *guidance.steps):
        assert set(phone_like_numbers(text)) <= allowed, text
        assert not re.search(r"\d+\s*[元万块]", text), text


def test_risk_signals_are_non_empty_words():
    assert CATALOG.risk_signals
    assert all(signal.strip() for signal in CATALOG.risk_signals)


# --- official_numbers.yml ---------------------------------------------------------


def test_directory_numbers_are_unique():
    raw = yaml.safe_load(NUMBERS_FILE.read_text(encoding="utf-8"))
    numbers = [str(n["number"]) for n in raw["numbers"]]
    assert len(numbers) == len(set(numbers))


@pytest.mark.parametrize("entry", load_official_numbers(), ids=lambda e: e.number)
def test_directory_entry_is_complete(entry):
    assert re.fullmatch(r"\d{3,12}", entry.number)
    assert entry.owner.strip()
    assert entry.purpose.strip()


@pytest.mark.parametrize("number", ["110", "96110", "12366", "12333", "95588"])
def test_directory_has_key_numbers(number):
    assert number in DIRECTORY_NUMBERS
