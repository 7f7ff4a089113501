"""Certificates and keys for the local control plane, made with the openssl command line.

`ensure_pki(directory)` creates (once, then reuses) a CA, the API server's serving certificate for
127.0.0.1 and the in-cluster names, etcd's certificate (serving and peer, 127.0.0.1), the API server's
client certificate for etcd (etcd admits only certificates of this CA), and the service-account
signing key pair.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from netguard.errors import NetguardError

SERVER_NAMES = (
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
    "IP:127.0.0.1",
)

_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = {names}
[etcd]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = IP:127.0.0.1, DNS:localhost
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


class PkiError(NetguardError):
    """openssl failed; the message holds its error output."""


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    service_account_key: Path
    service_account_public_key: Path
    etcd_cert: Path
    """etcd's serving and peer certificate (127.0.0.1)."""
    etcd_key: Path
    etcd_client_cert: Path
    """The API server's client certificate for etcd (CN kube-apiserver-etcd-client)."""
    etcd_client_key: Path


def ensure_pki(directory: Path, *, extra_names: tuple[str, ...] = ("IP:10.100.0.1",)) -> Pki:
    """The PKI under `directory`, created on first use; existing files are reused (warm starts)."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        server_cert=directory / "apiserver.crt",
        server_key=directory / "apiserver.key",
        service_account_key=directory / "sa.key",
        service_account_public_key=directory / "sa.pub",
        etcd_cert=directory / "etcd.crt",
        etcd_key=directory / "etcd.key",
        etcd_client_cert=directory / "etcd-client.crt",
        etcd_client_key=directory / "etcd-client.key",
    )
    if all(path.is_file() for path in vars(pki).values()):
        return pki
    config = directory / "openssl.cnf"
    config.write_text(_OPENSSL_CONFIG.format(names=", ".join(SERVER_NAMES + extra_names)))
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-config",
        str(config),
        "-extensions",
        "ca",
        "-subj",
        "/CN=netguard-local-ca",
        "-keyout",
        str(pki.ca_key),
        "-out",
        str(pki.ca_cert),
    )
    for cn, key, cert, extensions in (
        ("kube-apiserver", pki.server_key, pki.server_cert, "server"),
        ("netguard-local-etcd", pki.etcd_key, pki.etcd_cert, "etcd"),
        ("kube-apiserver-etcd-client", pki.etcd_client_key, pki.etcd_client_cert, "client"),
    ):
        _signed(directory, config, pki, cn=cn, key=key, cert=cert, extensions=extensions)
    _openssl("genrsa", "-out", str(pki.service_account_key), "2048")
    _openssl(
        "rsa", "-in", str(pki.service_account_key), "-pubout", "-out", str(pki.service_account_public_key)
    )
    for key in (pki.ca_key, pki.server_key, pki.service_account_key, pki.etcd_key, pki.etcd_client_key):
        key.chmod(0o600)
    return pki


def _signed(
    directory: Path, config: Path, pki: Pki, *, cn: str, key: Path, cert: Path, extensions: str
) -> None:
    """A new key and a certificate for it signed by the CA, with the config's `extensions` section."""
    csr = directory / f"{cert.stem}.csr"
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-config", str(config),
        "-subj", f"/CN={cn}", "-keyout", str(key), "-out", str(csr),
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(pki.ca_cert), "-CAkey", str(pki.ca_key),
        "-CAcreateserial", "-days", "3650", "-extfile", str(config), "-extensions", extensions,
        "-out", str(cert),
    )  # fmt: skip


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PkiError(f"openssl {args[0]} failed: {result.stderr.strip()[-500:]}")
