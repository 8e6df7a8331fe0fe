"""A Rasa server that loads its model first and binds its port only once the port is
free: the spare copy the supervisor keeps (deploy/supervise.py, `make run`), or a
systemd instance started beside the serving one (docs/systemd.md).

Rasa binds its port only after its model has loaded (Sanic runs the load as a
before-server-start listener), so a spare can load, wait, and take the port over within
POLL_SECONDS when the serving process dies: the customers wait a second instead of the
minute a cold start takes. Only one process holds the port, so only one serves
conversations at a time (the embedded profile's lock store is per process); the spare
reads each conversation from the tracker store when it is first asked for it.

Enabled by SERVER_WAIT_FOR_PORT=1 (core/settings.py); installed by server/__main__.py.
"""

import asyncio
import functools
import inspect
import logging
import socket
from typing import Any

import rasa.core.run

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
LOG_EVERY_SECONDS = 60.0


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on (host, port): a bind as Sanic's (SO_REUSEADDR) works."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


async def wait_until_free(host: str, port: int) -> None:
    polls = 0
    while not port_is_free(host, port):
        if polls % round(LOG_EVERY_SECONDS / POLL_SECONDS) == 0:
            logger.info("模型已加载，备用：端口 %s 被占用，空出后接管 / model loaded, standing by:"
                        " port %s is in use, taking it over when it is free", port, port)
        await asyncio.sleep(POLL_SECONDS)
        polls += 1
    if polls:
        logger.info("端口 %s 已空出，接管 / port %s free: taking over", port, port)


_installed = False


def install() -> None:
    """rasa.core.run.serve_application, with the model load followed by the wait."""
    global _installed
    if _installed:
        return
    serve_application = rasa.core.run.serve_application
    signature = inspect.signature(serve_application)

    # wraps: Rasa passes serve_application only the arguments its signature names.
    @functools.wraps(serve_application)
    def serve_when_port_is_free(*args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(*args, **kwargs)
        arguments.apply_defaults()
        host, port = arguments.arguments["interface"], int(arguments.arguments["port"])
        load_agent_on_start = rasa.core.run.load_agent_on_start

        async def load_then_wait(*load_args: Any, **load_kwargs: Any) -> Any:
            agent = await load_agent_on_start(*load_args, **load_kwargs)
            await wait_until_free(host or "0.0.0.0", port)
            return agent

        # serve_application registers rasa.core.run.load_agent_on_start by name.
        rasa.core.run.load_agent_on_start = load_then_wait
        return serve_application(*args, **kwargs)

    rasa.core.run.serve_application = serve_when_port_is_free
    _installed = True
