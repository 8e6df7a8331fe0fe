"""Which customer texts may run as an intent (core/commands.py), without Rasa."""

import pytest

from core.commands import allowed_command, as_text, atm_entry_id, reads_as_command
from core.text import normalise

OFFERED = frozenset({"/money_lost", "/verify_number", "/human_handoff",
                     '/ask_real_case{"scam_type": "tax_refund"}'})


@pytest.mark.parametrize("text", [
    "/restart", "／restart", " /restart", "\u200b/restart", "\u3000／session_start", "/back",
    '/human_handoff{"atm_id": "<script>alert(1)</script>"}', "/", "//", "/ 123",
])
def test_what_rasa_would_unpack_reads_as_a_command(text):
    assert reads_as_command(text)


@pytest.mark.parametrize("text", [
    "", None, "转人工", "税务局说退税", "12366/95588哪个是真的", "http://a.example/x", "1/2",
    "说 /restart",
])
def test_other_texts_do_not(text):
    assert not reads_as_command(text)


@pytest.mark.parametrize("text", sorted(OFFERED))
def test_a_button_just_offered_is_allowed(text):
    assert allowed_command(text, OFFERED)


@pytest.mark.parametrize("text", [
    "/restart", "/session_start", "/back", "/money_lost ", "／money_lost", "/Money_lost",
    '/money_lost{"amount": "50000"}', '/human_handoff{"atm_id": "ATM-0042"}',
    '/ask_real_case{"scam_type": "fake_loan"}', '/greet{"atm_id": "\' OR 1=1 --"}',
    "/human_handoff@0.5",
])
def test_anything_else_starting_with_a_slash_is_not(text):
    assert not allowed_command(text, OFFERED)


def test_nothing_offered_allows_nothing_but_the_atm_entry():
    assert not allowed_command("/money_lost", frozenset())
    assert allowed_command('/atm_entry{"atm_id":"ATM-0042"}', frozenset())


@pytest.mark.parametrize("text, atm_id", [
    ('/atm_entry{"atm_id":"ATM-0042"}', "ATM-0042"),  # as the widget sends it
    ('/atm_entry{"atm_id": "ATM-0042_b"}', "ATM-0042_b"),
    ('/atm_entry{"atm_id": "<script>"}', None),
    ('/atm_entry{"atm_id": "' + "A" * 33 + '"}', None),
    ('/atm_entry{"atm_id": {"nested": [1, 2]}}', None),
    ('/atm_entry{"atm_id": null}', None),
    ('/atm_entry{"atm_id": "ATM-1", "scam_type": "x"}', None),
    ('/atm_entry{"atm_id": "ATM-1"', None),
    ("/atm_entry", None),
    ('/atm_entry@1.0{"atm_id": "ATM-1"}', None),
    ('／atm_entry{"atm_id": "ATM-1"}', None),
    ('/human_handoff{"atm_id": "ATM-1"}', None),
])
def test_the_atm_entry_is_exactly_the_widgets(text, atm_id):
    assert atm_entry_id(text) == atm_id
    assert allowed_command(text, frozenset()) == (atm_id is not None)


def test_an_atm_entry_nested_thousands_deep_is_refused_not_a_crash():
    text = '/atm_entry{"atm_id": ' + "[" * 9000 + "]" * 9000 + "}"
    assert atm_entry_id(text) is None and not allowed_command(text, frozenset())


@pytest.mark.parametrize("text", ["/restart", "／restart", "\u200b/restart", "  /back",
                                  '/human_handoff{"atm_id": "x"}'])
def test_a_refused_command_reaches_the_classifier_as_text(text):
    refused = as_text(text)
    assert refused.startswith("／") and not refused.startswith("/")
    # The normaliser gives the classifier's features the same text either way.
    assert normalise(refused) == normalise(text)


def test_plain_text_is_left_alone():
    assert as_text("税务局说退税") == "税务局说退税"
