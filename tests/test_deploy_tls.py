"""Mutual TLS to Temporal from the client's side (issue 15; deploy/ACCESS.md).

The settings take the CA, the client certificate and key (all three or none) and the server
name; `connect()` reads the files into the SDK's TLSConfig. Against a stand-in frontend that,
like the real one, requires a client certificate signed by the site's CA, the client must
present its certificate and verify the frontend by name; and the workloads of deploy/k8s, with
their Secret's files where their mounts put them, must do the same (the `temporal` CLI of the
setup Job and the admin tools too). The certificates are made here, at test time: no private
key is ever committed.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import ValidationError

from core.crypto import Keyring
from core.envelope import DataKeys
from core.settings import Settings
from core.temporal import connect, tls_config
from tests.deploy_docs import (
    DEPLOY,
    K8S,
    PREFIX,
    ROOT,
    TEMPORAL_CLIENTS,
    Doc,
    _tool,
    container_env,
    containers,
    frontend_names,
    pod_spec,
    secret_file,
    workloads,
)

TLS_FILES = {
    "MEDIATION_TEMPORAL_TLS_CA": "ca.crt",
    "MEDIATION_TEMPORAL_TLS_CERT": "tls.crt",
    "MEDIATION_TEMPORAL_TLS_KEY": "tls.key",
}


# --- a CA, its certificates, and a frontend that requires client certificates --------------


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, *, ca: bool
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )


class CA:
    """The site's CA, as deploy/ACCESS.md makes it with openssl (EC keys here: quicker)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name("Test Temporal CA")
        self.cert = _certificate(self.name, self.name, self.key, ca=True).sign(
            self.key, hashes.SHA256()
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, common_name: str, dns_names: set[str] | None = None) -> tuple[bytes, bytes]:
        """(certificate, key) PEM: a server certificate for `dns_names`, else a client one."""
        key = ec.generate_private_key(ec.SECP256R1())
        usage = ExtendedKeyUsageOID.SERVER_AUTH if dns_names else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = _certificate(_name(common_name), self.name, key, ca=False).add_extension(
            x509.ExtendedKeyUsage([usage]), critical=False
        )
        if dns_names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in sorted(dns_names)]),
                critical=False,
            )
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)

    def secret(self, directory: Path, common_name: str) -> Path:
        """The files of a kubernetes.io/tls Secret as deploy/ACCESS.md makes it."""
        directory.mkdir(parents=True)
        cert, key = self.issue(common_name)
        (directory / "tls.crt").write_bytes(cert)
        (directory / "tls.key").write_bytes(key)
        (directory / "ca.crt").write_bytes(self.pem)
        return directory


@dataclass
class Frontend:
    """Stands in for Temporal's frontend as far as the TLS handshake goes: it requires a
    client certificate signed by the CA and notes whose it was; then it hangs up (it speaks
    no gRPC, so every connection ends in an error on the client's side)."""

    address: str
    seen: list[str]

    def wait_for(self, count: int) -> list[str]:
        deadline = time.monotonic() + 5
        while len(self.seen) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.seen)


@pytest.fixture(scope="module")
def ca() -> CA:
    return CA()


@pytest.fixture
def frontend(ca: CA, tmp_path: Path) -> Iterator[Frontend]:
    cert, key = ca.issue("temporal-frontend", frontend_names())
    (tmp_path / "frontend.crt").write_bytes(cert)
    (tmp_path / "frontend.key").write_bytes(key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cadata=ca.pem.decode())
    context.load_cert_chain(tmp_path / "frontend.crt", tmp_path / "frontend.key")
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    seen: list[str] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    der = tls.getpeercert(binary_form=True)
                    assert der is not None  # CERT_REQUIRED
                    peer = x509.load_der_x509_certificate(der)
                    (name,) = peer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
                    seen.append(str(name.value))
            except (ssl.SSLError, OSError) as exc:
                seen.append(f"refused: {exc}")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield Frontend(f"127.0.0.1:{listener.getsockname()[1]}", seen)
    done.set()
    thread.join(timeout=5)
    listener.close()


