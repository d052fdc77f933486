"""The codec server the Temporal UI calls, and `mediation up` wiring the UI to it."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from core.temporal import free_loopback_port
from tests.api_helpers import auth, intake_json, poll_case, post_case, status_is
from tests.helpers import APPLICANT, run

UI = "http://127.0.0.1:8233"


async def started_payload(client: Client, workflow_id: str) -> dict[str, Any]:
    """The workflow input as stored: encrypted, in proto JSON."""
    plain = Client(client.service_client, namespace=client.namespace)
    history = await plain.get_workflow_handle(workflow_id).fetch_history()
    first = history.to_json_dict()["events"][0]
    payload: dict[str, Any] = first["workflowExecutionStartedEventAttributes"]["input"]["payloads"][
        0
    ]
    return payload


def plaintext(payload: dict[str, Any]) -> str:
    return base64.b64decode(payload["data"]).decode()


async def test_codec_decodes_for_supervisors_only(
    http: httpx.AsyncClient, tokens: dict[str, str], client: Client
) -> None:
    r = await post_case(http, tokens["officer"], intake_json())
    cid = r.json()["case_id"]
    await poll_case(http, tokens["officer"], cid, status_is("awaiting_acceptance"))
    sealed = await started_payload(client, f"case-{cid}")
    assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
    body = {"payloads": [sealed]}

    assert (await http.post("/codec/decode", json=body)).status_code == 401
    officer = await http.post("/codec/decode", json=body, headers=auth(tokens["officer"]))
    assert officer.status_code == 403
    ok = await http.post("/codec/decode", json=body, headers=auth(tokens["supervisor"]))
    assert ok.status_code == 200
    (decoded,) = ok.json()["payloads"]
    text = plaintext(decoded)
    assert cid in text and APPLICANT.name in text and APPLICANT.phone in text

    # encode → decode is the identity; garbage is a 422, not a 500.
    enc = await http.post(
        "/codec/encode", json={"payloads": [decoded]}, headers=auth(tokens["supervisor"])
    )
    again = await http.post("/codec/decode", json=enc.json(), headers=auth(tokens["supervisor"]))
    assert plaintext(again.json()["payloads"][0]) == text
    bad = await http.post("/codec/decode", json={"x": 1}, headers=auth(tokens["supervisor"]))
    assert bad.status_code == 422

    # People in the UI sign in once; an HttpOnly cookie then holds a session of its own
    # (never the token itself, which as a cookie opens nothing; tests/test_credentials.py).
    async with httpx.AsyncClient(base_url=str(http.base_url)) as browser:
        login = await browser.post("/codec/login", data={"token": tokens["supervisor"]})
        assert login.status_code == 200 and "httponly" in login.headers["set-cookie"].lower()
        assert browser.cookies["mediation_codec"] != tokens["supervisor"]
        assert (await browser.post("/codec/decode", json=body)).status_code == 200
    cookie = {"mediation_codec": tokens["supervisor"]}
    async with httpx.AsyncClient(base_url=str(http.base_url), cookies=cookie) as forged:
        assert (await forged.post("/codec/decode", json=body)).status_code == 401
    denied = await http.post("/codec/login", data={"token": tokens["officer"]})
    assert denied.status_code == 403


async def test_codec_cors_answers_the_ui_origin_only(http: httpx.AsyncClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    ui = await http.options("/codec/decode", headers={"Origin": UI, **preflight})
    assert ui.status_code == 204
    assert ui.headers["access-control-allow-origin"] == UI
    assert "Authorization" in ui.headers["access-control-allow-headers"]
    other = await http.options(
        "/codec/decode", headers={"Origin": "http://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers
    api = await http.options("/api/v1/cases", headers={"Origin": UI, **preflight})
    assert "access-control-allow-origin" not in api.headers


async def test_make_up_points_the_ui_at_the_codec_and_it_decrypts(tmp_path: Path) -> None:
    """`mediation up` (what `make up` runs) on free ports in a fresh data dir."""
    ports = {k: free_loopback_port() for k in ("API", "TEMPORAL", "TEMPORAL_UI")}
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")},
        "MEDIATION_DATA_DIR": str(tmp_path / "var"),
        **{f"MEDIATION_{k}_PORT": str(v) for k, v in ports.items()},
    }
    api, ui = f"http://127.0.0.1:{ports['API']}", f"http://127.0.0.1:{ports['TEMPORAL_UI']}"
    up = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ops",
        "up",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert up.stdout is not None
        seen = ""
        while "Ctrl-C stops everything" not in seen:
            line = await asyncio.wait_for(up.stdout.readline(), timeout=90)
            assert line, seen
            seen += line.decode()
        keyring = tmp_path / "var" / "keyring"
        assert keyring.stat().st_mode & 0o777 == 0o600
        async with httpx.AsyncClient(base_url=api, timeout=30) as http:
            settings = (await http.get(f"{ui}/api/v1/settings")).json()
            assert settings["Codec"]["Endpoint"] == f"{api}/codec"
            token = (
                await run(
                    sys.executable,
                    "-m",
                    "ops",
                    "principals",
                    "create",
                    "--role",
                    "supervisor",
                    "--name",
                    "Duty supervisor",
                    env=env,
                )
            ).strip()
            r = await post_case(http, token, intake_json())
            assert r.status_code == 201, r.text
            cid = r.json()["case_id"]
            hist = await http.get(f"/api/v1/cases/{cid}/history?raw=true", headers=auth(token))
            started = hist.json()["events"][0]["workflowExecutionStartedEventAttributes"]
            assert started["input"]["payloads"][0]["case_id"] == cid
    finally:
        up.send_signal(signal.SIGINT)
        await asyncio.wait_for(up.wait(), timeout=60)
    assert up.returncode == 0
