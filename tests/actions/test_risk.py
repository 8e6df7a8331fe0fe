"""The risk rule: a scam type's own risk, raised to high by a red-flag signal."""

import pytest

from actions.catalog import RISK_LEVELS, load_catalog
from actions.risk import score_risk

SIGNALS = load_catalog().risk_signals


@pytest.mark.parametrize("base", RISK_LEVELS)
@pytest.mark.parametrize("message", ["有人给我打电话", "", None])
def test_base_risk_kept_without_signal(base, message):
    assert score_risk(base, message, SIGNALS) == base


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("base", ["low", "medium"])
def test_each_signal_raises_to_high(signal, base):
    assert score_risk(base, f"对方说{signal}就行", SIGNALS) == "high"


@pytest.mark.parametrize("message", ["让我去atm机", "去Atm上操作", "ATM"])
def test_atm_matched_case_insensitively(message):
    assert score_risk("medium", message, SIGNALS) == "high"


def test_lower_case_signal_list_still_matches_upper_case_message():
    assert score_risk("low", "先把U盾插上", ["u盾"]) == "high"


@pytest.mark.parametrize("base", ["HIGH", "critical", "", None])
def test_invalid_base_risk_raises(base):
    with pytest.raises(ValueError):
        score_risk(base, "转账", SIGNALS)
