"""Deployment settings: which bank runs the assistant, and its web domain."""

import pytest

from core.settings import bank_domain_from_env, bank_from_env


def test_defaults_to_icbc():
    bank = bank_from_env()
    assert (bank.name, bank.hotline) == ("工商银行", "95588")


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("BANK_NAME", " 建设银行 ")
    monkeypatch.setenv("BANK_HOTLINE", " 95533 ")
    bank = bank_from_env()
    assert (bank.name, bank.hotline) == ("建设银行", "95533")


@pytest.mark.parametrize("value", ["", "   "])
def test_blank_values_fall_back_to_defaults(monkeypatch, value):
    monkeypatch.setenv("BANK_NAME", value)
    monkeypatch.setenv("BANK_HOTLINE", value)
    bank = bank_from_env()
    assert (bank.name, bank.hotline) == ("工商银行", "95588")


@pytest.mark.parametrize("hotline", ["abc", "955-33", "95", "1234567890123", "+8695533", "9553３x"])
def test_invalid_hotline_raises_clear_error(monkeypatch, hotline):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", hotline)
    with pytest.raises(ValueError, match="BANK_HOTLINE") as error:
        bank_from_env()
    assert repr(hotline) in str(error.value)


def test_full_width_hotline_is_rejected(monkeypatch):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", "９５５３３")
    with pytest.raises(ValueError, match="ASCII digits"):
        bank_from_env()


@pytest.mark.parametrize("variable", ["BANK_NAME", "BANK_HOTLINE"])
def test_name_and_hotline_are_configured_together(monkeypatch, variable):
    monkeypatch.setenv(variable, "建设银行" if variable == "BANK_NAME" else "95533")
    with pytest.raises(ValueError, match="together"):
        bank_from_env()


# --- BANK_DOMAIN ------------------------------------------------------------------


@pytest.fixture
def no_bank_domain(monkeypatch):
    monkeypatch.delenv("BANK_DOMAIN", raising=False)


def test_bank_domain_defaults_to_icbc(no_bank_domain):
    assert bank_domain_from_env() == "icbc.com.cn"


def test_icbc_named_explicitly_keeps_the_default_domain(monkeypatch, no_bank_domain):
    monkeypatch.setenv("BANK_NAME", "工商银行")
    monkeypatch.setenv("BANK_HOTLINE", "95588")
    assert bank_domain_from_env() == "icbc.com.cn"


def test_another_bank_without_domain_vouches_for_no_site(monkeypatch, no_bank_domain):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", "95533")
    assert bank_domain_from_env() == ""


def test_bank_domain_from_environment(monkeypatch):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", "95533")
    monkeypatch.setenv("BANK_DOMAIN", " CCB.com ")
    assert bank_domain_from_env() == "ccb.com"


def test_bank_domain_without_bank_name_is_refused(monkeypatch):
    monkeypatch.setenv("BANK_DOMAIN", "ccb.com")
    with pytest.raises(ValueError, match="BANK_NAME"):
        bank_domain_from_env()


@pytest.mark.parametrize(
    "domain", ["https://ccb.com", "ccb.com/", "www.ccb.com:443", "ccb", "建设银行.com", "-ccb.com", "ccb..com"]
)
def test_invalid_bank_domain_raises_clear_error(monkeypatch, domain):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", "95533")
    monkeypatch.setenv("BANK_DOMAIN", domain)
    with pytest.raises(ValueError, match="BANK_DOMAIN") as error:
        bank_domain_from_env()
    assert repr(domain.strip().lower()) in str(error.value)
