"""ezhengzhao — Chinese electronic licences (电子证照): issue, seal, carry and verify.

The public API is what this module exports; everything else may change. Issuing::

    from ezhengzhao import Catalogue, IssuingAuthority, LicenceDraft
    sealed = authority.issue(draft, catalogue=Catalogue.builtin(), now=now)

Verifying::

    from ezhengzhao import TrustStore, Verifier
    verifier = Verifier(trust_store=TrustStore.from_directory("trust"))
    result = verifier.verify(sealed.to_json())

Identifier and code checks live in the module :mod:`ezhengzhao.codes`.
"""

from __future__ import annotations

from ezhengzhao import codes
from ezhengzhao.catalogue import Catalogue, FieldType, LicenceType, SurfaceField
from ezhengzhao.clock import Clock, system_clock
from ezhengzhao.errors import (
    AlgorithmMismatchError,
    CatalogueError,
    CertificateError,
    CodeError,
    ConfigurationError,
    CryptoError,
    DecodeError,
    EzhengzhaoError,
    FetchError,
    FontNotFoundError,
    InputError,
    InvalidSignatureError,
    IssuanceError,
    KeyLoadError,
    LicenceFormatError,
    SealError,
    UnsupportedAlgorithmError,
    WrongPassphraseError,
)
from ezhengzhao.formats.licence_json import (
    dump_licence,
    licence_canonical_bytes,
    licence_from_dict,
    licence_to_dict,
    load_licence,
)
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.issue import IssuingAuthority, build_licence, issue
from ezhengzhao.model import (
    Attachment,
    Holder,
    Issuer,
    Licence,
    LicenceDraft,
    Sealing,
    StatusReference,
    Validity,
)
from ezhengzhao.result import Check, CheckStatus, Status, VerificationResult
from ezhengzhao.sign import (
    ECDSA_P256_SHA256,
    ED25519,
    SM2_SM3,
    Certificate,
    Name,
    PreparedVerifier,
    PrivateKey,
    PublicKey,
    Seal,
    Signer,
    build_certificate,
    check_chain,
    draw_seal_picture,
    generate_private_key,
    load_certificates,
    load_private_key,
    load_public_key,
    make_authority_seal,
    parse_seal,
    parse_ses_signature,
    save_private_key,
)
from ezhengzhao.trust import TrustStore
from ezhengzhao.verify import Verifier

__version__ = "0.1.0"

__all__ = [
    "ECDSA_P256_SHA256",
    "ED25519",
    "SM2_SM3",
    "AlgorithmMismatchError",
    "Attachment",
    "Catalogue",
    "CatalogueError",
    "Certificate",
    "CertificateError",
    "Check",
    "CheckStatus",
    "Clock",
    "CodeError",
    "ConfigurationError",
    "CryptoError",
    "DecodeError",
    "EzhengzhaoError",
    "FetchError",
    "FieldType",
    "FontNotFoundError",
    "Holder",
    "InputError",
    "InvalidSignatureError",
    "IssuanceError",
    "Issuer",
    "IssuingAuthority",
    "KeyLoadError",
    "Licence",
    "LicenceDraft",
    "LicenceFormatError",
    "LicenceType",
    "Name",
    "PreparedVerifier",
    "PrivateKey",
    "PublicKey",
    "Seal",
    "SealError",
    "SealedLicence",
    "Sealing",
    "Signer",
    "Status",
    "StatusReference",
    "SurfaceField",
    "TrustStore",
    "UnsupportedAlgorithmError",
    "Validity",
    "VerificationResult",
    "Verifier",
    "WrongPassphraseError",
    "__version__",
    "build_certificate",
    "build_licence",
    "check_chain",
    "codes",
    "draw_seal_picture",
    "dump_licence",
    "generate_private_key",
    "issue",
    "licence_canonical_bytes",
    "licence_from_dict",
    "licence_to_dict",
    "load_certificates",
    "load_licence",
    "load_private_key",
    "load_public_key",
    "make_authority_seal",
    "parse_seal",
    "parse_ses_signature",
    "save_private_key",
    "system_clock",
]
