"""The trained model's processor, loaded once for the runtime tests that need it, as the
server loads it: after the runtime is installed (the model's graph keeps the methods it
finds at load time)."""

import asyncio

import pytest
from rasa.core.agent import load_agent

from server.runtime import plugin
from tests.e2e.servers import MODEL


@pytest.fixture(scope="session")
def processor():
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    plugin.install()
    return asyncio.run(load_agent(model_path=str(MODEL))).processor
