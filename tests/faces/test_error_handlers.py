"""Every face's app answers what every face answers alike the same way (faces/error_handlers.py):
a store outage is logged and answered 503 with Retry-After, an unexpected error is logged with its
trace and answered 500 without one, a core error that says when to come back carries Retry-After,
a wrong method is 405 with Allow. Each in the face's own body."""

from __future__ import annotations

import importlib
import logging

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from ticketd.assembly.registry import FACES
from ticketd.core.errors import Unavailable
from ticketd.faces.error_handlers import OUTAGE_RETRY_SECONDS, FaceErrors, install_error_handlers
from ticketd.store.errors import StoreError

SECRET = "connection to 10.0.0.7 refused: password=hunter2"


def face_errors(name: str) -> FaceErrors:
    errors: FaceErrors = importlib.import_module(f"ticketd.faces.{name}.errors").FACE_ERRORS
    return errors


@pytest.fixture(params=[face.name for face in FACES])
def client(request: pytest.FixtureRequest) -> TestClient:
    app = FastAPI()
    install_error_handlers(app, face_errors(request.param))

    @app.get("/outage")
    def outage() -> None:
        raise StoreError(SECRET)

    @app.get("/unexpected")
    def unexpected() -> None:
        raise RuntimeError(SECRET)

    @app.get("/busy")
    def busy() -> None:
        raise Unavailable("the export queue is full", retry_after=17)

    return TestClient(app, raise_server_exceptions=False)


def test_a_store_outage_is_logged_and_answered_503_with_retry_after(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        answer = client.get("/outage")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == str(OUTAGE_RETRY_SECONDS)
    assert SECRET not in answer.text and "Traceback" not in answer.text
    assert [r for r in caplog.records if r.levelno == logging.WARNING and "store outage" in r.getMessage()]


def test_an_unexpected_error_is_logged_with_its_trace_and_answered_500_without(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        answer = client.get("/unexpected")
    assert answer.status_code == 500
    assert SECRET not in answer.text and "Traceback" not in answer.text
    assert [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info is not None]


def test_a_core_error_that_says_when_to_return_carries_retry_after(client: TestClient) -> None:
    answer = client.get("/busy")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "17"


def test_a_wrong_method_is_405_and_names_what_is_allowed(client: TestClient) -> None:
    answer = client.delete("/busy")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"
