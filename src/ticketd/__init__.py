"""ticketd: a self-hosted ticket status service."""

__version__ = "0.1.0"
