"""The action-call fixes change the cost, not the outcome: the same validation errors
as Rasa's own check, and the same requests over one kept connection."""

import asyncio

import pytest
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from server.runtime import action_calls

RASA_VALIDATE = RemoteAction._validate_action_result
action_calls.install()
ACTION = RemoteAction("action_assess_scam", None)

VALID = [
    {"events": [], "responses": []},
    {"responses": [{"text": "这是诈骗。", "buttons": [{"title": "转人工", "payload": "/human_handoff"}]}]},
    {"events": [{"event": "slot", "name": "scam_type", "value": "tax_refund", "timestamp": None},
                {"event": "slot", "name": "risk", "value": "high"}],
     "responses": [{"custom": {"type": "scam_assessment"}}]},
    {"events": [{"event": "followup", "name": "action_listen"}]},
]
INVALID = [
    [],
    "success",
    {"events": None},
    {"events": "slot"},
    {"events": [{"name": "scam_type"}]},
    {"events": [{"event": "slot"}]},
    {"events": [{"event": "no_such_event"}]},
    {"responses": "这是诈骗。"},
    {"responses": ["这是诈骗。"]},
]


@pytest.mark.parametrize("result", VALID)
def test_what_rasa_accepts_is_accepted(result):
    assert RASA_VALIDATE(ACTION, result) is True
    assert ACTION._validate_action_result(result) is True
    assert ACTION._validate_action_result(result) is True  # remembered, still true


@pytest.mark.parametrize("result", INVALID)
def test_what_rasa_refuses_is_refused_with_the_same_message(result):
    with pytest.raises(ValidationError) as rasas:
        RASA_VALIDATE(ACTION, result)
    with pytest.raises(ValidationError) as ours:
        ACTION._validate_action_result(result)
    assert ours.value.message == rasas.value.message
    assert "Failed to validate Action server response" in ours.value.message


def test_remembered_events_do_not_excuse_bad_responses():
    events = {"events": [{"event": "slot", "name": "risk", "value": "low"}]}
    assert ACTION._validate_action_result({**events, "responses": []})
    with pytest.raises(ValidationError):
        ACTION._validate_action_result({**events, "responses": [42]})


def test_action_calls_share_one_connection_with_the_same_headers_and_auth():
    seen = []

    async def webhook(request: web.Request) -> web.Response:
        seen.append((request.transport.get_extra_info("peername"),
                     request.headers.get("Authorization"), request.headers.get("X-Bank"),
                     await request.json()))
        return web.json_response({"events": [], "responses": []})

    async def scenario():
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook",
                                  headers={"X-Bank": "icbc"},
                                  basic_auth={"username": "rasa", "password": "secret"})
        try:
            for number in range(3):
                answer = await endpoint.request(json={"turn": number}, method="post")
                assert answer == {"events": [], "responses": []}
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
    assert [body for *_, body in seen] == [{"turn": 0}, {"turn": 1}, {"turn": 2}]
    assert len({peer for peer, *_ in seen}) == 1  # one client port: one connection
    assert all(auth.startswith("Basic ") and bank == "icbc" for _, auth, bank, _ in seen)


def test_a_new_event_loop_gets_a_new_session():
    endpoint = EndpointConfig("http://127.0.0.1:9/webhook")

    async def session_of_this_loop():
        async with endpoint.session() as session:
            return session

    first, second = asyncio.run(session_of_this_loop()), asyncio.run(session_of_this_loop())
    assert first is not second
