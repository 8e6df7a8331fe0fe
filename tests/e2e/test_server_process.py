"""The Rasa server's process as `python -m server run` starts it (server/__main__.py)."""

from pathlib import Path


def test_the_rasa_server_leaves_jax_out(assistant):
    # TensorFlow would import JAX for TFLite helpers nobody calls: ~65 MB of RSS.
    maps = Path(f"/proc/{assistant.rasa.pid}/maps").read_text()
    assert "libtensorflow" in maps  # the model is loaded
    assert "jaxlib" not in maps and "xla_extension" not in maps
