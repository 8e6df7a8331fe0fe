"""One real assistant (action server + Rasa server over HTTP) for all end-to-end tests."""

import pytest

from tests.e2e.servers import MODEL, running_assistant


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    with running_assistant(tmp_path_factory.mktemp("assistant")) as running:
        yield running
