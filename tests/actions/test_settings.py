"""Deployment settings: which bank runs the assistant."""

import pytest

from actions.settings import bank_from_env


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
