"""Prioticket Distributor API v3.8, reproduced under /v3.8/distributor (system, oauth2)."""
