"""The domain: tenants, identities, tickets, their lifecycle and history. No HTTP in here."""
