"""A real mosquitto broker for tests: started on a free loopback port, killed at teardown.

Debian's mosquitto (scripts/setup installs it) runs from a temporary configuration that listens
on 127.0.0.1 only. Tests that use it need the `socket_enabled` fixture of pytest-socket (the Home
Assistant test plugin then still limits connections to 127.0.0.1). The fixtures are made
available to every integration test by conftest.py.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"
USER = "meter-owner"
PASSWORD = "s3cret-Pa55"


def free_port() -> int:
    """A loopback TCP port nobody listens on (for now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


class Broker:
    """A mosquitto process on a free loopback port; `kill` and `start` again keep the port."""

    def __init__(
        self,
        directory: Path,
        *,
        password_file: Path | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.port = free_port()
        self.log = directory / "mosquitto.log"
        self.config = directory / "mosquitto.conf"
        lines = [
            f"listener {self.port} {LOOPBACK}",
            "persistence false",
            f"log_dest file {self.log}",
            # Started as root, mosquitto would switch to the `mosquitto` user, which cannot read
            # files in the test's private temporary directory; as anyone else this changes nothing.
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
        ]
        if password_file is None:
            lines.append("allow_anonymous true")
        else:
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        if tls is not None:
            lines += [f"certfile {tls[0]}", f"keyfile {tls[1]}"]
        self.config.write_text("\n".join(lines) + "\n")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start mosquitto and wait until it accepts TCP connections."""
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        assert os.access(mosquitto, os.X_OK), "mosquitto is required (scripts/setup installs it)"
        self._process = subprocess.Popen(
            [mosquitto, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            assert self._process.poll() is None, f"mosquitto exited: {self._log_tail()}"
            try:
                socket.create_connection((LOOPBACK, self.port), timeout=0.5).close()
            except OSError:
                assert time.monotonic() < deadline, f"mosquitto not ready: {self._log_tail()}"
                time.sleep(0.02)
            else:
                return

    def kill(self) -> None:
        """SIGKILL, as a crash or a power cut would: no goodbye to the clients."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(5)
            self._process = None

    def _log_tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else "(no log)"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """An anonymous broker, running."""
    server = Broker(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def auth_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker that wants USER / PASSWORD, running."""
    passwords = tmp_path / "passwords"
    tool = shutil.which("mosquitto_passwd")
    assert tool, "mosquitto_passwd is required (Debian's mosquitto package ships it)"
    subprocess.run([tool, "-b", "-c", str(passwords), USER, PASSWORD], check=True)
    server = Broker(tmp_path, password_file=passwords)
    server.start()
    yield server
    server.kill()


class Certificates:
    """A private CA and a server certificate for 127.0.0.1 it signed, as PEM files."""

    def __init__(self, directory: Path) -> None:
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Energy Ledger test CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "broker")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_file = directory / "ca.pem"
        self.cert_file = directory / "broker.pem"
        self.key_file = directory / "broker.key"
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[Broker, Certificates]]:
    """An anonymous broker speaking TLS only, with a certificate from a private CA."""
    certificates = Certificates(tmp_path)
    server = Broker(tmp_path, tls=(certificates.cert_file, certificates.key_file))
    server.start()
    yield server, certificates
    server.kill()
