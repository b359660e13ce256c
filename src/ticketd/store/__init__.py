"""Persistence: tables, engine, migrations and the lean read path for hot lookups."""
