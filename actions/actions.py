"""Rasa custom actions. Each one reads the tracker, calls the rules, sends the reply."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.catalog import load_catalog, official_directory
from actions.numbers import check_number, phone_like_numbers
from actions.risk import score_risk
from actions.settings import bank_from_env
from components.text import normalise

SCAM_INTENT_PREFIX = "scam_"
# Set afresh each session (configuration may have changed), or Rasa's own.
NOT_CARRIED_OVER = ("bank_name", "bank_hotline", "session_started_metadata")
DomainDict = Dict[Text, Any]


def _latest_text(tracker: Tracker) -> str:
    return normalise(tracker.latest_message.get("text") or "")


class ActionSessionStart(Action):
    """Starts a session with the configured bank's name and hotline in slots."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        bank = bank_from_env()
        carried = [
            SlotSet(key, value)
            for key, value in tracker.slots.items()
            if value is not None and key not in NOT_CARRIED_OVER
        ]
        return [
            SessionStarted(),
            *carried,
            SlotSet("bank_name", bank.name),
            SlotSet("bank_hotline", bank.hotline),
            ActionExecuted("action_listen"),
        ]


class ActionAssessScam(Action):
    """Names the scam type of the classified intent and says what to do now."""

    def name(self) -> Text:
        return "action_assess_scam"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        catalog = load_catalog()
        scam = None
        if intent.startswith(SCAM_INTENT_PREFIX):
            scam = catalog.scam_types.get(intent[len(SCAM_INTENT_PREFIX):])
        if scam is None:
            dispatcher.utter_message(response="utter_default")
            return []
        bank = bank_from_env()
        risk = score_risk(scam.risk, _latest_text(tracker), catalog.risk_signals)
        dispatcher.utter_message(**replies.assessment(scam, risk, bank, official_directory(bank)))
        return [SlotSet("scam_type", scam.id)]


class ActionMoneyLost(Action):
    """Money or a code has already gone: the next minutes matter most."""

    def name(self) -> Text:
        return "action_money_lost"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        bank = bank_from_env()
        dispatcher.utter_message(
            **replies.money_lost(load_catalog().money_lost, bank, official_directory(bank))
        )
        return []


class ActionCheckNumber(Action):
    """Looks a phone number up in the official directory, or asks for one."""

    def name(self) -> Text:
        return "action_check_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        numbers = [
            entity["value"]
            for entity in tracker.latest_message.get("entities") or []
            if entity.get("entity") == "phone_number"
        ] or phone_like_numbers(_latest_text(tracker))
        if not numbers:
            dispatcher.utter_message(**replies.ask_for_number())
            return []
        bank = bank_from_env()
        check = check_number(str(numbers[0]), official_directory(bank))
        dispatcher.utter_message(**replies.number_check(check, bank))
        return []
