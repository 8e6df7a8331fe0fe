"""The environment `make install` builds is the one the README promises."""

import subprocess
import sys


def test_python_is_310():
    assert sys.version_info[:2] == (3, 10)


def test_pip_check_passes():
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pinned_versions():
    from importlib.metadata import version

    assert version("rasa") == "3.6.21"
    assert version("packaging") == "20.9"
    assert version("pytest").startswith("8.")
