"""A local certificate authority and server certificates for the development servers' TLS.

`python -m deploy.tls [--keystore] DIR NAME [HOST ...]` writes into DIR, when missing or about to
expire:
  ca.pem      the local CA's certificate: what clients trust (DATABASE_SSL_ROOT_CERT,
              KAFKA_SSL_CAFILE)
  ca.key      its private key (signs server certificates; never leaves .state)
  NAME.crt    the server's certificate for the hosts (default 127.0.0.1 and localhost)
  NAME.key    its private key (0600)
  NAME.pem    with --keystore: a PEM keystore (key, certificate, CA; 0600) for servers that
              want one file, such as Kafka's ssl.keystore.type=PEM
and prints "made" when it wrote something, else "kept". One CA serves every development server
(PostgreSQL, the Kafka broker), so a client trusts one file. A new CA means new server
certificates. It needs the `cryptography` package (a dependency of
the project already), so deploy/infra.py, which keeps to the standard library, runs it with the
project's virtualenv. Development only: production certificates come from the operator's CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 825
RENEW_BEFORE = dt.timedelta(days=30)
DEFAULT_HOSTS = ("127.0.0.1", "localhost")


def _fresh(path: Path, hosts: tuple[str, ...] = ()) -> bool:
    """The certificate exists, is not about to expire and names every host."""
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.not_valid_after_utc - RENEW_BEFORE < dt.datetime.now(dt.UTC):
        return False
    if not hosts:
        return True
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    have = {str(n) for n in names.get_values_for_type(x509.IPAddress)}
    return set(hosts) <= have | set(names.get_values_for_type(x509.DNSName))


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    os.chmod(path, 0o600)


def _signed(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    signer: ec.EllipticCurvePrivateKey,
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS if issuer else CA_DAYS))
    )


def ensure_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, bool]:
    """The local CA, made when missing or expiring: (certificate, key, whether it is new)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "ca.pem", directory / "ca.key"
    if _fresh(cert_path) and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), key, False
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _signed("revcycle local development CA", key, None, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key, True


def ensure_server(directory: Path, name: str, hosts: tuple[str, ...] = DEFAULT_HOSTS) -> tuple[Path, Path]:
    """NAME.crt and NAME.key for `hosts`, signed by the local CA; (certificate, key) paths."""
    ca, ca_key, new_ca = ensure_ca(directory)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    if not new_ca and _fresh(cert_path, hosts) and key_path.exists():
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        _signed(hosts[0], key, ca, ca_key)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def ensure_keystore(directory: Path, name: str, hosts: tuple[str, ...] = DEFAULT_HOSTS) -> bool:
    """NAME.pem (the server's key, its certificate, the CA's), rewritten whenever the certificate
    is newer; True when it was written."""
    cert_path, key_path = ensure_server(directory, name, hosts)
    keystore = directory / f"{name}.pem"
    if keystore.exists() and keystore.stat().st_mtime >= cert_path.stat().st_mtime:
        return False
    keystore.touch(mode=0o600)
    keystore.write_bytes(key_path.read_bytes() + cert_path.read_bytes() + (directory / "ca.pem").read_bytes())
    os.chmod(keystore, 0o600)
    return True


def main(argv: list[str]) -> int:
    keystore = "--keystore" in argv
    argv = [a for a in argv if a != "--keystore"]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    directory, name, hosts = Path(argv[0]), argv[1], tuple(argv[2:]) or DEFAULT_HOSTS
    before = {p: p.stat().st_mtime for p in directory.glob(f"{name}.*")} if directory.exists() else {}
    if keystore:
        ensure_keystore(directory, name, hosts)
    else:
        ensure_server(directory, name, hosts)
    after = {p: p.stat().st_mtime for p in directory.glob(f"{name}.*")}
    print("made" if after != before else "kept")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
