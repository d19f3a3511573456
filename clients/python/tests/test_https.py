"""End to end over HTTPS: the server's public listener speaks TLS with a
certificate signed by a CA made for this test; the client verifies it
against that CA file, signs up, logs in and reads the server info, and
refuses the server when it is not told to trust the CA.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import urllib.error

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from server_process import ServerProcess

from battlegrid_client import http
from battlegrid_client import messages as m

PASSWORD = "lanterns by the river"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca_and_leaf(directory):
    """Writes ca.pem, leaf.pem and leaf.key; the leaf names 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("battlegrid python test CA"))
        .issuer_name(_name("battlegrid python test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (directory / "leaf.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("https")
    make_ca_and_leaf(directory)
    config = directory / "battlegrid.toml"
    config.write_text(
        "[public_tls]\n"
        "enabled = true\n"
        f'cert_pem = "{directory / "leaf.pem"}"\n'
        f'key_pem = "{directory / "leaf.key"}"\n'
    )
    proc = ServerProcess(directory / "data", config=config, scheme="https")
    yield proc, str(directory / "ca.pem")
    code = proc.stop()
    assert code == 0, f"server exit code {code}; log:\n{proc.log()}"


def test_https_login_verified_by_the_ca_file(tls_server):
    server, ca_file = tls_server
    assert server.http_url.startswith("https://127.0.0.1:")
    session = http.sign_up_or_log_in(server.http_url, "py_tls", PASSWORD, ca_file=ca_file)
    assert session.name == "py_tls" and len(session.token) == 43
    again = http.log_in(server.http_url, "PY_TLS", PASSWORD, ca_file=ca_file)
    assert again.account_id == session.account_id
    info = http.server_info(server.http_url, ca_file=ca_file)
    assert info.protocol_version == m.PROTOCOL_VERSION
    assert info.game is not None and len(info.game.cert_sha256) == 64


def test_https_without_the_ca_is_refused(tls_server):
    server, _ = tls_server
    with pytest.raises(urllib.error.URLError) as caught:
        http.log_in(server.http_url, "py_tls", PASSWORD)
    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError), caught.value


def test_weak_password_is_refused_with_the_reason(tls_server):
    server, ca_file = tls_server
    with pytest.raises(http.ApiError) as caught:
        http.sign_up(server.http_url, "py_weak", "password1", ca_file=ca_file)
    assert caught.value.status == 400 and caught.value.code == "weak_password"
    assert "common password" in caught.value.message
