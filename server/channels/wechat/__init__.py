"""The WeChat official account channel (channel.py), its protocol (protocol.py), its
customer-service API client (api.py), its configuration (settings.py) and its memory of
recent messages (memory.py)."""
