"""QR benchmarks: issuing codes as images, verifying codes, decoding photos, the EU DCC.

Entries:
- ``qr_issue_png``: issue a licence, sign its EZZ1 code and render the PNG with zxing-cpp ÷ the
  same with the pure-Python ``qrcode`` backend (goal ≥ 10×).
- ``qr_verify_sm2``: EZZ1 text → full verdict ÷ the raw tongsuopy SM2 verification of the same
  signatures over the same COSE Sig_structure bytes (goal ≥ 0.85).
- ``photo_decode``: decoding the degraded-photo set with ezhengzhao (zxing-cpp) ÷ ``pyzbar``
  on the same images (goal ≥ 5×); both success rates are in the note.
- ``dcc_verify``: COSE decode + ES256 verify + claims of the EU DCC test vectors with
  ezhengzhao ÷ python-cwt on the same COSE bytes and keys.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tongsuopy.crypto import hashes as t_hashes
from tongsuopy.crypto import serialization as t_serialization
from tongsuopy.crypto.asymciphers import ec as t_ec

from bench.harness import DISTINCT_LICENCES, Entry, compare, entry
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.demo import REGIONS, _People, _region
from ezhengzhao.formats import cose
from ezhengzhao.model import LicenceDraft
from ezhengzhao.qr.image import render_png
from ezhengzhao.qr.payload import decode_qr_text
from ezhengzhao.sign.suites import SM2_SM3, signature_to_der
from ezhengzhao.trust.store import TrustStore
from ezhengzhao.verify import Verifier

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"


def _setup(count: int) -> tuple[object, list[LicenceDraft], datetime]:
    now = datetime.now(UTC).replace(microsecond=0)
    region = _region(REGIONS[0], now)
    food = Catalogue.builtin().by_name("食品经营许可证")
    people = _People()
    surface = food.example_surface()
    drafts = []
    for i in range(count):
        holder = people.company("310000", f"上海第{i}餐饮管理有限公司")
        drafts.append(
            LicenceDraft(
                type_code=food.code,
                number=f"JY1310115{i:07d}",
                holder=holder,
                surface={**surface, "KZ_SHXYDM": holder.code, "KZ_JYZMC": holder.name},
                issue_date=date(2026, 1, 5),
            )
        )
    return region, drafts, now


def qr_issue() -> list[Entry]:
    region, drafts, now = _setup(DISTINCT_LICENCES)
    authority = region.authorities[0].credentials()  # type: ignore[attr-defined]
    catalogue = Catalogue.builtin()
    cycle = itertools.cycle(drafts)

    def issue_png(backend: str) -> Callable[[], object]:
        def run() -> object:
            sealed = authority.issue(next(cycle), catalogue=catalogue, now=now)
            text = authority.qr_text(sealed.licence, catalogue=catalogue, now=now)
            return render_png(text, module_px=4, backend=backend)

        return run

    ours, base = compare(issue_png("zxing"), issue_png("qrcode"), rounds=3, seconds=0.5)
    return [
        entry(
            "qr_issue_png", ours, base, note="issue + EZZ1 + PNG: zxing-cpp ÷ qrcode (goal ≥ 10×)"
        )
    ]


def qr_verify() -> list[Entry]:
    region, drafts, now = _setup(DISTINCT_LICENCES)
    authority = region.authorities[0]  # type: ignore[attr-defined]
    credentials = authority.credentials()
    catalogue = Catalogue.builtin()
    texts = []
    for draft in drafts:
        sealed = credentials.issue(draft, catalogue=catalogue, now=now)
        texts.append(credentials.qr_text(sealed.licence, catalogue=catalogue, now=now))
    trust = TrustStore.from_certificates(
        [region.root],  # type: ignore[attr-defined]
        signers=list(authority.certificates.values()),
    )
    verifier = Verifier(trust_store=trust, clock=lambda: now + timedelta(hours=1))
    assert all(verifier.verify_qr(t).ok for t in texts)
    public = t_serialization.load_der_public_key(credentials.certificate.public_key.spki_der())
    raw = []
    for text in texts:
        message = decode_qr_text(text)
        raw.append((signature_to_der(message.signature, SM2_SM3), message.sig_structure()))
    texts_cycle, raw_cycle = itertools.cycle(texts), itertools.cycle(raw)

    def raw_verify() -> None:
        signature, data = next(raw_cycle)
        public.verify(signature, data, t_ec.ECDSA(t_hashes.SM3()))

    ours, base = compare(
        lambda: verifier.verify_qr(next(texts_cycle)), raw_verify, rounds=5, seconds=0.5
    )
    size = len(texts[0])
    return [
        entry(
            "qr_verify_sm2",
            ours,
            base,
            note=f"{size}-char EZZ1 text → verdict ÷ raw SM2 verify (goal ≥ 0.85)",
        )
    ]


def photo_decode() -> list[Entry]:
    from PIL import Image

    from ezhengzhao.errors import ImageError
    from ezhengzhao.qr.scan import scan_image
    from tests.photos import degraded_set

    try:
        from pyzbar import pyzbar
    except ImportError as exc:  # libzbar0 missing
        return [Entry("photo_decode", 0.0, "images/s", 0.0, 0.0, f"pyzbar unavailable: {exc}")]
    images = [(data, expected) for _, data, expected in degraded_set() if expected]

    decoded_ours = decoded_theirs = 0
    start = time.perf_counter()
    for data, expected in images:
        with contextlib.suppress(ImageError):
            decoded_ours += sorted(scan_image(data)) == sorted(expected)
    ours_time = time.perf_counter() - start
    start = time.perf_counter()
    for data, expected in images:
        found = pyzbar.decode(Image.open(io.BytesIO(data)))
        texts = sorted(r.data.decode("latin-1") for r in found)
        decoded_theirs += texts == sorted(expected)
    theirs_time = time.perf_counter() - start
    ours_rate, theirs_rate = len(images) / ours_time, len(images) / theirs_time
    note = (
        f"{len(images)} degraded photos: ours {decoded_ours / len(images):.0%} decoded, "
        f"pyzbar {decoded_theirs / len(images):.0%} (goal ≥ 5× the speed)"
    )
    return [entry("photo_decode", ours_rate, theirs_rate, unit="images/s", note=note)]


def dcc_verify() -> list[Entry]:
    import cwt
    from cryptography import x509 as c_x509
    from cryptography.hazmat.primitives import serialization

    from ezhengzhao.errors import UnsupportedAlgorithmError
    from ezhengzhao.sign.keys import PublicKey

    cases = []
    for path in sorted((VECTORS / "dcc-testdata").glob("*/2DCode/raw/*.json")):
        data = json.loads(path.read_text())
        context = data.get("TESTCTX", {})
        expected = data.get("EXPECTEDRESULTS", {})
        if not expected.get("EXPECTEDVERIFY") or "CERTIFICATE" not in context:
            continue
        try:
            cose_bytes = bytes.fromhex(data["COSE"])
            message = cose.decode_sign1(cose_bytes, allow_untagged=True, allow_cwt_tag=True)
        except Exception:
            continue
        if message.alg != cose.ALG_ES256:
            continue
        der = base64.b64decode(context["CERTIFICATE"])
        spki = c_x509.load_der_x509_certificate(der).public_key()
        try:  # a few vectors use P-384 keys, which are not one of our suites
            ours_key = PublicKey.from_spki_der(
                spki.public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        except UnsupportedAlgorithmError:
            continue
        their_key = cwt.COSEKey.from_pem(
            spki.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            alg="ES256",
            kid=message.kid,
        )
        try:
            cwt.COSE.new().decode(cose_bytes, their_key)
        except Exception:
            continue
        cases.append((cose_bytes, ours_key, their_key))
    if not cases:
        return [Entry("dcc_verify", 0.0, "ops/s", 0.0, 0.0, "EU DCC vectors not found")]
    ours_cycle, theirs_cycle = itertools.cycle(cases), itertools.cycle(cases)
    from ezhengzhao.formats import cbor

    def ours() -> None:
        cose_bytes, key, _ = next(ours_cycle)
        message = cose.decode_sign1(cose_bytes, allow_untagged=True, allow_cwt_tag=True)
        cose.verify_sign1(message, key)
        cbor.loads_strict(message.payload)

    def theirs() -> None:
        cose_bytes, _, key = next(theirs_cycle)
        cwt.COSE.new().decode(cose_bytes, key)

    rate_ours, rate_theirs = compare(ours, theirs, rounds=3, seconds=0.4)
    return [
        entry(
            "dcc_verify",
            rate_ours,
            rate_theirs,
            note=f"{len(cases)} EU DCC ES256 vectors: COSE decode + verify + claims ÷ python-cwt",
        )
    ]


def run() -> list[Entry]:
    return qr_issue() + qr_verify() + photo_decode() + dcc_verify()
