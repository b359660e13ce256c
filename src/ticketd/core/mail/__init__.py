"""The mail channel: messages in (parsing.py, inbound.py) and the tenant's addresses (channels.py)."""
