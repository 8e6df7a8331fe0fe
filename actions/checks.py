"""Checks of what the customer was given: a phone number, a link."""

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.assessment import read_latest, say_verdict
from actions.common import (
    DomainDict, customer_language, latest_text, record_verdict, remember_language,
)
from core import replies
from core.directory import official_directory
from core.links import check_link, official_domains
from core.numbers import assess_number
from core.settings import settings


class ActionCheckNumber(Action):
    """Looks a phone number up in the official directory, or asks for one."""

    def name(self) -> Text:
        return "action_check_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        verdict = read_latest(tracker)
        language = customer_language(tracker)
        if verdict.number_question is not None:
            # The number or the kind of number asked about, and the story if there is one.
            events = say_verdict(dispatcher, verdict, language)
            record_verdict(tracker, dispatcher)
            return [*events, *remember_language(tracker, language)]
        said = [
            str(entity["value"])
            for entity in tracker.latest_message.get("entities") or []
            if entity.get("entity") == "phone_number"
        ]
        bank = settings().bank
        verdict = assess_number(said[0] if said else latest_text(tracker), official_directory(bank))
        if verdict is None:
            dispatcher.utter_message(**replies.ask_for_number(language))
        else:
            dispatcher.utter_message(**replies.number_check(verdict, bank, language))
        return remember_language(tracker, language)


class ActionCheckLink(Action):
    """Official domain, look-alike, raw IP, short link or odd TLD: a verdict on a link."""

    def name(self) -> Text:
        return "action_check_link"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        config = settings()
        language = customer_language(tracker)
        verdict = check_link(tracker.latest_message.get("text") or "",
                             official_domains(config.bank, config.bank_domain))
        if verdict is None:
            dispatcher.utter_message(**replies.ask_for_link(language))
        else:
            dispatcher.utter_message(**replies.link_check(verdict, config.bank, language))
        return remember_language(tracker, language)
