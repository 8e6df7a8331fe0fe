"""Handoff records (core/handoff_records.py): what a slot holds is checked before it is
written, so no customer-made value reaches the record and none breaks the insert."""

import sqlite3

import pytest

from core import handoff_records
from core.handoff_records import HandoffRequest, now, record_handoff


def request(conversation="conv-1", **slots):
    values = {"scam_type": "tax_refund", "risk": "high", "atm_id": "ATM-0042", **slots}
    return HandoffRequest(conversation, values["scam_type"], values["risk"], values["atm_id"], now())


def stored(db):
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT reference, scam_type, risk, atm_id FROM handoff_requests ORDER BY id").fetchall()


def test_valid_values_are_written_as_they_are(tmp_path):
    db = tmp_path / "rasa.db"
    reference = record_handoff(f"sqlite:///{db}", request())
    assert stored(db) == [(reference, "tax_refund", "high", "ATM-0042")]
    record_handoff(f"sqlite:///{db}", request("conv-2", scam_type="suspected_fraud"))
    assert stored(db)[1][1] == "suspected_fraud"


HOSTILE = ["<script>alert(1)</script>", "' OR 1=1 --", {"nested": [1, 2]}, [1, 2], 42, 1e999,
           "", "A" * 33, "ATM 0042", "../../etc/passwd", True]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize("slot", ["scam_type", "risk", "atm_id"])
def test_a_value_that_is_not_what_the_column_holds_is_stored_as_null(tmp_path, slot, value):
    db = tmp_path / "rasa.db"
    reference = record_handoff(f"sqlite:///{db}", request(**{slot: value}))
    assert reference
    (row,) = stored(db)
    assert dict(zip(("scam_type", "risk", "atm_id"), row[1:]))[slot] is None


def test_one_bad_value_does_not_break_the_conversations_handoffs(tmp_path):
    """The insert failed on {"nested": [1, 2]}, so every later handoff of the
    conversation answered reference: null."""
    db = tmp_path / "rasa.db"
    url = f"sqlite:///{db}"
    first = record_handoff(url, request(atm_id={"nested": [1, 2]}))
    again = record_handoff(url, request(atm_id={"nested": [1, 2]}))
    other = record_handoff(url, request("conv-2"))
    assert first and again == first and other != first
    assert [row[3] for row in stored(db)] == [None, "ATM-0042"]


@pytest.mark.parametrize("scam_type, risk", [("not_a_type", "high"), ("tax_refund", "extreme"),
                                             ("TAX_REFUND", "HIGH")])
def test_only_catalog_types_and_risk_levels_pass(scam_type, risk):
    checked = handoff_records.checked_request(request(scam_type=scam_type, risk=risk))
    assert (checked.scam_type == scam_type) == (scam_type == "tax_refund")
    assert (checked.risk == risk) == (risk == "high")
