"""The keyring's own rules, and log lines masked whichever logger writes them."""

from __future__ import annotations

import json
import logging

import pytest

from core.crypto import Keyring, KeyringError
from core.logging import configure_logging
from core.redact import MASK, _Names, redact, remember_names


def test_keyring_parses_rotates_and_explains_what_it_cannot_open() -> None:
    k1, k2 = Keyring.generate_line("k1"), Keyring.generate_line("k2")
    ring = Keyring.parse(f"# comment\n{k2},{k1}")
    assert (ring.active, list(ring.keys)) == ("k2", ["k2", "k1"])
    sealed_by_k1 = Keyring.parse(k1).seal("13800000001")
    assert sealed_by_k1 is not None and sealed_by_k1.startswith("enc:k1:")
    assert ring.open(sealed_by_k1) == "13800000001"
    assert ring.seal("x") != ring.seal("x")  # a fresh nonce every time
    assert ring.open("13800000001") == "13800000001"  # rows from before encryption
    with pytest.raises(KeyringError, match="'k1', which is not in the keyring \\(k2\\)"):
        Keyring.parse(k2).open(sealed_by_k1)
    for bad, why in [
        ("", "empty"),
        ("k1", "id:base64"),
        ("k1:!!!", "not valid base64"),
        ("k1:AAAA", "32 bytes"),
    ]:
        with pytest.raises(KeyringError, match=why):
            Keyring.parse(bad)


def test_redact_masks_phones_id_numbers_and_known_names() -> None:
    remember_names(["欧阳明远"])
    line = "欧阳明远 13912345678 +86 139-1234-5678 023-42823456 50038219900101001X"
    assert redact(line) == " ".join([MASK] * 5)
    # Ids, timestamps and counts are left alone.
    keep = "case-7c1ae966 seq 12 at 1732700000000 run 0192f1c2-3b4d attempt 3 amount 12000.50"
    assert redact(keep) == keep
    # A public report's lookup code, as the access log writes the URL.
    url = '"GET /api/v1/reports/RP20261130-1a2b?code=Xy7_kLm9pQ2r HTTP/1.1" 404'
    assert redact(url) == f'"GET /api/v1/reports/RP20261130-1a2b?code={MASK} HTTP/1.1" 404'


def test_names_are_masked_wherever_they_start_and_forgotten_oldest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("core.redact._MAX_NAMES", 3)
    names = _Names()
    names.add(["王小明", "王明", "Li Wei"])
    assert names.mask("case step accepted (seq 4)") == "case step accepted (seq 4)"
    # The longest name wins where two start alike; Latin names are found in Latin lines.
    assert names.mask("王小明和王明见了Li Wei") == f"{MASK}和{MASK}见了{MASK}"
    assert names.mask("王大") == "王大"
    names.add(["王明", "张三丰"])  # 王明 seen again: 王小明 is now the oldest, and goes
    assert names.mask("王小明 王明 张三丰 Li Wei") == f"王小明 {MASK} {MASK} {MASK}"
    names.add(["赵六", "钱七"])  # Li Wei and 王明 go: no name starts with L or 王 any more
    assert names.mask("Li Wei 王明 赵六 钱七 张三丰") == f"Li Wei 王明 {MASK} {MASK} {MASK}"


def test_every_logger_goes_through_the_mask(capfd: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("json", "INFO")
    remember_names(["测试丁"])
    try:
        logging.getLogger("temporalio.activity").warning(
            "party %s phone %s",
            "测试丁",
            "13700000004",
            extra={"detail": {"id": "500382199004040044"}},
        )
        try:
            raise RuntimeError("cannot store 13700000004")
        except RuntimeError:
            logging.getLogger("uvicorn.error").exception("failed for 测试丁")
        import structlog

        structlog.get_logger("worker").info("structlog event", phone="13700000004")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    err = capfd.readouterr().err
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    assert len(lines) == 3
    for secret in ("测试丁", "13700000004", "500382199004040044"):
        assert secret not in err
    assert "RuntimeError" in lines[1]["event"]  # the traceback is kept, masked
