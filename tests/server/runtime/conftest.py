"""The trained model's processor, loaded once for the runtime tests that need it."""

import asyncio

import pytest
from rasa.core.agent import load_agent

from tests.e2e.servers import MODEL


@pytest.fixture(scope="session")
def processor():
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    return asyncio.run(load_agent(model_path=str(MODEL))).processor
