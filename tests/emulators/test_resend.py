"""The Resend emulator keeps the documented contract: key, payload checks, idempotency, errors."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from costtracker.emulators.base import Emulator, EmulatorConfig
from costtracker.emulators.resend import DEMO_KEY, create_app

EMAIL = {
    "from": "Costs <costs@example.com>",
    "to": ["cfo@example.com"],
    "subject": "July",
    "html": "<p>July</p>",
    "text": "July",
    "attachments": [{"filename": "july.csv", "content": base64.b64encode(b"a,b\n").decode()}],
}


@pytest.fixture
def emulator() -> Emulator:
    return create_app(EmulatorConfig())


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator), base_url="http://resend.test"
    ) as client:
        client.headers["Authorization"] = f"Bearer {DEMO_KEY}"
        yield client


async def send(client: httpx.AsyncClient, body: Any = None, key: str | None = None, status: int = 200) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    response = await client.post("/emails", json=EMAIL if body is None else body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


async def test_it_records_a_sent_email_and_answers_its_id(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    answer = await send(client)

    [sent] = emulator.dataset.sent
    assert answer == {"id": sent["id"]}
    assert sent["attachments"][0]["content"] == b"a,b\n"
    fetched = (await client.get(f"/emails/{answer['id']}")).json()
    assert (fetched["object"], fetched["subject"], fetched["to"]) == ("email", "July", ["cfo@example.com"])


async def test_the_same_key_and_payload_answers_the_first_id_without_sending(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    first = await send(client, key="report/2026-01/cfo")
    again = await send(client, key="report/2026-01/cfo")

    assert first == again and len(emulator.dataset.sent) == 1


async def test_the_same_key_with_another_payload_is_a_conflict(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    await send(client, key="report/2026-01/cfo")

    refused = await send(client, {**EMAIL, "subject": "Other"}, key="report/2026-01/cfo", status=409)

    assert refused["name"] == "invalid_idempotent_request" and refused["statusCode"] == 409
    assert len(emulator.dataset.sent) == 1


async def test_a_key_longer_than_256_characters_is_refused(client: httpx.AsyncClient) -> None:
    assert (await send(client, key="k" * 257, status=400))["name"] == "invalid_idempotency_key"


async def test_it_checks_the_api_key(client: httpx.AsyncClient) -> None:
    del client.headers["Authorization"]
    assert (await send(client, status=401))["name"] == "missing_api_key"
    client.headers["Authorization"] = "Bearer re_unknown_key"
    assert (await send(client, status=403))["name"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"subject": None}, "missing_required_field"),
        ({"html": None, "text": None}, "missing_required_field"),
        ({"to": ["not an address"]}, "validation_error"),
        ({"attachments": [{"filename": "x.csv", "content": "%%%"}]}, "invalid_attachment"),
    ],
)
async def test_it_validates_the_payload(client: httpx.AsyncClient, change: dict[str, Any], name: str) -> None:
    body = {key: value for key, value in {**EMAIL, **change}.items() if value is not None}
    assert (await send(client, body, status=422))["name"] == name


async def test_it_answers_429_in_resend_s_shape_with_retry_after() -> None:
    emulator = create_app(EmulatorConfig(throttle_first=1, retry_after=1))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator), base_url="http://r.test"
    ) as client:
        response = await client.post("/emails", json=EMAIL, headers={"Authorization": f"Bearer {DEMO_KEY}"})
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert response.json()["name"] == "rate_limit_exceeded"


async def test_success_carries_rate_limit_headers(client: httpx.AsyncClient) -> None:
    response = await client.post("/emails", json=EMAIL)
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(response.headers)
