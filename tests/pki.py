"""A throw-away PKI for tests: a root CA, an intermediate, and citizens' certificates."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

NOW = datetime.now(UTC)


@dataclass
class Issued:
    cert: x509.Certificate
    key: object

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, payload: bytes) -> str:
        if isinstance(self.key, rsa.RSAPrivateKey):
            sig = self.key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
        else:
            sig = self.key.sign(payload, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(sig).decode()


def _name(cn: str, serial: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if serial:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    return x509.Name(attrs)


def issue(
    subject: x509.Name,
    issuer: Issued | None,
    *,
    ca: bool = False,
    key=None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    digital_signature: bool = True,
) -> Issued:
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - timedelta(days=1))
        .not_valid_after(not_after or NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=digital_signature or ca,
                content_commitment=False,
                key_encipherment=not ca,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


class Pki:
    def __init__(self):
        self.root = issue(_name("Test Root CA (Ban Cơ yếu thử nghiệm)"), None, ca=True)
        self.intermediate = issue(_name("Test Issuing CA"), self.root, ca=True)
        self.rogue_root = issue(_name("Rogue CA"), None, ca=True)

    @property
    def trust_pem(self) -> str:
        return self.root.pem

    def citizen(self, national_id: str, **kw) -> Issued:
        return issue(_name("NGUYEN VAN AN", f"CCCD:{national_id}"), kw.pop("issuer", self.intermediate), **kw)

    def ec_citizen(self, national_id: str) -> Issued:
        return issue(
            _name("TRAN THI BINH", f"CCCD:{national_id}"),
            self.intermediate,
            key=ec.generate_private_key(ec.SECP256R1()),
        )
