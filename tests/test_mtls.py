"""Mutual TLS between gateway and worker, with a private CA and certificates this test makes."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from harness.servers import REPO_ROOT, running, start_gateway, start_worker
from harness.wsclient import ProtocolClient, connect, returned_audio

from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc


@dataclass
class Authority:
    """A certificate authority that issues certificates for servers and clients."""

    name: str
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, name: str) -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (_builder(subject, subject, key.public_key())
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(name, key, cert)

    def issue(self, directory: Path, common_name: str) -> tuple[Path, Path]:
        """A certificate for localhost / 127.0.0.1, usable as server and client; returns (cert, key) files."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (_builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]), self.cert.subject,
                         key.public_key())
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(self.key, hashes.SHA256()))
        cert_path, key_path = directory / f"{common_name}.crt", directory / f"{common_name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_path, key_path

    def write(self, directory: Path) -> Path:
        path = directory / f"{self.name}.pem"
        path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return path


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1)))


@dataclass
class Pki:
    ca: Path
    worker: tuple[Path, Path]
    gateway: tuple[Path, Path]
    stranger: tuple[Path, Path]  # signed by another CA


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    internal, other = Authority.create("internal-ca"), Authority.create("other-ca")
    return Pki(internal.write(directory), internal.issue(directory, "worker"), internal.issue(directory, "gateway"),
               other.issue(directory, "stranger"))


@pytest.fixture(scope="module")
def mtls_worker(pki, server_logs):
    cert, key = pki.worker
    env = {"S2ST_GRPC_TLS_CERT": str(cert), "S2ST_GRPC_TLS_KEY": str(key), "S2ST_GRPC_TLS_CLIENT_CA": str(pki.ca),
           "S2ST_GRPC_TLS_CA": str(pki.ca)}
    with running(start_worker("echo", env, log_dir=server_logs, tls_ca=pki.ca, client_cert=pki.gateway)) as worker:
        yield worker


async def list_languages(address: str, ca: Path, client: tuple[Path, Path] | None) -> pb.ListLanguagesReply:
    key, chain = (client[1].read_bytes(), client[0].read_bytes()) if client else (None, None)
    credentials = grpc.ssl_channel_credentials(ca.read_bytes(), key, chain)
    async with grpc.aio.secure_channel(address, credentials) as channel:
        return await pb_grpc.TranslatorStub(channel).ListLanguages(pb.ListLanguagesRequest(), timeout=5)


@pytest.mark.parametrize("client", ["none", "stranger"])
async def test_the_worker_refuses_clients_without_a_certificate_of_its_ca(mtls_worker, pki, client):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await list_languages(mtls_worker.address, pki.ca, None if client == "none" else pki.stranger)
    assert refused.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


async def test_a_client_with_a_certificate_of_its_ca_is_served(mtls_worker, pki):
    assert (await list_languages(mtls_worker.address, pki.ca, pki.gateway)).engine == "echo"


async def test_the_gateway_relays_over_mutual_tls(mtls_worker, pki, server_logs):
    cert, key = pki.gateway
    env = {"S2ST_WORKER_TLS_CA": str(pki.ca), "S2ST_WORKER_TLS_CERT": str(cert), "S2ST_WORKER_TLS_KEY": str(key)}
    with running(start_gateway(mtls_worker.address, env, log_dir=server_logs)) as gateway:
        assert await returned_audio(gateway.ws_url, b"\x07\x00" * 160) == b"\x07\x00" * 160


async def test_a_gateway_without_its_client_certificate_reports_the_worker_unavailable(mtls_worker, pki, server_logs):
    with running(start_gateway(mtls_worker.address, {"S2ST_WORKER_TLS_CA": str(pki.ca)},
                               log_dir=server_logs)) as gateway:
        async with connect(gateway.ws_url) as ws:
            refused = await ProtocolClient(ws).start()
    assert (refused["type"], refused["code"]) == ("error", "worker_unavailable")


def test_the_container_healthcheck_presents_the_workers_own_certificate(mtls_worker, pki):
    cert, key = pki.worker
    env = {**os.environ, "S2ST_GRPC_PORT": str(mtls_worker.port), "S2ST_GRPC_TLS_CERT": str(cert),
           "S2ST_GRPC_TLS_KEY": str(key), "S2ST_GRPC_TLS_CLIENT_CA": str(pki.ca), "S2ST_GRPC_TLS_CA": str(pki.ca)}
    result = subprocess.run([sys.executable, "-m", "inference.healthcheck"], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout.strip()) == (0, "SERVING"), result.stderr
