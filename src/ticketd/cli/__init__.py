"""The `ticketd` command."""
