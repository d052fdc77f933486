"""The keyring: the keys that wrap each case's data key (core/envelope.py), and that sealed
payloads and the parties' numbers before data keys existed (still read, for older
histories and for `mediation migrate` to reseal old rows).

Keyring: `MEDIATION_KEYS="k2:<base64 32 bytes>,k1:<base64 32 bytes>"` — the first key
encrypts, every key decrypts. Each ciphertext names its key id, so a ring {k2, k1} reads
what k1 wrote while k2 writes everything new. AES-256-GCM, a random 96-bit nonce per
ciphertext, the key id as associated data.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
FIELD_PREFIX = "enc:"


class KeyringError(ValueError):
    """A keyring that cannot be used, or a ciphertext no key in the ring opens."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]  # key id → 32-byte key, in order: the first is active
    active: str

    @classmethod
    def parse(cls, text: str) -> Keyring:
        keys: dict[str, bytes] = {}
        for item in (p.strip() for p in text.replace("\n", ",").split(",")):
            if not item or item.startswith("#"):
                continue
            kid, sep, b64 = item.partition(":")
            if not sep or not kid.strip():
                raise KeyringError("each key is written id:base64")
            try:
                key = base64.b64decode(b64.strip(), validate=True)
            except ValueError:
                raise KeyringError(f"key {kid.strip()!r} is not valid base64") from None
            if len(key) != 32:
                raise KeyringError(f"key {kid.strip()!r} must be 32 bytes (AES-256)")
            keys[kid.strip()] = key
        if not keys:
            raise KeyringError("the keyring is empty")
        return cls(keys, next(iter(keys)))

    @staticmethod
    def generate_line(kid: str) -> str:
        return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"

    def describe(self) -> str:
        return ", ".join(self.keys)

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active]).encrypt(nonce, plaintext, self.active.encode())
        return self.active, nonce + sealed

    def decrypt(self, kid: str, blob: bytes) -> bytes:
        key = self.keys.get(kid)
        if key is None:
            raise KeyringError(
                f"data was encrypted with key {kid!r}, which is not in the keyring "
                f"({self.describe()}); add it back to MEDIATION_KEYS to read it"
            )
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], kid.encode())
        except InvalidTag:
            msg = f"data does not open with key {kid!r} (corrupt, or a wrong key)"
            raise KeyringError(msg) from None

    # --- single values as releases before data keys sealed them (core/envelope.py now) ----
    # `open` reads them for `mediation migrate`, which reseals them with each case's key;
    # `seal` stays only to make such values in tests.

    def seal(self, value: str | None) -> str | None:
        if value is None:
            return None
        kid, blob = self.encrypt(value.encode())
        return f"{FIELD_PREFIX}{kid}:{base64.b64encode(blob).decode()}"

    def open(self, value: str | None) -> str | None:
        if value is None or not value.startswith(FIELD_PREFIX):
            return value  # written before encryption
        kid, _, b64 = value.removeprefix(FIELD_PREFIX).partition(":")
        return self.decrypt(kid, base64.b64decode(b64)).decode()


def load_keyring(keys: str | None, data_dir: Path) -> Keyring:
    """From the setting, else the dev keyring `make up` generated into the data dir."""
    if keys:
        return Keyring.parse(keys)
    path = data_dir / "keyring"
    if path.exists():
        return Keyring.parse(path.read_text(encoding="utf-8"))
    raise KeyringError(
        f"no keyring: set MEDIATION_KEYS, or run `mediation up` once to create {path}"
    )


def ensure_dev_keyring(data_dir: Path) -> Path:
    """`make up` on a machine without MEDIATION_KEYS: a keyring file of its own, kept."""
    path = data_dir / "keyring"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# dev keyring made by `mediation up`; never use it in production\n")
            f.write(Keyring.generate_line("dev1") + "\n")
    return path
