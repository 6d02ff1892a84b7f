"""X.509 layer: build and parse per suite, chain checks and their reasons, OpenSSL, fuzzing."""

from __future__ import annotations

import dataclasses
import pickle
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509 as cg_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyasn1.codec.der import decoder, encoder
from pyasn1.type import univ
from pyasn1_modules import rfc5280

from ezhengzhao.errors import CertificateError, InvalidSignatureError
from ezhengzhao.sign.keys import PrivateKey, PublicKey, generate_private_key, load_private_key
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3, SignatureSuite, Signer
from ezhengzhao.sign.x509 import (
    REASON_CODES,
    Certificate,
    Name,
    build_certificate,
    check_chain,
    load_certificates,
    subject_key_identifier,
)

ALL = (SM2_SM3, ECDSA_P256_SHA256, ED25519)
NOW = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
Y = timedelta(days=365)
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not on PATH")
DISTID = "distid:1234567812345678"  # GM/T 0009 default identity, as OpenSSL spells it

ROOT_NAME = Name("长三角电子证照根CA", organization="长三角电子证照", province="上海")
INTER_NAME = Name("上海市电子印章制作CA", organization="上海市大数据中心", province="上海")
LEAF_NAME = Name(
    "上海市市场监督管理局",
    organization="上海市市场监督管理局",
    locality="上海",
    serial_number="11310000002421209A",
)
CA_USAGE = ("keyCertSign", "cRLSign")


@dataclasses.dataclass(frozen=True)
class Chain:
    root_key: PrivateKey
    root: Certificate
    inter_key: PrivateKey
    inter: Certificate
    leaf_key: PrivateKey
    leaf: Certificate  # issued by inter
    direct_leaf: Certificate  # issued by root


def make_root(key: PrivateKey, name: Name = ROOT_NAME, **kw: object) -> Certificate:
    args: dict[str, object] = {
        "not_before": NOW - Y,
        "not_after": NOW + 20 * Y,
        "is_ca": True,
        "key_usage": CA_USAGE,
    }
    args.update(kw)
    return build_certificate(
        subject=name,
        subject_key=key.public_key,
        issuer=name,
        issuer_signer=key,
        **args,  # type: ignore[arg-type]
    )


def issue(
    issuer: Certificate,
    issuer_key: Signer,
    subject_key: PublicKey,
    name: Name = LEAF_NAME,
    **kw: object,
) -> Certificate:
    args: dict[str, object] = {
        "not_before": NOW - Y / 2,
        "not_after": NOW + Y,
        "key_usage": ("digitalSignature", "nonRepudiation"),
        "issuer_key_id": issuer.subject_key_id,
    }
    args.update(kw)
    return build_certificate(
        subject=name,
        subject_key=subject_key,
        issuer=issuer.subject,
        issuer_signer=issuer_key,
        **args,  # type: ignore[arg-type]
    )


def make_chain(suite_id: str) -> Chain:
    root_key, inter_key, leaf_key = (generate_private_key(suite_id) for _ in range(3))
    root = make_root(root_key)
    inter = issue(
        root, root_key, inter_key.public_key, INTER_NAME,
        is_ca=True, path_length=0, key_usage=CA_USAGE, not_after=NOW + 10 * Y,
    )  # fmt: skip
    leaf = issue(inter, inter_key, leaf_key.public_key)
    direct = issue(root, root_key, leaf_key.public_key)
    return Chain(root_key, root, inter_key, inter, leaf_key, leaf, direct)


@pytest.fixture(scope="module")
def chains() -> dict[str, Chain]:
    return {suite_id: make_chain(suite_id) for suite_id in ALL}


@pytest.fixture(scope="module")
def sm2(chains: dict[str, Chain]) -> Chain:
    return chains[SM2_SM3]


def resign(
    certificate: Certificate, issuer_key: PrivateKey, mutate: Callable[[univ.Sequence], None]
) -> Certificate:
    """Change a certificate's TBS with pyasn1 and sign it again (to make odd certificates)."""
    asn1, _ = decoder.decode(certificate.der, asn1Spec=rfc5280.Certificate())
    mutate(asn1["tbsCertificate"])
    signature = issuer_key.sign(encoder.encode(asn1["tbsCertificate"]))
    asn1["signature"] = univ.BitString.fromOctetString(signature)
    return Certificate.from_der(encoder.encode(asn1))


