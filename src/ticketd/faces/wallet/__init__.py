"""Airship Wallet API (tickets and system status), reproduced under /v1."""
