"""Core benchmarks: signing and verification per suite, and sealed-licence verification.

Entries:
- ``sign_<suite>`` / ``verify_<suite>``: through ezhengzhao's suite interface ÷ the raw
  primitive (tongsuopy for SM2, cryptography for P-256 and Ed25519) on the same message.
- ``sealed_verify_sm2``: a full ``Verifier.verify`` of distinct sealed licences from one
  authority, in steady state (seal and chain cached) ÷ the raw tongsuopy verification of the
  same signatures over the same TBS_Sign bytes — the one signature check a verification
  cannot avoid. Goal ≥ 0.85.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from cryptography.hazmat.primitives import hashes as c_hashes
from cryptography.hazmat.primitives.asymmetric import ec as c_ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from tongsuopy.crypto import hashes as t_hashes
from tongsuopy.crypto import serialization as t_serialization
from tongsuopy.crypto.asymciphers import ec as t_ec

from bench.harness import DISTINCT_LICENCES, Entry, compare, entry
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.demo import REGIONS, Authority, _People, _region
from ezhengzhao.model import LicenceDraft
from ezhengzhao.sign.keys import generate_private_key
from ezhengzhao.sign.ses import parse_ses_signature
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3
from ezhengzhao.trust.store import TrustStore
from ezhengzhao.verify import Verifier

MESSAGE = os.urandom(1024)


def _raw_sm2() -> tuple[Callable[[], object], Callable[[], object]]:
    key = t_ec.generate_private_key(t_ec.SM2())
    sig = key.sign(MESSAGE, t_ec.ECDSA(t_hashes.SM3()))
    pub = key.public_key()
    return (
        lambda: key.sign(MESSAGE, t_ec.ECDSA(t_hashes.SM3())),
        lambda: pub.verify(sig, MESSAGE, t_ec.ECDSA(t_hashes.SM3())),
    )


def _raw_p256() -> tuple[Callable[[], object], Callable[[], object]]:
    key = c_ec.generate_private_key(c_ec.SECP256R1())
    sig = key.sign(MESSAGE, c_ec.ECDSA(c_hashes.SHA256()))
    pub = key.public_key()
    return (
        lambda: key.sign(MESSAGE, c_ec.ECDSA(c_hashes.SHA256())),
        lambda: pub.verify(sig, MESSAGE, c_ec.ECDSA(c_hashes.SHA256())),
    )


def _raw_ed25519() -> tuple[Callable[[], object], Callable[[], object]]:
    key = ed25519.Ed25519PrivateKey.generate()
    sig = key.sign(MESSAGE)
    pub = key.public_key()
    return (lambda: key.sign(MESSAGE), lambda: pub.verify(sig, MESSAGE))


def suites() -> list[Entry]:
    out = []
    for suite, raw in (
        (SM2_SM3, _raw_sm2),
        (ECDSA_P256_SHA256, _raw_p256),
        (ED25519, _raw_ed25519),
    ):
        key = generate_private_key(suite)
        raw_sign, raw_verify = raw()
        tag = {SM2_SM3: "sm2", ECDSA_P256_SHA256: "p256", ED25519: "ed25519"}[suite]
        ours, base = compare(functools.partial(key.sign, MESSAGE), raw_sign)
        out.append(entry(f"sign_{tag}", ours, base, note=f"{suite} via ezhengzhao ÷ raw"))
        ours_verify = functools.partial(key.public_key.verify, key.sign(MESSAGE), MESSAGE)
        ours, base = compare(ours_verify, raw_verify)
        out.append(entry(f"verify_{tag}", ours, base, note=f"{suite} via ezhengzhao ÷ raw"))
    return out


def _licences(authority: Authority, count: int, now: datetime) -> list[bytes]:
    catalogue = Catalogue.builtin()
    food = next(t for t in catalogue if t.name == "食品经营许可证")
    people = _People()
    surface = {f.key: f.example for f in food.fields if f.example is not None}
    docs = []
    for i in range(count):
        holder = people.company("310000", f"上海第{i}餐饮管理有限公司")
        surface_i = {
            **surface,
            **{
                f.key: holder.code
                for f in food.fields
                if f.validator == "uscc" and f.key in surface
            },
        }
        draft = LicenceDraft(
            type_code=food.code,
            number=f"JY1310115{i:07d}",
            holder=holder,
            surface=surface_i,
            issue_date=date(2026, 1, 5),
        )
        docs.append(
            authority.credentials().issue(draft, catalogue=catalogue, now=now).to_json(indent=None)
        )
    return docs


def sealed_verify() -> list[Entry]:
    now = datetime.now(UTC).replace(microsecond=0)
    region = _region(REGIONS[0], now)
    docs = _licences(region.authorities[0], DISTINCT_LICENCES, now)
    verifier = Verifier(
        trust_store=TrustStore.from_certificates([region.root], seal_makers=[region.maker]),
        clock=lambda: now + timedelta(hours=1),
    )
    for doc in docs:  # warm the seal and chain caches, and check every one passes
        result = verifier.verify(doc)
        assert result.ok, result.reasons
    # The baseline: the raw SM2 verification of the same signatures over the same bytes.
    raw = []
    for doc in docs:
        sig = parse_ses_signature(base64.b64decode(json.loads(doc)["ses_signature"]))
        pub = t_serialization.load_der_public_key(_spki(sig.signer_cert))
        raw.append((pub, sig.signature, sig.tbs_der))
    ours_iter = itertools.cycle(docs)
    raw_iter = itertools.cycle(raw)

    def raw_verify() -> None:
        pub, signature, tbs = next(raw_iter)
        pub.verify(signature, tbs, t_ec.ECDSA(t_hashes.SM3()))

    ours, base = compare(
        lambda: verifier.verify(next(ours_iter)), raw_verify, rounds=5, seconds=0.5
    )
    size = sum(len(d) for d in docs) // len(docs)
    return [
        entry(
            "sealed_verify_sm2",
            ours,
            base,
            note=f"full verdict, {size}-byte documents ÷ raw SM2 verify of TBS_Sign (goal ≥ 0.85)",
        )
    ]


def _spki(cert_der: bytes) -> bytes:
    from ezhengzhao.sign.x509 import Certificate

    return Certificate.from_der(cert_der).public_key.spki_der()


def run() -> list[Entry]:
    return suites() + sealed_verify()
