"""反诈助手 custom actions: thin Rasa wiring over the catalog and plain rule modules."""

# The action server's secret check registers itself with rasa_sdk when imported; importing
# it here means any `--actions actions...` gets it, never an unprotected server.
from actions import server_security  # noqa: F401
