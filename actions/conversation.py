"""The conversation around the assessments: session start, plain sentences, follow-ups."""

from abc import abstractmethod
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import DomainDict, customer_language, remember_language, scam_or_general
from core import replies
from core.catalog import load_catalog
from core.directory import official_directory
from core.settings import settings

# Set afresh each session (configuration may have changed), or Rasa's own.
NOT_CARRIED_OVER = ("bank_name", "bank_hotline", "session_started_metadata")


class ActionSessionStart(Action):
    """Starts a session with the configured bank's name and hotline in slots."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        bank = settings().bank
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


class Say(Action):
    """Says one sentence of knowledge/replies.yml: action_<key>."""

    @property
    @abstractmethod
    def key(self) -> str:
        """The sentence's key in knowledge/replies.yml."""

    def name(self) -> Text:
        return f"action_{self.key}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        language = customer_language(tracker)
        dispatcher.utter_message(**replies.plain(self.key, settings().bank, language))
        return remember_language(tracker, language)


class ActionGreet(Say):
    key = "greet"


class ActionGoodbye(Say):
    key = "goodbye"


class ActionAcknowledge(Say):
    key = "acknowledge"


class ActionBotChallenge(Say):
    key = "bot_challenge"


class ActionBankQuestion(Say):
    key = "bank_question"


class ActionNotUnderstood(Action):
    """Asks what happened in a sentence or two; says first what to do if money is gone."""

    def name(self) -> Text:
        return "action_not_understood"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        language = customer_language(tracker)
        dispatcher.utter_message(**replies.not_understood(settings().bank, language))
        return remember_language(tracker, language)


class ActionFollowUp(Action):
    """Why, what now, how to verify, a real case, a warning to share: for the type named."""

    def name(self) -> Text:
        return "action_follow_up"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        asked_for = next(
            (e.get("value") for e in tracker.latest_message.get("entities") or []
             if e.get("entity") == "scam_type"),
            None,
        )
        scam = scam_or_general(asked_for or tracker.get_slot("scam_type"))
        bank = settings().bank
        language = customer_language(tracker)
        if intent == "ask_why_scam":
            message = replies.why_scam(scam, language)
        elif intent == "ask_how_to_verify":
            message = replies.how_to_verify(scam, bank, official_directory(bank), language)
        elif intent == "ask_real_case":
            seeds = [s for s in load_catalog().scam_types.values() if s.seed_case]
            message = replies.real_case(scam, seeds, language)
        elif intent == "share_warning":
            message = replies.share_warning(scam, bank, language)
        else:
            message = replies.next_steps(scam, bank, official_directory(bank), language)
        dispatcher.utter_message(**message)
        return remember_language(tracker, language)
