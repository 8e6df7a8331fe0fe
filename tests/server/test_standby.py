"""server/standby.py: a spare Rasa server loads its model, then binds its port only once
the serving one has let go of it (deploy/supervise.py keeps one under `make run`)."""

import asyncio
import socket

import rasa.core.run
from rasa.shared.utils.common import minimal_kwargs

from server import standby
from tests.e2e.servers import free_port


def test_rasa_still_passes_every_argument_through_the_wrapper(monkeypatch):
    monkeypatch.setattr(standby, "_installed", False)
    monkeypatch.setattr(rasa.core.run, "serve_application", rasa.core.run.serve_application)
    monkeypatch.setattr(rasa.core.run, "load_agent_on_start", rasa.core.run.load_agent_on_start)
    seen = {}

    def serve_application(model_path=None, channel=None, interface="0.0.0.0", port=5005, **_):
        seen.update(port=port, interface=interface,
                    load=rasa.core.run.load_agent_on_start.__name__)

    monkeypatch.setattr(rasa.core.run, "serve_application", serve_application)
    standby.install()
    wrapped = rasa.core.run.serve_application
    # What rasa/api.py does: only the keyword arguments the signature names get through.
    kwargs = minimal_kwargs({"port": 28123, "interface": "127.0.0.1", "unknown": 1}, wrapped)
    assert kwargs == {"port": 28123, "interface": "127.0.0.1"}
    wrapped("models/x.tar.gz", channel=None, **kwargs)
    assert seen == {"port": 28123, "interface": "127.0.0.1", "load": "load_then_wait"}


def test_the_wait_ends_when_the_holder_lets_go():
    port = free_port()
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", port))
    holder.listen()
    assert not standby.port_is_free("127.0.0.1", port)

    async def wait_while_held_then_release():
        waiting = asyncio.ensure_future(standby.wait_until_free("127.0.0.1", port))
        await asyncio.sleep(0.5)
        still_waiting = not waiting.done()
        holder.close()
        await asyncio.wait_for(waiting, 2)
        return still_waiting

    assert asyncio.run(wait_while_held_then_release())
    assert standby.port_is_free("127.0.0.1", port)
