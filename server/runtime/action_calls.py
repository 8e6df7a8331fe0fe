"""Two costs of Rasa 3.6's custom-action calls, removed without changing what a call does.

- Rasa checks each action server response with `jsonschema.validate`, which first
  re-checks the (constant) schema against the JSON Schema meta-schema: about 20 ms of
  CPU per call, measured with py-spy as half the server's time under load. The same
  validation with a validator built once costs about 1 ms, and an events list that
  passed before is not walked again.
- Rasa opens a new HTTP client session, and so a new connection, for every call. The
  endpoint keeps one session per event loop instead: same headers, auth and timeout.

`install()` patches both into Rasa's classes, once; server/runtime/plugin.py calls it.
"""

import asyncio
import json
from collections import OrderedDict
from typing import Any, Dict, Optional

import aiohttp
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

_installed = False
_response_validator = None


def _validator():
    global _response_validator
    if _response_validator is None:
        schema = RemoteAction.action_response_format_spec()
        _response_validator = validator_for(schema)(schema)
    return _response_validator


# Events lists already found valid, by their JSON: actions return the same few slot
# events again and again, and validation is a pure function of the instance.
_valid_events: "OrderedDict[str, None]" = OrderedDict()
VALID_EVENTS_REMEMBERED = 2048


def _responses_are_objects(result: Dict[str, Any]) -> bool:
    responses = result.get("responses", [])
    return isinstance(responses, list) and all(isinstance(r, dict) for r in responses)


def _events_key(result: Dict[str, Any]) -> str:
    # Absent and null differ: only the first is valid.
    return json.dumps(["events" in result, result.get("events")], sort_keys=True, default=repr)


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result: the same check and the same error."""
    # Certainly valid: an object whose responses are objects and whose events list
    # passed before.
    key = _events_key(result) if isinstance(result, dict) else None
    if key in _valid_events and _responses_are_objects(result):
        _valid_events.move_to_end(key)
        return True
    error: Optional[ValidationError] = best_match(_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    _valid_events[key] = None
    while len(_valid_events) > VALID_EVENTS_REMEMBERED:
        _valid_events.popitem(last=False)
    return True


class _KeptOpen:
    """`async with` on a shared session that leaves it open for the next call."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


# Below the action server's keep-alive (Sanic: 5 s), so an idle connection is dropped
# here before the server closes it under a request.
KEEPALIVE_SECONDS = 3.0


def _new_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """What EndpointConfig.session makes, with a bounded keep-alive."""
    auth = None
    if endpoint.basic_auth:
        auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
    return aiohttp.ClientSession(
        headers=endpoint.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
    )


def kept_session(self: EndpointConfig) -> _KeptOpen:
    """EndpointConfig.session, made once per endpoint and event loop."""
    loop = asyncio.get_running_loop()
    kept = getattr(self, "_kept_session", None)
    if kept is None or kept[0] is not loop or kept[1].closed:
        kept = (loop, _new_session(self))
        self._kept_session = kept
    return _KeptOpen(kept[1])


def install() -> None:
    global _installed
    if _installed:
        return
    RemoteAction._validate_action_result = validate_action_result
    EndpointConfig.session = kept_session
    _installed = True
