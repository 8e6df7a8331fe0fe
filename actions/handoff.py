"""A person to talk to, and the ATM entry: the customer reaches the bank's own staff."""

import asyncio
import logging
from typing import List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import DomainDict, customer_language, remember_language
from core import handoff_records, replies
from core.atms import ATM_ID_PATTERN, Atm, InputError, find_atm
from core.settings import settings

logger = logging.getLogger(__name__)


class ActionHumanHandoff(Action):
    """The hotline and branch hours, and a record staff can follow up by reference."""

    def name(self) -> Text:
        return "action_human_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        config = settings()
        request = handoff_records.HandoffRequest(
            conversation_id=tracker.sender_id,
            scam_type=tracker.get_slot("scam_type"),
            risk=tracker.get_slot("risk"),
            atm_id=tracker.get_slot("atm_id"),
            requested_at=handoff_records.now(),
        )
        try:
            reference = await asyncio.to_thread(
                handoff_records.record_handoff, handoff_records.handoff_db_url(config), request
            )
        except Exception:  # the customer still gets the hotline; staff see the log
            logger.exception("handoff record for %s not written", tracker.sender_id)
            reference = None
        language = customer_language(tracker)
        dispatcher.utter_message(**replies.handoff(
            config.bank, config.branch_hours_in(language), reference, language))
        return [SlotSet("handoff_reference", reference), *remember_language(tracker, language)]


class ActionAtmEntry(Action):
    """Opened from an ATM's QR code, or says they are at an ATM: stop, card, hang up.

    The only place the slot atm_id is set (domain.yml: a custom mapping): to the ATM the
    entry names if it is on the bank's list (ATM_LIST), else None. Without a list no
    ATM id is accepted; the alert is the same."""

    def name(self) -> Text:
        return "action_atm_entry"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        config = settings()
        named = _entity(tracker, "atm_id")
        # "我在取款机前面" names no ATM: the one the conversation came from, if any, stays.
        candidate = named if named is not None else tracker.get_slot("atm_id")
        atm = _listed_atm(candidate)
        if named is not None and atm is None:
            logger.warning("ATM entry for %s names an ATM not on the list", tracker.sender_id)
        atm_id = atm.atm_id if atm else None
        language = customer_language(tracker)
        dispatcher.utter_message(**replies.atm_alert(config.bank, atm_id, language))
        return [SlotSet("atm_id", atm_id), *remember_language(tracker, language)]


def _listed_atm(atm_id: object) -> Optional[Atm]:
    """The ATM of ATM_LIST with this id (any case), or None: no list, an id that is not
    a well-formed string, or not listed."""
    if not isinstance(atm_id, str) or not ATM_ID_PATTERN.fullmatch(atm_id):
        return None
    try:
        return find_atm(atm_id)
    except InputError as problem:  # the list became unreadable: accept no id
        logger.error("ATM_LIST unreadable, no ATM id accepted: %s", problem)
        return None


def _entity(tracker: Tracker, name: str) -> Optional[object]:
    """The last value of entity `name` in the latest message, or None."""
    values = [e.get("value") for e in tracker.latest_message.get("entities") or []
              if e.get("entity") == name]
    return values[-1] if values else None
