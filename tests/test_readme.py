"""The README's curl walkthrough works as written, against the suite's real API."""

from __future__ import annotations

import asyncio
import os
import re

import httpx

from tests.api_helpers import auth
from tests.conftest import repo_root


def walkthrough() -> str:
    readme = (repo_root() / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- walkthrough -->\n```sh\n(.*?)```", readme, re.S)
    assert match, "README.md lost its walkthrough block"
    return match.group(1)


async def test_readme_walkthrough_runs_as_written(
    api_url: str, db_url: str, tokens: dict[str, str]
) -> None:
    script = walkthrough() + 'echo "CASE=$CASE"\n'
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        script,
        cwd=repo_root(),
        env={**os.environ, "API": api_url, "MEDIATION_DATABASE_URL": db_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    text = out.decode()
    assert proc.returncode == 0, text + err.decode()
    assert "in_mediation" in text and "follow_up" in text and "resolved" in text
    cid = text.rsplit("CASE=", 1)[1].strip()
    async with httpx.AsyncClient(base_url=api_url) as http:
        r = await http.get(f"/api/v1/cases/{cid}", headers=auth(tokens["supervisor"]))
    assert (r.json()["status"], r.json()["outcome"]) == ("closed", "resolved")
