"""Rasa's own checks on our data and model, run as the CLI runs them."""

import os
import subprocess
from pathlib import Path

from tests.e2e.servers import MODEL, RASA, REPO


def _rasa(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RASA, *args],
        cwd=cwd,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_data_validates_without_warnings():
    result = _rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_conversation_stories_predict_every_turn(tmp_path):
    result = _rasa(
        "test", "core",
        "--stories", "tests/test_stories.yml",
        "--model", str(MODEL),
        "--fail-on-prediction-errors",
        "--out", str(tmp_path),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Correct:" in result.stdout + result.stderr
