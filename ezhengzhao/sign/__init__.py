"""Signing — signature suites, keys, X.509 certificates and electronic seals (GB/T 38540)."""

from __future__ import annotations

# -- suites, keys and certificates (signing core) ----------------------------------------------
from ezhengzhao.sign.keys import (
    PreparedVerifier,
    PrivateKey,
    PublicKey,
    generate_private_key,
    load_private_key,
    load_public_key,
    save_private_key,
)
from ezhengzhao.sign.picture import draw_seal_picture, find_cjk_font

# -- electronic seals (GB/T 38540) -------------------------------------------------------------
from ezhengzhao.sign.sealing import make_authority_seal, seal_lists_certificate
from ezhengzhao.sign.ses import (
    Seal,
    SealInfo,
    SealPicture,
    SESSignature,
    make_seal,
    make_signature,
    parse_seal,
    parse_ses_signature,
)
from ezhengzhao.sign.suites import (
    ECDSA_P256_SHA256,
    ED25519,
    SM2_SM3,
    SUITES,
    SignatureSuite,
    Signer,
    get_suite,
    register_suite,
    signature_to_der,
    signature_to_raw,
    suite_for_signature_oid,
)
from ezhengzhao.sign.x509 import (
    Certificate,
    Name,
    build_certificate,
    check_chain,
    load_certificates,
    subject_key_identifier,
)

__all__ = [
    # suites, keys and certificates (signing core)
    "ECDSA_P256_SHA256",
    "ED25519",
    "SM2_SM3",
    "SUITES",
    "Certificate",
    "Name",
    "PreparedVerifier",
    "PrivateKey",
    "PublicKey",
    # electronic seals (GB/T 38540)
    "SESSignature",
    "Seal",
    "SealInfo",
    "SealPicture",
    "SignatureSuite",
    "Signer",
    "build_certificate",
    "check_chain",
    "draw_seal_picture",
    "find_cjk_font",
    "generate_private_key",
    "get_suite",
    "load_certificates",
    "load_private_key",
    "load_public_key",
    "make_authority_seal",
    "make_seal",
    "make_signature",
    "parse_seal",
    "parse_ses_signature",
    "register_suite",
    "save_private_key",
    "seal_lists_certificate",
    "signature_to_der",
    "signature_to_raw",
    "subject_key_identifier",
    "suite_for_signature_oid",
]
