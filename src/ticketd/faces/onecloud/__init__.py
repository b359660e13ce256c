"""Ciptadrasoft OneCloud helpdesk API, reproduced under /api (authenticate, ticketrz, ticket)."""