def der_sequence(body: bytes) -> bytes:
    """Wrap ``body`` in a DER SEQUENCE header."""
    if len(body) < 0x80:
        return b"\x30" + bytes([len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return b"\x30" + bytes([0x80 | len(size)]) + size + body


def reason(call: Callable[[], object]) -> str:
    with pytest.raises(CertificateError) as caught:
        call()
    return caught.value.reason


# -- building and parsing ---------------------------------------------------------------------


@pytest.mark.parametrize("suite_id", ALL)
def test_built_chain_parses_back(chains: dict[str, Chain], suite_id: str) -> None:
    chain = chains[suite_id]
    root, inter, leaf = chain.root, chain.inter, chain.leaf
    assert root.subject == ROOT_NAME and root.issuer == ROOT_NAME and root.is_self_issued
    assert root.is_ca and root.path_length is None
    assert root.key_usage == frozenset(CA_USAGE)
    assert root.authority_key_id == root.subject_key_id
    assert root.subject_key_id == subject_key_identifier(chain.root_key.public_key)
    assert inter.is_ca and inter.path_length == 0
    assert inter.authority_key_id == root.subject_key_id
    assert leaf.subject == LEAF_NAME and leaf.issuer == INTER_NAME
    assert not leaf.is_ca and leaf.path_length is None
    assert leaf.key_usage == {"digitalSignature", "nonRepudiation"}
    assert leaf.public_key == chain.leaf_key.public_key
    assert leaf.signature_oid == chain.inter_key.suite.signature_oid
    assert leaf.not_before == NOW - Y / 2 and leaf.not_after == NOW + Y
    assert 0 < leaf.serial_number < 2**127
    assert leaf.unhandled_critical_extensions == ()
    assert Certificate.from_der(leaf.der) == leaf
    assert Certificate.from_pem(leaf.to_pem()) == leaf
    assert leaf.kid == leaf.sha256[:8] and len(leaf.sha256) == 32
    leaf.verify_issued_by(inter)
    inter.verify_issued_by(root)
    root.verify_issued_by(root)


def test_certificates_pickle(chains: dict[str, Chain]) -> None:
    for chain in chains.values():
        copy = pickle.loads(pickle.dumps(chain.leaf))
        assert copy == chain.leaf and copy.public_key == chain.leaf.public_key
        assert copy.issuer.to_der() == chain.leaf.issuer.to_der()
        check_chain(copy, roots=[chain.root], intermediates=[chain.inter], at=NOW)


def test_serials_are_random_and_can_be_given(sm2: Chain) -> None:
    again = issue(sm2.root, sm2.root_key, sm2.leaf_key.public_key)
    assert again.serial_number != sm2.direct_leaf.serial_number
    fixed = issue(sm2.root, sm2.root_key, sm2.leaf_key.public_key, serial_number=20260601)
    assert fixed.serial_number == 20260601
    with pytest.raises(ValueError):
        issue(sm2.root, sm2.root_key, sm2.leaf_key.public_key, serial_number=0)


def test_builder_refuses_inconsistent_arguments(sm2: Chain) -> None:
    public = sm2.leaf_key.public_key
    with pytest.raises(ValueError, match="keyCertSign"):
        issue(sm2.root, sm2.root_key, public, key_usage=("keyCertSign",))
    with pytest.raises(ValueError, match="path_length"):
        issue(sm2.root, sm2.root_key, public, path_length=1)
    with pytest.raises(ValueError, match="unknown key usage"):
        issue(sm2.root, sm2.root_key, public, key_usage=("signing",))
    with pytest.raises(ValueError, match="timezone-aware"):
        issue(sm2.root, sm2.root_key, public, not_after=datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="before"):
        issue(sm2.root, sm2.root_key, public, not_after=NOW - 2 * Y)


def test_a_signer_returning_raw_signatures_is_normalised(sm2: Chain) -> None:
    class RawSigner:
        """Stands in for an HSM that returns r‖s."""

        def __init__(self, key: PrivateKey) -> None:
            self._key = key

        @property
        def suite(self) -> SignatureSuite:
            return self._key.suite

        @property
        def public_key(self) -> PublicKey:
            return self._key.public_key

        def sign(self, data: bytes) -> bytes:
            from ezhengzhao.sign.suites import signature_to_raw

            return signature_to_raw(self._key.sign(data), self.suite)

    signer = RawSigner(sm2.inter_key)
    assert isinstance(signer, Signer)
    leaf = issue(sm2.inter, signer, sm2.leaf_key.public_key)
    assert leaf.signature[0] == 0x30  # DER in the certificate
    check_chain(leaf, roots=[sm2.root], intermediates=[sm2.inter], at=NOW)


def test_a_signer_whose_signatures_do_not_verify_builds_nothing(sm2: Chain) -> None:
    class Liar:
        suite = sm2.inter_key.suite
        public_key = sm2.inter_key.public_key

        def sign(self, data: bytes) -> bytes:
            return sm2.root_key.sign(data)

    with pytest.raises(InvalidSignatureError):
        issue(sm2.inter, Liar(), sm2.leaf_key.public_key)


def test_name_encoding_and_text(sm2: Chain) -> None:
    asn1, _ = decoder.decode(sm2.leaf.subject.to_der(), asn1Spec=rfc5280.Name())
    tags = {}
    for rdn in asn1["rdnSequence"]:
        for atv in rdn:
            tags[str(atv["type"])] = bytes(atv["value"])[0]
    assert tags["2.5.4.3"] == 0x0C  # CN UTF8String
    assert tags["2.5.4.10"] == 0x0C  # O UTF8String
    assert tags["2.5.4.7"] == 0x0C  # L UTF8String
    assert tags["2.5.4.6"] == 0x13  # C PrintableString
    assert tags["2.5.4.5"] == 0x13  # serialNumber PrintableString
    assert str(LEAF_NAME) == (
        "CN=上海市市场监督管理局, serialNumber=11310000002421209A, "
        "O=上海市市场监督管理局, L=上海, C=CN"
    )
    assert str(Name("a,b", country=None)) == "CN=a\\,b"


def test_names_with_other_attributes_round_trip(sm2: Chain) -> None:
    name = Name(
        "Example",
        organizational_unit="first unit",
        other=(
            ("emailAddress", "ca@example.cn"),
            ("organizationIdentifier", "USCC-11310000002421209A"),
            ("OU", "second unit"),
            ("1.2.3.4.5", "private attribute"),
        ),
    )
    parsed = Name.from_der(name.to_der())
    assert parsed == name
    assert "OU=second unit" in str(parsed) and "1.2.3.4.5=private attribute" in str(parsed)
    certificate = issue(sm2.root, sm2.root_key, sm2.leaf_key.public_key, name)
    assert certificate.subject == name
    with pytest.raises(ValueError):
        Name("x", country="China").to_der()
    with pytest.raises(ValueError):
        Name("x", country="中国").to_der()
    with pytest.raises(ValueError):
        Name("x", serial_number="统一代码").to_der()
    with pytest.raises(ValueError):
        Name("x", other=(("nickname", "y"),)).to_der()


def test_a_parsed_issuer_name_keeps_its_exact_bytes(sm2: Chain) -> None:
    # Name attributes in an order this library would not write: chaining must still work.
    def reorder(tbs: univ.Sequence) -> None:
        rdns = [encoder.encode(rdn) for rdn in tbs["subject"]["rdnSequence"]]
        reversed_name = der_sequence(b"".join(reversed(rdns)))
        tbs["subject"] = decoder.decode(reversed_name, asn1Spec=rfc5280.Name())[0]

    odd_ca = resign(sm2.inter, sm2.root_key, reorder)
    assert odd_ca.subject.to_der() != INTER_NAME.to_der()
    assert odd_ca.subject == INTER_NAME  # same attributes, different bytes
    leaf = issue(odd_ca, sm2.inter_key, sm2.leaf_key.public_key)
    assert leaf.issuer.to_der() == odd_ca.subject.to_der()
    check_chain(leaf, roots=[sm2.root], intermediates=[odd_ca], at=NOW)


def test_times_utc_before_2050_generalized_after(sm2: Chain) -> None:
    def validity_tags(certificate: Certificate) -> tuple[str, str]:
        asn1, _ = decoder.decode(certificate.der, asn1Spec=rfc5280.Certificate())
        validity = asn1["tbsCertificate"]["validity"]
        return validity["notBefore"].getName(), validity["notAfter"].getName()

    edge = issue(
        sm2.root, sm2.root_key, sm2.leaf_key.public_key,
        not_before=datetime(2049, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        not_after=datetime(2050, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert validity_tags(edge) == ("utcTime", "generalTime")
    assert edge.not_before == datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)  # whole seconds
    assert edge.not_after == datetime(2050, 1, 1, tzinfo=UTC)
    east8 = timezone(timedelta(hours=8))
    beijing = issue(
        sm2.root, sm2.root_key, sm2.leaf_key.public_key,
        not_before=datetime(2026, 1, 1, 8, tzinfo=east8),
    )  # fmt: skip
    assert beijing.not_before == datetime(2026, 1, 1, 0, tzinfo=UTC)
    assert beijing.not_before.tzinfo is UTC
    assert validity_tags(sm2.leaf) == ("utcTime", "utcTime")


def test_load_certificates_pem_bundle_and_der(chains: dict[str, Chain]) -> None:
    chain = chains[SM2_SM3]
    bundle = b"leading text\n" + chain.leaf.to_pem() + chain.inter.to_pem() + chain.root.to_pem()
    assert load_certificates(bundle) == [chain.leaf, chain.inter, chain.root]
    assert load_certificates(chain.root.der) == [chain.root]
    assert reason(lambda: Certificate.from_pem(bundle)) == "certificate_malformed"
    assert reason(lambda: load_certificates(b"-----BEGIN X-----\nMAA=\n-----END X-----\n")) == (
        "certificate_malformed"
    )


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x30\x00", b"garbage", b"\x30\x82\xff\xff", b"\x30\x80\x00\x00"],
)
def test_malformed_input(bad: bytes) -> None:
    assert reason(lambda: Certificate.from_der(bad)) == "certificate_malformed"
    assert reason(lambda: load_certificates(bad)) == "certificate_malformed"


def test_trailing_bytes_are_rejected(sm2: Chain) -> None:
    assert reason(lambda: Certificate.from_der(sm2.leaf.der + b"\x00")) == "certificate_malformed"
    assert reason(lambda: Certificate.from_der("text")) == "certificate_malformed"  # type: ignore[arg-type]


def test_certificates_with_unsupported_keys() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    name = cg_x509.Name([cg_x509.NameAttribute(cg_x509.NameOID.COMMON_NAME, "p384")])
    certificate = (
        cg_x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - Y)
        .not_valid_after(NOW + Y)
        .sign(key, hashes.SHA384())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert reason(lambda: Certificate.from_der(der)) == "certificate_unsupported_algorithm"


# -- interoperability with cryptography -------------------------------------------------------


@pytest.mark.parametrize("suite_id", (ECDSA_P256_SHA256, ED25519))
def test_cryptography_reads_and_verifies_our_certificates(
    chains: dict[str, Chain], suite_id: str
) -> None:
    chain = chains[suite_id]
    root = cg_x509.load_der_x509_certificate(chain.root.der)
    inter = cg_x509.load_der_x509_certificate(chain.inter.der)
    leaf = cg_x509.load_der_x509_certificate(chain.leaf.der)
    inter.verify_directly_issued_by(root)
    leaf.verify_directly_issued_by(inter)
    constraints = inter.extensions.get_extension_for_class(cg_x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = leaf.extensions.get_extension_for_class(cg_x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    ski = leaf.extensions.get_extension_for_class(cg_x509.SubjectKeyIdentifier).value
    assert ski.digest == chain.leaf.subject_key_id
    aki = leaf.extensions.get_extension_for_class(cg_x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == chain.inter.subject_key_id
    assert leaf.serial_number == chain.leaf.serial_number
    assert leaf.not_valid_after_utc == chain.leaf.not_after
    common_names = leaf.subject.get_attributes_for_oid(cg_x509.NameOID.COMMON_NAME)
    assert [a.value for a in common_names] == ["上海市市场监督管理局"]


def test_we_accept_a_p256_chain_made_by_cryptography() -> None:
    root_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root_name = cg_x509.Name([cg_x509.NameAttribute(cg_x509.NameOID.COMMON_NAME, "root")])
    leaf_name = cg_x509.Name([cg_x509.NameAttribute(cg_x509.NameOID.COMMON_NAME, "leaf")])

    def builder(
        subject: cg_x509.Name, key: ec.EllipticCurvePrivateKey
    ) -> cg_x509.CertificateBuilder:
        return (
            cg_x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(root_name)
            .public_key(key.public_key())
            .serial_number(cg_x509.random_serial_number())
            .not_valid_before(NOW - Y)
            .not_valid_after(NOW + Y)
        )

    root = (
        builder(root_name, root_key)
        .add_extension(cg_x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            cg_x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .sign(root_key, hashes.SHA256())
    )
    leaf = (
        builder(leaf_name, leaf_key)
        .add_extension(
            cg_x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
        )
        .sign(root_key, hashes.SHA256())
    )
    ours_root = Certificate.from_der(root.public_bytes(serialization.Encoding.DER))
    ours_leaf = Certificate.from_der(leaf.public_bytes(serialization.Encoding.DER))
    assert ours_leaf.authority_key_id is None  # name chaining alone
    assert check_chain(ours_leaf, roots=[ours_root], at=NOW) == (ours_leaf, ours_root)


# -- chain checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("suite_id", ALL)
def test_valid_chains(chains: dict[str, Chain], suite_id: str) -> None:
    c = chains[suite_id]
    assert check_chain(c.leaf, roots=[c.root], intermediates=[c.inter], at=NOW) == (
        c.leaf,
        c.inter,
        c.root,
    )
    assert check_chain(c.direct_leaf, roots=[c.root], at=NOW) == (c.direct_leaf, c.root)
    # Unrelated certificates among the candidates do no harm.
    others = [x.root for x in chains.values() if x is not c]
    path = check_chain(
        c.leaf, roots=[*others, c.root], intermediates=[c.root, c.leaf, c.inter], at=NOW
    )
    assert path == (c.leaf, c.inter, c.root)
    # A trust anchor used directly as the signing certificate.
    assert check_chain(c.root, roots=[c.root], at=NOW, key_usage="keyCertSign") == (c.root,)


def test_validity_is_checked_for_every_certificate(sm2: Chain) -> None:
    def at(moment: datetime) -> str:
        return reason(
            lambda: check_chain(sm2.leaf, roots=[sm2.root], intermediates=[sm2.inter], at=moment)
        )

    assert at(NOW + 2 * Y) == "certificate_expired"
    assert at(NOW - Y) == "certificate_not_yet_valid"
    short_ca = issue(
        sm2.root, sm2.root_key, sm2.inter_key.public_key, INTER_NAME,
        is_ca=True, key_usage=CA_USAGE, not_after=NOW - timedelta(days=1),
    )  # fmt: skip
    assert (
        reason(lambda: check_chain(sm2.leaf, roots=[sm2.root], intermediates=[short_ca], at=NOW))
        == "certificate_expired"
    )
    young_root = make_root(sm2.root_key, not_before=NOW + timedelta(days=1))
    assert (
        reason(lambda: check_chain(sm2.direct_leaf, roots=[young_root], at=NOW))
        == "certificate_not_yet_valid"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        check_chain(sm2.leaf, roots=[sm2.root], at=datetime(2026, 6, 1))


def test_boundaries_are_inclusive(sm2: Chain) -> None:
    check_chain(sm2.direct_leaf, roots=[sm2.root], at=sm2.direct_leaf.not_after)
    check_chain(sm2.direct_leaf, roots=[sm2.root], at=sm2.direct_leaf.not_before)
    assert sm2.direct_leaf.is_valid_at(NOW)
    assert not sm2.direct_leaf.is_valid_at(sm2.direct_leaf.not_after + timedelta(seconds=1))


def test_untrusted(chains: dict[str, Chain]) -> None:
    a, b = chains[SM2_SM3], make_chain(SM2_SM3)
    # Wrong issuer: a leaf of chain A against the root of chain B (same names, other keys).
    assert (
        reason(lambda: check_chain(a.leaf, roots=[b.root], intermediates=[b.inter], at=NOW))
        == "certificate_untrusted"
    )
    # Unknown root: the intermediate is there, its issuer is not trusted.
    other_root = chains[ECDSA_P256_SHA256].root
    assert (
        reason(lambda: check_chain(a.leaf, roots=[other_root], intermediates=[a.inter], at=NOW))
        == "certificate_untrusted"
    )
    # Missing intermediate.
    assert reason(lambda: check_chain(a.leaf, roots=[a.root], at=NOW)) == "certificate_untrusted"
    # No roots at all: nothing is trusted, never "valid".
    assert reason(lambda: check_chain(a.leaf, roots=[], at=NOW)) == "certificate_untrusted"
    # Key rollover: two roots with the same name; key identifiers pick the right one.
    assert check_chain(a.direct_leaf, roots=[b.root, a.root], at=NOW)[-1] == a.root


def test_signature_invalid(chains: dict[str, Chain]) -> None:
    for suite_id, c in chains.items():
        tampered = bytearray(c.leaf.der)
        tampered[-1] ^= 0x01  # last byte of the signature
        bad = Certificate.from_der(bytes(tampered))
        assert bad.tbs_der == c.leaf.tbs_der, suite_id
        with pytest.raises(CertificateError) as caught:
            check_chain(bad, roots=[c.root], intermediates=[c.inter], at=NOW)
        assert caught.value.reason == "certificate_signature_invalid"
        with pytest.raises(CertificateError) as caught:
            bad.verify_issued_by(c.inter)
        assert caught.value.reason == "certificate_signature_invalid"


def test_same_name_without_key_identifiers_is_a_signature_failure(chains: dict[str, Chain]) -> None:
    a, b = chains[SM2_SM3], make_chain(SM2_SM3)

    def drop_aki(tbs: univ.Sequence) -> None:
        kept = [e for e in tbs["extensions"] if str(e["extnID"]) != "2.5.29.35"]
        extensions = tbs["extensions"].clone()
        for extension in kept:
            extensions.append(extension)
        tbs["extensions"] = extensions

    leaf = resign(a.direct_leaf, a.root_key, drop_aki)
    assert leaf.authority_key_id is None
    check_chain(leaf, roots=[a.root], at=NOW)
    assert reason(lambda: check_chain(leaf, roots=[b.root], at=NOW)) == (
        "certificate_signature_invalid"
    )


def test_algorithm_of_the_issuer_key_must_match(chains: dict[str, Chain]) -> None:
    sm2, p256 = chains[SM2_SM3], chains[ECDSA_P256_SHA256]

    def claim_p256(tbs: univ.Sequence) -> None:
        tbs["signature"]["algorithm"] = univ.ObjectIdentifier("1.2.840.10045.4.3.2")

    # TBS and outer algorithm must agree; here both say ECDSA but the key is SM2.
    asn1, _ = decoder.decode(sm2.direct_leaf.der, asn1Spec=rfc5280.Certificate())
    claim_p256(asn1["tbsCertificate"])
    asn1["signatureAlgorithm"]["algorithm"] = univ.ObjectIdentifier("1.2.840.10045.4.3.2")
    signature = sm2.root_key.sign(encoder.encode(asn1["tbsCertificate"]))
    asn1["signature"] = univ.BitString.fromOctetString(signature)
    lying = Certificate.from_der(encoder.encode(asn1))
    assert reason(lambda: check_chain(lying, roots=[sm2.root], at=NOW)) == (
        "certificate_signature_invalid"
    )
    # Outer and inner algorithm identifiers that differ are malformed (RFC 5280 §4.1.1.2).
    asn1["signatureAlgorithm"]["algorithm"] = univ.ObjectIdentifier("1.2.156.10197.1.501")
    assert reason(lambda: Certificate.from_der(encoder.encode(asn1))) == "certificate_malformed"
    assert p256  # the P-256 chain is only used for contrast above


def test_not_ca(sm2: Chain) -> None:
    # A leaf issuing another certificate.
    grandchild_key = generate_private_key(SM2_SM3)
    grandchild = issue(sm2.direct_leaf, sm2.leaf_key, grandchild_key.public_key, Name("grandchild"))
    assert (
        reason(
            lambda: check_chain(
                grandchild, roots=[sm2.root], intermediates=[sm2.direct_leaf], at=NOW
            )
        )
        == "certificate_not_ca"
    )
    # A CA certificate without keyCertSign.
    ca_without_sign = issue(
        sm2.root, sm2.root_key, sm2.inter_key.public_key, INTER_NAME,
        is_ca=True, key_usage=("cRLSign",),
    )  # fmt: skip
    assert (
        reason(
            lambda: check_chain(sm2.leaf, roots=[sm2.root], intermediates=[ca_without_sign], at=NOW)
        )
        == "certificate_not_ca"
    )
    # A root that is not a CA is not trusted to issue either.
    not_a_ca = build_certificate(
        subject=ROOT_NAME, subject_key=sm2.root_key.public_key, issuer=ROOT_NAME,
        issuer_signer=sm2.root_key, not_before=NOW - Y, not_after=NOW + Y,
    )  # fmt: skip
    assert reason(lambda: check_chain(sm2.direct_leaf, roots=[not_a_ca], at=NOW)) == (
        "certificate_not_ca"
    )


def test_key_usage(sm2: Chain) -> None:
    encipher_only = issue(
        sm2.root, sm2.root_key, sm2.leaf_key.public_key, key_usage=("keyEncipherment",)
    )
    assert reason(lambda: check_chain(encipher_only, roots=[sm2.root], at=NOW)) == (
        "certificate_key_usage"
    )
    check_chain(encipher_only, roots=[sm2.root], at=NOW, key_usage="keyEncipherment")
    check_chain(encipher_only, roots=[sm2.root], at=NOW, key_usage=None)
    check_chain(sm2.direct_leaf, roots=[sm2.root], at=NOW, key_usage="nonRepudiation")
    no_extension = issue(sm2.root, sm2.root_key, sm2.leaf_key.public_key, key_usage=())
    assert no_extension.key_usage == frozenset()
    assert reason(lambda: check_chain(no_extension, roots=[sm2.root], at=NOW)) == (
        "certificate_key_usage"
    )
    with pytest.raises(ValueError):
        check_chain(sm2.direct_leaf, roots=[sm2.root], at=NOW, key_usage="signing")


def test_path_length(sm2: Chain) -> None:
    # inter has pathLen 0: another CA below it breaks the constraint.
    sub_key = generate_private_key(SM2_SM3)
    sub = issue(
        sm2.inter, sm2.inter_key, sub_key.public_key, Name("区级CA"),
        is_ca=True, key_usage=CA_USAGE,
    )  # fmt: skip
    leaf = issue(sub, sub_key, generate_private_key(SM2_SM3).public_key)
    assert (
        reason(lambda: check_chain(leaf, roots=[sm2.root], intermediates=[sm2.inter, sub], at=NOW))
        == "certificate_path_length"
    )
    # A root with pathLen 0 may issue leaves directly but no intermediate.
    strict_root = make_root(sm2.root_key, path_length=0)
    check_chain(sm2.direct_leaf, roots=[strict_root], at=NOW)
    assert (
        reason(
            lambda: check_chain(sm2.leaf, roots=[strict_root], intermediates=[sm2.inter], at=NOW)
        )
        == "certificate_path_length"
    )


def test_unhandled_critical_extension(sm2: Chain) -> None:
    def add_critical(tbs: univ.Sequence) -> None:
        extension = rfc5280.Extension()
        extension["extnID"] = univ.ObjectIdentifier("1.2.156.9999.1")
        extension["critical"] = True
        extension["extnValue"] = univ.OctetString(b"\x05\x00")
        tbs["extensions"].append(extension)

    odd = resign(sm2.direct_leaf, sm2.root_key, add_critical)
    assert odd.unhandled_critical_extensions == ("1.2.156.9999.1",)
    assert reason(lambda: check_chain(odd, roots=[sm2.root], at=NOW)) == (
        "certificate_unhandled_critical_extension"
    )


def test_every_documented_reason_is_produced() -> None:
    # The tests above produce each of these; this keeps the list and the docs honest.
    assert set(REASON_CODES) == {
        "certificate_malformed",
        "certificate_unsupported_algorithm",
        "certificate_untrusted",
        "certificate_signature_invalid",
        "certificate_not_yet_valid",
        "certificate_expired",
        "certificate_not_ca",
        "certificate_key_usage",
        "certificate_path_length",
        "certificate_unhandled_critical_extension",
    }


# -- the verified-signature cache -------------------------------------------------------------


def test_the_cache_skips_signature_checks(sm2: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real_verify = PublicKey.verify

    def counting_verify(self: PublicKey, *args: object, **kwargs: object) -> None:
        calls.append(self.spki_der())
        real_verify(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(PublicKey, "verify", counting_verify)
    verified: set[bytes] = set()
    args = {"roots": [sm2.root], "intermediates": [sm2.inter], "at": NOW, "verified": verified}
    check_chain(sm2.leaf, **args)  # type: ignore[arg-type]
    assert len(calls) == 2 and len(verified) == 2  # leaf←inter, inter←root; root not checked
    calls.clear()
    for _ in range(5):
        check_chain(sm2.leaf, **args)  # type: ignore[arg-type]
    assert calls == []  # steady state: no signature checks at all
    # Other checks still run on cached paths.
    assert reason(lambda: check_chain(sm2.leaf, **{**args, "at": NOW + 2 * Y})) == (  # type: ignore[arg-type]
        "certificate_expired"
    )
    # A certificate with a bad signature is checked, fails, and is not cached.
    tampered = bytearray(sm2.leaf.der)
    tampered[-1] ^= 0x01
    bad = Certificate.from_der(bytes(tampered))
    assert reason(lambda: check_chain(bad, **args)) == "certificate_signature_invalid"  # type: ignore[arg-type]
    assert len(calls) == 1 and len(verified) == 2

    # The cache is keyed by the issuer's key: a root with the same name but another key (and
    # no key identifier to tell them apart) is consulted and fails, whatever the cache holds.
    def drop_ski(tbs: univ.Sequence) -> None:
        kept = [e for e in tbs["extensions"] if str(e["extnID"]) != "2.5.29.14"]
        extensions = tbs["extensions"].clone()
        for extension in kept:
            extensions.append(extension)
        tbs["extensions"] = extensions

    impostor_key = generate_private_key(SM2_SM3)
    impostor = resign(make_root(impostor_key), impostor_key, drop_ski)
    assert impostor.subject == sm2.root.subject and impostor.subject_key_id is None
    calls.clear()
    assert (
        reason(
            lambda: check_chain(
                sm2.leaf, roots=[impostor], intermediates=[sm2.inter], at=NOW, verified=verified
            )
        )
        == "certificate_signature_invalid"
    )
    assert calls == [impostor.public_key.spki_der()]  # inter←leaf came from the cache


# -- OpenSSL ----------------------------------------------------------------------------------


def openssl(*args: str, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    done = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, check=False, timeout=60)
    if ok:
        assert done.returncode == 0, (done.stdout + done.stderr).decode(errors="replace")
    return done


def write(directory: Path, **certificates: Certificate) -> None:
    for name, certificate in certificates.items():
        (directory / f"{name}.pem").write_bytes(certificate.to_pem())


AT = str(int(NOW.timestamp()))


@needs_openssl
def test_openssl_verifies_sm2_root_to_leaf(sm2: Chain, tmp_path: Path) -> None:
    write(tmp_path, root=sm2.root, leaf=sm2.direct_leaf)
    done = openssl(
        "verify", "-vfyopt", DISTID, "-attime", AT, "-CAfile", "root.pem", "leaf.pem", cwd=tmp_path
    )
    assert b"leaf.pem: OK" in done.stdout
    # Without the GM/T 0009 identity OpenSSL 3 computes another Z and must fail.
    failed = openssl("verify", "-attime", AT, "-CAfile", "root.pem", "leaf.pem", cwd=tmp_path,
                     ok=False)  # fmt: skip
    assert failed.returncode != 0


@needs_openssl
def test_openssl_verifies_each_link_of_an_sm2_three_level_chain(sm2: Chain, tmp_path: Path) -> None:
    write(tmp_path, root=sm2.root, inter=sm2.inter, leaf=sm2.leaf)
    openssl("verify", "-vfyopt", DISTID, "-attime", AT, "-CAfile", "root.pem", "inter.pem",
            cwd=tmp_path)  # fmt: skip
    openssl("verify", "-vfyopt", DISTID, "-attime", AT, "-partial_chain", "-CAfile", "inter.pem",
            "leaf.pem", cwd=tmp_path)  # fmt: skip


@needs_openssl
@pytest.mark.xfail(
    strict=False,
    reason="OpenSSL 3 applies -vfyopt distid only to the target certificate, so the "
    "intermediate's SM2 signature is checked with an empty identity; "
    "each link verifies on its own (test above)",
)
def test_openssl_verifies_an_sm2_three_level_chain_in_one_command(
    sm2: Chain, tmp_path: Path
) -> None:
    write(tmp_path, root=sm2.root, inter=sm2.inter, leaf=sm2.leaf)
    openssl("verify", "-vfyopt", DISTID, "-attime", AT, "-CAfile", "root.pem",
            "-untrusted", "inter.pem", "leaf.pem", cwd=tmp_path)  # fmt: skip


@needs_openssl
@pytest.mark.parametrize("suite_id", (ECDSA_P256_SHA256, ED25519))
def test_openssl_verifies_other_chains(
    chains: dict[str, Chain], suite_id: str, tmp_path: Path
) -> None:
    c = chains[suite_id]
    write(tmp_path, root=c.root, inter=c.inter, leaf=c.leaf, direct=c.direct_leaf)
    openssl("verify", "-attime", AT, "-CAfile", "root.pem", "-untrusted", "inter.pem",
            "leaf.pem", cwd=tmp_path)  # fmt: skip
    openssl("verify", "-attime", AT, "-CAfile", "root.pem", "direct.pem", cwd=tmp_path)


@needs_openssl
def test_sm2_certificates_made_by_openssl_are_accepted(tmp_path: Path) -> None:
    extensions = tmp_path / "leaf.ext"
    extensions.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,nonRepudiation\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    openssl(
        "req", "-x509", "-newkey", "sm2", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-subj", "/C=CN/O=OpenSSL 测试/CN=OpenSSL SM2 Root", "-utf8", "-sm3",
        "-sigopt", DISTID, "-days", "3650",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=tmp_path,
    )  # fmt: skip
    openssl(
        "req", "-new", "-newkey", "sm2", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
        "-subj", "/C=CN/CN=OpenSSL SM2 Leaf", "-sm3", "-sigopt", DISTID, cwd=tmp_path,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "leaf.pem", "-sm3", "-sigopt", DISTID, "-vfyopt", DISTID,
        "-days", "30", "-extfile", "leaf.ext", cwd=tmp_path,
    )  # fmt: skip
    ca = Certificate.from_pem((tmp_path / "ca.pem").read_bytes())
    leaf = Certificate.from_pem((tmp_path / "leaf.pem").read_bytes())
    assert ca.signature_oid == "1.2.156.10197.1.501" and ca.public_key.suite.id == SM2_SM3
    assert ca.subject.organization == "OpenSSL 测试"
    assert ca.is_ca and "keyCertSign" in ca.key_usage
    ca.verify_issued_by(ca)
    moment = leaf.not_before + timedelta(minutes=1)
    assert check_chain(leaf, roots=[ca], at=moment) == (leaf, ca)
    # And the other way round: we issue under the OpenSSL-made CA, OpenSSL verifies.
    ca_key = load_private_key((tmp_path / "ca.key").read_bytes())
    ours = build_certificate(
        subject=Name("our leaf"), subject_key=generate_private_key(SM2_SM3).public_key,
        issuer=ca.subject, issuer_signer=ca_key, issuer_key_id=ca.subject_key_id,
        not_before=moment, not_after=moment + Y,
    )  # fmt: skip
    check_chain(ours, roots=[ca], at=moment)
    write(tmp_path, ours=ours)
    stamp = str(int(moment.timestamp()))
    openssl("verify", "-vfyopt", DISTID, "-attime", stamp, "-CAfile", "ca.pem", "ours.pem",
            cwd=tmp_path)  # fmt: skip


# -- fuzzing ----------------------------------------------------------------------------------


def test_single_byte_changes_never_escape_as_other_exceptions(sm2: Chain) -> None:
    """Every byte of an SM2 certificate changed two ways, and every truncation.

    Each variant either raises CertificateError or parses (then the chain check may only
    raise CertificateError too). About 1,400 parses: bounded, a couple of seconds.
    """
    c = sm2
    der = c.direct_leaf.der
    variants = [der[:length] for length in range(len(der))]
    for position in range(len(der)):
        for mask in (0x01, 0xFF):
            mutated = bytearray(der)
            mutated[position] ^= mask
            variants.append(bytes(mutated))
    parsed = 0
    for variant in variants:
        try:
            certificate = Certificate.from_der(variant)
        except CertificateError as exc:
            assert exc.reason in REASON_CODES
            continue
        parsed += 1
        assert certificate.der == variant
        try:
            check_chain(certificate, roots=[c.root], at=NOW)
        except CertificateError as exc:
            assert exc.reason in REASON_CODES
    assert 0 < parsed < len(variants)