def data_keys() -> DataKeys:
    return DataKeys(Keyring.parse(Keyring.generate_line("t1")))


# --- the settings -------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [k for k in os.environ if k.startswith(PREFIX)]:
        monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(
    "given",
    [
        {"MEDIATION_TEMPORAL_TLS_CERT"},
        {"MEDIATION_TEMPORAL_TLS_CERT", "MEDIATION_TEMPORAL_TLS_KEY"},
        {"MEDIATION_TEMPORAL_TLS_CA"},
        {"MEDIATION_TEMPORAL_TLS_CA", "MEDIATION_TEMPORAL_TLS_KEY"},
    ],
    ids=lambda given: "+".join(sorted(n.rpartition("_")[2] for n in given)),
)
def test_some_tls_files_without_the_others_refuse_to_start(
    clean_env: pytest.MonkeyPatch, given: set[str]
) -> None:
    for name in given:
        clean_env.setenv(name, f"/etc/tls/{TLS_FILES[name]}")
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    assert "MEDIATION_TEMPORAL_TLS_CA, _CERT and _KEY together" in message
    for name in set(TLS_FILES) - given:
        assert name in message, message


def test_a_server_name_without_the_tls_files_refuses_to_start(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("MEDIATION_TEMPORAL_TLS_SERVER_NAME", "temporal-frontend.temporal.svc")
    with pytest.raises(ValidationError, match="TLS_SERVER_NAME is set but the TLS files"):
        Settings()


def test_without_tls_settings_the_client_speaks_plain_grpc(clean_env: pytest.MonkeyPatch) -> None:
    assert tls_config(Settings()) is None  # the dev server of `make up` has no TLS


def test_tls_config_is_built_from_the_files(
    clean_env: pytest.MonkeyPatch, ca: CA, tmp_path: Path
) -> None:
    files = ca.secret(tmp_path / "tls", "mediation-temporal")
    for name, key in TLS_FILES.items():
        clean_env.setenv(name, str(files / key))
    clean_env.setenv("MEDIATION_TEMPORAL_TLS_SERVER_NAME", "temporal-frontend.temporal.svc")
    config = tls_config(Settings())
    assert config is not None
    assert config.server_root_ca_cert == (files / "ca.crt").read_bytes() == ca.pem
    assert config.client_cert == (files / "tls.crt").read_bytes()
    assert config.client_private_key == (files / "tls.key").read_bytes()
    assert config.domain == "temporal-frontend.temporal.svc"


async def test_an_unreadable_tls_file_stops_the_client_naming_the_setting(
    ca: CA, tmp_path: Path
) -> None:
    files = ca.secret(tmp_path / "tls", "mediation-temporal")
    settings = Settings(
        temporal_tls_ca=files / "ca.crt",
        temporal_tls_cert=files / "tls.crt",
        temporal_tls_key=files / "missing.key",
    )
    with pytest.raises(ValueError, match=r"MEDIATION_TEMPORAL_TLS_KEY: cannot read .*missing"):
        await connect(settings, data_keys(), lazy=True)


# --- connecting ---------------------------------------------------------------------------


async def test_connect_presents_the_client_certificate_and_verifies_the_frontend_by_name(
    ca: CA, frontend: Frontend, tmp_path: Path
) -> None:
    files = ca.secret(tmp_path / "tls", "mediation-worker")
    settings = Settings(
        temporal_address=frontend.address,
        temporal_tls_ca=files / "ca.crt",
        temporal_tls_cert=files / "tls.crt",
        temporal_tls_key=files / "tls.key",
        temporal_tls_server_name="temporal-frontend.temporal.svc",
    )
    with pytest.raises(RuntimeError):  # the stand-in speaks no gRPC
        await connect(settings, data_keys())
    assert frontend.wait_for(1)[0] == "mediation-worker"

    # A frontend whose certificate does not carry the name is not believed.
    frontend.seen.clear()
    impostor = settings.model_copy(update={"temporal_tls_server_name": "temporal.example.org"})
    with pytest.raises(RuntimeError, match=r"temporal\.example\.org"):
        await connect(impostor, data_keys())
    assert all(s.startswith("refused") for s in frontend.wait_for(1)), frontend.seen

    # Nor does plain gRPC get anywhere with it.
    frontend.seen.clear()
    with pytest.raises(RuntimeError):
        await connect(Settings(temporal_address=frontend.address), data_keys())
    assert all(s.startswith("refused") for s in frontend.wait_for(1)), frontend.seen


def materialized(
    spec: Doc, container: Doc, env: dict[str, str], secrets: dict[str, Path]
) -> dict[str, str]:
    """The environment with every file path a Secret's mount provides replaced by that
    Secret's file here."""
    result = dict(env)
    for name, value in env.items():
        found = secret_file(spec, container, value) if value.startswith("/") else None
        if found is not None:
            result[name] = str(secrets[found[0]] / found[1])
    return result


def run_cli(env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    """The `temporal` CLI (this environment's; the images bring their own) with only `env`."""
    exe = _tool("temporal", "the `temporal` CLI comes with the project's dependencies")
    return subprocess.run(
        [exe, "operator", "cluster", "health", "--command-timeout", "10s"],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


async def test_the_workloads_connect_with_their_mounted_certificate(
    ca: CA, frontend: Frontend, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    """Every workload of deploy/k8s that has Temporal's address, with its env and mounts as
    rendered and the Secret `mediation-temporal-tls` made as ACCESS.md says, presents that
    certificate to a frontend that requires one, verifying the frontend by the configured
    name: the worker and the API through `connect()`, the setup Job through the CLI."""
    secrets = {"mediation-temporal-tls": ca.secret(tmp_path / "site", "mediation-temporal")}
    connected = set()
    for obj in workloads():
        for c in containers(obj):
            env = container_env(c)
            local = materialized(pod_spec(obj), c, env, secrets)
            name = obj["metadata"]["name"]
            frontend.seen.clear()
            if "MEDIATION_TEMPORAL_ADDRESS" in env:
                with clean_env.context() as m:
                    for key, value in local.items():
                        if key.startswith(PREFIX) and value != "(secret)":
                            m.setenv(key, value)
                    m.setenv("MEDIATION_TEMPORAL_ADDRESS", frontend.address)
                    settings = Settings()
                with pytest.raises(RuntimeError):
                    await connect(settings, data_keys())
            elif "TEMPORAL_ADDRESS" in env:
                cli_env = {k: v for k, v in local.items() if k.startswith("TEMPORAL_TLS_")}
                proc = run_cli({**cli_env, "TEMPORAL_ADDRESS": frontend.address}, tmp_path)
                assert proc.returncode != 0, proc.stdout  # the stand-in speaks no gRPC
            else:
                continue
            assert frontend.wait_for(1)[0] == "mediation-temporal", (name, frontend.seen)
            connected.add(name)
    assert connected == {"mediation-worker", "mediation-api", "mediation-temporal-setup"}


def test_the_admin_tools_connect_with_their_mounted_certificate(
    ca: CA, frontend: Frontend, tmp_path: Path
) -> None:
    values = yaml.safe_load((K8S / "temporal-values.yaml").read_text(encoding="utf-8"))
    tools = values["admintools"]
    env = {e["name"]: str(e["value"]) for e in tools["additionalEnv"]}
    assert set(TEMPORAL_CLIENTS["TEMPORAL_ADDRESS"]) <= set(env), env
    secrets = {"temporal-client-tls": ca.secret(tmp_path / "site", "temporal-client")}
    local = materialized(
        {"volumes": tools["additionalVolumes"]},
        {"volumeMounts": tools["additionalVolumeMounts"]},
        env,
        secrets,
    )
    proc = run_cli({**local, "TEMPORAL_ADDRESS": frontend.address}, tmp_path)
    assert proc.returncode != 0, proc.stdout
    assert frontend.wait_for(1)[0] == "temporal-client", frontend.seen


def test_no_private_key_is_committed_under_deploy() -> None:
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "PRIVATE KEY-----" not in text, path
