"""C2PA manifests on delivered AI files: who signed them, what was done, with what. No Django here.

A manifest (JUMBF in APP11 segments) states the actions taken on a photo with their IPTC digital
source type, hashed over the file's bytes and signed with the studio's certificate chain: a reader
with the studio's root as trust anchor says `Trusted`; one changed byte makes it `Invalid`.
"""

import datetime
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

GENERATOR = "Studio platform"
TEST_SIGNER_NAME = "TEST SIGNER — not trusted"
TEST_SIGNER_FILE = "c2pa-test-signer.pem"
# Extended key usage that marks a certificate as made for signing C2PA claims.
C2PA_CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----\s*", re.DOTALL)
KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)
EC_ALGORITHMS = {
    "secp256r1": c2pa.C2paSigningAlg.ES256,
    "secp384r1": c2pa.C2paSigningAlg.ES384,
    "secp521r1": c2pa.C2paSigningAlg.ES512,
}


class SigningFailed(Exception):
    """c2pa refused to sign: the certificate chain or key is unusable (wrong pair, no C2PA
    extended key usage, self-signed, expired). Repeating will not help."""


@dataclass(frozen=True)
class Signer:
    """A certificate chain (PEM: the signing certificate first, then its issuers) and its key."""

    chain: bytes
    key: bytes
    generator: str = GENERATOR

    @property
    def anchor(self) -> bytes:
        """The chain's last certificate: the root a reader trusts to call our files Trusted."""
        return _pem_blocks(self.chain, b"CERTIFICATE")[-1]


@dataclass(frozen=True)
class Manifest:
    """What a reader finds in a file's active manifest."""

    state: str  # "Trusted", "Valid" (signed, signer not trusted) or "Invalid"
    actions: list[dict]
    signed_by: str  # the signing certificate's common name
    generator: str
    failures: list[str]  # validation codes, e.g. "assertion.dataHash.mismatch"


def sign_jpeg(data: bytes, *, signer: Signer, action: str, digital_source_type: str) -> bytes:
    """Return the JPEG `data` with a signed manifest recording `action` (`c2pa.edited` of the
    studio's original, or `c2pa.created`) with its digital source type (an IPTC URI).

    No thumbnail is embedded: the file is its own picture, and c2pa's thumbnail adds about
    125 KB to each size where the manifest alone adds about 3.5 KB and 15 ms (75 ms at 24 MP),
    so every size is signed.
    """
    builder = c2pa.Builder.from_json(
        _manifest(signer, action, digital_source_type),
        context=c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}}),
    )
    signed = io.BytesIO()
    try:
        with c2pa.Signer.from_info(_signer_info(signer)) as c2pa_signer, builder:
            builder.sign(c2pa_signer, "image/jpeg", io.BytesIO(data), signed)
    except c2pa.C2paError as error:
        raise SigningFailed(f"C2PA signing failed: {error}") from error
    return signed.getvalue()


def _manifest(signer: Signer, action: str, digital_source_type: str) -> dict:
    done = {"action": action, "digitalSourceType": digital_source_type}
    manifest = {"claim_generator_info": [{"name": signer.generator}], "ingredients": []}
    actions = [done]
    if action == "c2pa.edited":  # an edit must start from what it edited: the studio's original
        manifest["ingredients"] = [
            {"title": "original", "relationship": "parentOf", "label": "original"}
        ]
        actions = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["original"]}}, done]
    manifest["assertions"] = [{"label": "c2pa.actions", "data": {"actions": actions}}]
    return manifest


def _signer_info(signer: Signer) -> c2pa.C2paSignerInfo:
    key = serialization.load_pem_private_key(signer.key, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in EC_ALGORITHMS:
        algorithm = EC_ALGORITHMS[key.curve.name]
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        algorithm = c2pa.C2paSigningAlg.ED25519
    elif isinstance(key, rsa.RSAPrivateKey):
        algorithm = c2pa.C2paSigningAlg.PS256
    else:
        raise SigningFailed("C2PA signs with P-256/384/521, Ed25519 or RSA keys only")
    # No time-stamp authority: signing stays offline; a reader checks the certificate's dates.
    return c2pa.C2paSignerInfo(algorithm, signer.chain, signer.key, None)


def read_manifest(data: bytes, *, trust_anchors: bytes | None = None) -> Manifest | None:
    """The active manifest of the JPEG `data`, validated (None: it has none)."""
    settings = {"trust": {"trust_anchors": trust_anchors.decode()}} if trust_anchors else {}
    context = c2pa.Context.from_dict(settings)
    reader = c2pa.Reader.try_create("image/jpeg", io.BytesIO(data), context=context)
    if reader is None:
        return None
    with reader as got:
        active = got.get_active_manifest() or {}
        results = (got.get_validation_results() or {}).get("activeManifest", {})
        return Manifest(
            state=got.get_validation_state() or "",
            actions=_actions(active),
            signed_by=active.get("signature_info", {}).get("common_name", ""),
            generator=(active.get("claim_generator_info") or [{}])[0].get("name", ""),
            failures=[failure["code"] for failure in results.get("failure", [])],
        )


def _actions(manifest: dict) -> list[dict]:
    return [
        action
        for assertion in manifest.get("assertions", [])
        if assertion["label"].startswith("c2pa.actions")
        for action in assertion["data"]["actions"]
    ]


def studio_signer(*, cert: str, key: str, var_dir: Path) -> Signer:
    """The studio's signer from its settings (PEM chain and key), or the local test signer."""
    if cert and key:
        return Signer(chain=cert.encode(), key=key.encode())
    return local_test_signer(var_dir)


def local_test_signer(directory: Path) -> Signer:
    """The local test signer kept in `directory`, made at first use and reused after that.

    Its certificate says it is a test signer, and so does every manifest it signs. Two processes
    making it at once both link their file into place; one wins, and both then read the winner.
    """
    path = directory / TEST_SIGNER_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, delete=False) as made:
            made.write(_test_chain_pem())
        try:
            os.link(made.name, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(made.name)
    pem = path.read_bytes()
    return Signer(
        chain=b"".join(_pem_blocks(pem, b"CERTIFICATE")),
        key=_pem_blocks(pem, b"PRIVATE KEY")[0],
        generator=f"{GENERATOR} ({TEST_SIGNER_NAME})",
    )


def _pem_blocks(pem: bytes, kind: bytes) -> list[bytes]:
    return [found.group(0) for found in PEM_BLOCK.finditer(pem) if found.group(1) == kind]


def _test_chain_pem() -> bytes:
    """A P-256 root CA and a leaf it signs for C2PA claims (c2pa refuses self-signed leaves)."""
    root_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    root_name = _name("Studio platform test root — not trusted")
    root = _certificate(root_name, root_name, root_key.public_key(), root_key, ca=True)
    leaf = _certificate(
        _name(TEST_SIGNER_NAME), root_name, leaf_key.public_key(), root_key, ca=False
    )
    key = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, root))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, GENERATOR),
        ]
    )


def _certificate(subject, issuer, public_key, issuer_key, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    usage = {name: False for name in KEY_USAGES}
    usage.update(key_cert_sign=ca, crl_sign=ca, digital_signature=not ca)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, C2PA_CLAIM_SIGNING]),
            critical=False,
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())
