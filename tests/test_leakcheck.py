"""The leak check itself (tests/leakcheck.py) sees what it must and nothing more.

These tests leak on purpose inside their own ``watching`` block, so they opt out of the
suite-wide check with ``leaks_secrets``.
"""

import logging
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.testclient import TestClient

from costtracker.settings import Settings
from tests.leakcheck import MARKER, planted, watching

pytestmark = pytest.mark.leaks_secrets
log = logging.getLogger("tests.leakcheck.probe")


def echo_app(title: str, value: str) -> FastAPI:
    app = FastAPI(title=title)

    @app.get("/body")
    def body() -> PlainTextResponse:
        return PlainTextResponse(f"here: {value}")

    @app.get("/header")
    def header() -> PlainTextResponse:
        return PlainTextResponse("ok", headers={"X-Debug": value})

    return app


def test_a_planted_secret_is_recognisable() -> None:
    assert MARKER in planted("sk-admin")
    assert planted("x") != planted("x")


def test_a_planted_secret_in_a_log_line_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    with watching(monkeypatch) as watch:
        log.warning("key is %s", planted("sk-admin"))
    assert len(watch.leaks) == 1 and "log record" in watch.leaks[0]


def test_a_secret_in_a_traceback_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    with watching(monkeypatch) as watch:
        try:
            raise ValueError(planted("password"))
        except ValueError:
            log.exception("failed")
    assert watch.leaks


@pytest.mark.parametrize("where", ["/body", "/header"])
@pytest.mark.parametrize("title", ["costtracker", "an emulator"])
def test_a_planted_secret_in_any_response_is_caught(
    monkeypatch: pytest.MonkeyPatch, where: str, title: str
) -> None:
    with watching(monkeypatch) as watch, TestClient(echo_app(title, planted("sk"))) as client:
        client.get(where)
    assert watch.leaks and where in watch.leaks[0]


def test_a_configured_secret_is_caught_in_our_answers_only(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-proj-configured-0123456789"
    monkeypatch.setenv("OPENAI_ADMIN_KEY", secret)
    with watching(monkeypatch) as watch:
        with TestClient(echo_app("an emulator", secret)) as client:
            client.get("/body")  # an emulator may echo the key it was sent
        assert watch.leaks == []
        with TestClient(echo_app("costtracker", secret)) as client:
            client.get("/body")
    assert watch.leaks and "sk-p..." in watch.leaks[0]
    assert secret not in watch.leaks[0]


def test_the_secrets_of_settings_built_during_a_test_are_watched(
    monkeypatch: pytest.MonkeyPatch, make_settings: Callable[..., Settings]
) -> None:
    with watching(monkeypatch) as watch:
        make_settings(anthropic_admin_key="sk-ant-admin01-abcdef")
        log.error("refused sk-ant-admin01-abcdef")
    assert watch.leaks


@pytest.mark.parametrize("value", ["password", "short-1", "abcdefghijklmnopq"])
def test_values_that_look_like_ordinary_text_are_not_watched(
    monkeypatch: pytest.MonkeyPatch, make_settings: Callable[..., Settings], value: str
) -> None:
    with watching(monkeypatch) as watch:
        make_settings(smtp_password=value)
        log.warning("the password %s was refused", value)
    assert watch.leaks == []


def test_a_streamed_body_is_checked_when_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    app = echo_app("x", planted("sk"))
    with watching(monkeypatch) as watch, TestClient(app) as client, client.stream("GET", "/body") as response:
        assert b"here" in response.read()
    assert watch.leaks


def test_a_leak_fails_the_test_naming_where(monkeypatch: pytest.MonkeyPatch) -> None:
    with watching(monkeypatch) as watch:
        log.warning("oops %s", planted("password"))
    with pytest.raises(
        pytest.fail.Exception, match=r"secrets leaked:\n  log record of tests\.leakcheck\.probe"
    ):
        watch.fail_on_leaks()
