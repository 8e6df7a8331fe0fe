"""The Rasa server: `python -m server run --model … --endpoints … --credentials …`.

Rasa's own command line, with this assistant's start-up first: the settings read and
checked (core/settings.py), and the runtime speed-ups installed (server/runtime/plugin.py).
Every profile starts the Rasa server this way: scripts/run.sh, scripts/run_scaled.sh and
the tests. The action server is rasa_sdk's own (`rasa run actions --actions actions`).
"""

import sys

from core.settings import SettingsError, settings


# TensorFlow 2.12 requires JAX, and its TFLite helpers import it when it is there;
# nothing here converts to TFLite. Left out, the Rasa server has ~65 MB less RSS and
# starts ~0.6 s sooner (import of TensorFlow and Rasa: 525 -> 460 MB, 3.3 -> 2.7 s).
NOT_IMPORTED = ("jax",)


def main() -> int:
    for module in NOT_IMPORTED:
        sys.modules.setdefault(module, None)  # `import jax` raises ImportError
    try:
        config = settings()
    except SettingsError as problem:
        print(problem, file=sys.stderr)
        return 2
    from server.runtime import plugin

    plugin.install()
    if config.wait_for_port:  # a spare copy: binds once the serving one is gone
        from server import standby

        standby.install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
