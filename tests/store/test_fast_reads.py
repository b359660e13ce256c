"""The hot path's own connection to PostgreSQL is made as the engine's are."""

from __future__ import annotations

import pytest

from ticketd.settings import Settings
from ticketd.store.errors import StoreError
from ticketd.store.fast_reads import FastReader


def test_the_hot_paths_driver_gets_every_option_of_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    seen: dict[str, object] = {}

    def connect(**arguments: object) -> object:
        seen.update(arguments)
        raise psycopg.OperationalError("not connecting in this test")

    monkeypatch.setattr(psycopg, "connect", connect)
    settings = Settings(
        database_url="postgresql+psycopg://app:pw@db.example:6432/tickets?sslmode=require&sslrootcert=/etc/ca.pem"
    )
    reader = FastReader(settings)
    with pytest.raises(StoreError):
        reader.api_key("tk_anything")
    reader.close()
    assert seen["sslmode"] == "require" and seen["sslrootcert"] == "/etc/ca.pem"
    assert (seen["host"], seen["port"], seen["dbname"], seen["user"]) == (
        "db.example",
        6432,
        "tickets",
        "app",
    )
