"""The ``ezz`` command: issue, seal, verify and inspect electronic licences.

Exit codes: 0 valid (or success), 1 invalid, 2 cannot tell, 3 usage or input error. Errors are
one readable line on stderr; files are written whole or not at all.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NoReturn

from ezhengzhao.errors import EzhengzhaoError

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_INDETERMINATE = 2
EXIT_USAGE = 3


class UsageError(Exception):
    """A command-line mistake: exit code 3 with one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"ezz: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


# ---------------------------------------------------------------- helpers


def _read(path: str) -> bytes:
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _write(path: str | Path, data: bytes, *, private: bool = False) -> None:
    """Write atomically: a temporary file in the same folder, then a rename."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _passphrase(env: str | None) -> bytes | None:
    if env is None:
        return None
    value = os.environ.get(env)
    if value is None:
        raise UsageError(f"environment variable {env} is not set")
    return value.encode()


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"not an ISO 8601 time: {text}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


# ---------------------------------------------------------------- commands


def cmd_keygen(args: argparse.Namespace) -> int:
    from ezhengzhao.sign.keys import generate_private_key

    key = generate_private_key(args.suite)
    _write(args.out, key.to_pem(_passphrase(args.passphrase_env)), private=True)
    if args.public:
        _write(args.public, key.public_key.to_pem())
    print(f"{args.suite} key written to {args.out}")
    return EXIT_VALID


def cmd_cert(args: argparse.Namespace) -> int:
    from ezhengzhao.errors import KeyLoadError
    from ezhengzhao.sign.keys import load_private_key, load_public_key
    from ezhengzhao.sign.x509 import Certificate, Name, build_certificate

    subject = Name(
        common_name=args.cn,
        organization=args.org or args.cn,
        serial_number=args.uscc,
        province=args.province,
    )
    key_data = _read(args.key)
    try:
        subject_key = load_public_key(key_data)
    except KeyLoadError:  # a private key: its passphrase problems are the ones to report
        subject_key = load_private_key(key_data, _passphrase(args.passphrase_env)).public_key
    if args.issuer_cert:
        if not args.issuer_key:
            raise UsageError("--issuer-cert needs --issuer-key")
        issuer_cert = Certificate.from_pem(_read(args.issuer_cert))
        issuer_key = load_private_key(
            _read(args.issuer_key), _passphrase(args.issuer_passphrase_env)
        )
        issuer_name, key_id = issuer_cert.subject, issuer_cert.subject_key_id
    else:
        issuer_key = load_private_key(key_data, _passphrase(args.passphrase_env))
        issuer_name, key_id = subject, None
    now = datetime.now(UTC).replace(microsecond=0)
    usage = ("keyCertSign", "cRLSign") if args.ca else ("digitalSignature", "nonRepudiation")
    cert = build_certificate(
        subject=subject,
        subject_key=subject_key,
        issuer=issuer_name,
        issuer_signer=issuer_key,
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=args.days),
        is_ca=args.ca,
        path_length=0 if args.ca and args.issuer_cert else None,
        key_usage=usage,
        issuer_key_id=key_id,
    )
    _write(args.out, cert.to_pem())
    print(f"certificate for {subject} written to {args.out}")
    return EXIT_VALID


def cmd_seal_make(args: argparse.Namespace) -> int:
    from ezhengzhao.sign.keys import load_private_key
    from ezhengzhao.sign.sealing import make_authority_seal
    from ezhengzhao.sign.x509 import Certificate

    signers = [c for path in args.signer_cert for c in [Certificate.from_pem(_read(path))]]
    maker_key = load_private_key(_read(args.maker_key), _passphrase(args.passphrase_env))
    maker_cert = Certificate.from_pem(_read(args.maker_cert))
    now = datetime.now(UTC).replace(microsecond=0)
    seal = make_authority_seal(
        name=args.name,
        es_id=args.es_id,
        signer_certificates=signers,
        maker=maker_key,
        maker_certificate=maker_cert,
        valid_start=now - timedelta(minutes=5),
        valid_end=now + timedelta(days=args.days),
        created=now,
    )
    _write(args.out, seal.der)
    if args.picture:
        _write(args.picture, seal.info.picture.data)
    print(f"seal {seal.info.es_id} ({seal.info.name}) written to {args.out}")
    return EXIT_VALID


def _load_authority(folder: str, suite: str | None, passphrase: bytes | None) -> object:
    """An IssuingAuthority from a folder holding authority.json, signer-*.pem/.key.pem, seal.der."""
    from ezhengzhao.formats.jsonio import loads
    from ezhengzhao.issue import IssuingAuthority
    from ezhengzhao.model import Issuer
    from ezhengzhao.sign.keys import load_private_key
    from ezhengzhao.sign.ses import parse_seal
    from ezhengzhao.sign.x509 import Certificate

    base = Path(folder)
    info = loads(_read(str(base / "authority.json")), what="authority.json")
    if not isinstance(info, dict):
        raise UsageError(f"{base / 'authority.json'} is not a JSON object")
    try:
        issuer = Issuer(
            str(info["name"]), str(info["code"]), str(info["region_code"]), str(info["level"])
        )
    except KeyError as exc:
        raise UsageError(f"{base / 'authority.json'} lacks {exc.args[0]!r}") from None
    tag = {"SM2-SM3": "sm2", "ECDSA-P256-SHA256": "p256", "Ed25519": "ed25519"}.get(
        suite or "SM2-SM3"
    )
    if tag is None:
        raise UsageError(f"unknown suite {suite}")
    key = load_private_key(_read(str(base / f"signer-{tag}.key.pem")), passphrase)
    cert = Certificate.from_pem(_read(str(base / f"signer-{tag}.pem")))
    return IssuingAuthority(issuer, key, cert, parse_seal(_read(str(base / "seal.der"))))


def cmd_issue(args: argparse.Namespace) -> int:
    from ezhengzhao.catalogue import Catalogue
    from ezhengzhao.formats.jsonio import loads
    from ezhengzhao.issue import IssuingAuthority
    from ezhengzhao.model import Holder, LicenceDraft, Validity

    catalogue = Catalogue.load(args.catalogue) if args.catalogue else Catalogue.builtin()
    authority = _load_authority(args.seal, args.suite, _passphrase(args.passphrase_env))
    assert isinstance(authority, IssuingAuthority)
    data = loads(_read(args.data), what=args.data)
    if not isinstance(data, dict):
        raise UsageError(f"{args.data} must be a JSON object")
    unknown = sorted(
        data.keys()
        - {"number", "holder", "surface", "issue_date", "validity", "serial", "version", "previous"}
    )
    if unknown:
        raise UsageError(f"{args.data}: unknown member {unknown[0]!r}")
    try:
        holder_data = data["holder"]
        holder = Holder(
            str(holder_data["name"]), str(holder_data["code"]), str(holder_data["code_type"])
        )
        validity = None
        if data.get("validity") is not None:
            v = data["validity"]
            validity = Validity(
                date.fromisoformat(v["start"]),
                None if v.get("end") is None else date.fromisoformat(v["end"]),
            )
        draft = LicenceDraft(
            type_code=args.type,
            number=str(data["number"]),
            holder=holder,
            surface=dict(data.get("surface") or {}),
            issue_date=date.fromisoformat(data["issue_date"]) if data.get("issue_date") else None,
            validity=validity,
            serial=data.get("serial"),
            version=int(data.get("version", 1)),
            previous=data.get("previous"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{args.data}: missing or malformed member ({exc})") from None
    now = _parse_time(args.at) or datetime.now(UTC)
    sealed = authority.issue(draft, catalogue=catalogue, now=now)
    _write(args.out, sealed.to_json(indent=None))
    print(f"{sealed.licence.type_name} {sealed.licence.licence_id} written to {args.out}")
    return EXIT_VALID


_INPUT_REASONS = frozenset(
    {
        "format_invalid",
        "qr_prefix_invalid",
        "qr_base45_invalid",
        "qr_zlib_invalid",
        "qr_cbor_invalid",
        "qr_cose_invalid",
    }
)


def cmd_verify(args: argparse.Namespace) -> int:
    from ezhengzhao.result import Status
    from ezhengzhao.trust.directory import load_trust_directory
    from ezhengzhao.verify import Verifier

    sources = [x for x in (args.file, args.qr, args.image) if x is not None]
    if len(sources) != 1:
        raise UsageError("give exactly one of FILE, --qr TEXT|@FILE or --image PHOTO")
    if args.rules is not None and args.region is None:
        raise UsageError("--rules needs --region (the verifying region's 行政区划代码)")
    at = _parse_time(args.at)
    clock: Callable[[], datetime] = (lambda: at) if at is not None else (lambda: datetime.now(UTC))
    # Lists are checked as of now (their anchors must be valid today); the licence at --at.
    store, lists = load_trust_directory(args.trust)
    status_source = None
    if args.status is not None:
        from ezhengzhao.status.source import FileStatusSource

        trusted = lists.trust_store_for(store) if lists is not None else store
        if trusted is None or not trusted.signers:
            raise UsageError(f"{args.trust} names no signer certificates to check status lists")
        status_source = FileStatusSource.from_directory(args.status, trusted.signers)
    rules = None
    if args.rules is not None:
        from ezhengzhao.rules.rulesets import RuleSetLoader

        rules = RuleSetLoader.from_directory(args.rules, clock=clock)
    verifier = Verifier(
        trust_store=store,
        trust_lists=lists,
        clock=clock,
        region=args.region,
        status_source=status_source,
        rules=rules,
    )
    if args.image is not None:
        results = verifier.verify_image(_read(args.image))
        what = args.image
    elif args.qr is not None:
        text = _read(args.qr[1:]).decode("ascii", "replace") if args.qr.startswith("@") else args.qr
        results = (verifier.verify_qr(text.strip()),)
        what = "the QR text"
    else:
        results = (verifier.verify(_read(args.file)),)
        what = args.file
    if args.json:
        _print_json([r.to_dict() for r in results] if args.image else results[0].to_dict())
    if len(results) == 1 and results[0].checks[0].reason in _INPUT_REASONS:
        # Not a licence document or code at all: an input error, not a verdict.
        first = results[0].checks[0]
        raise UsageError(f"{what} is not a licence document or code: {first.detail}")
    if not args.json:
        from ezhengzhao.inspect import render_result

        print("\n\n".join(render_result(r) for r in results))
    statuses = {r.status for r in results}
    if Status.FAILED in statuses:
        return EXIT_INVALID
    if Status.INDETERMINATE in statuses:
        return EXIT_INDETERMINATE
    return EXIT_VALID


def cmd_qr(args: argparse.Namespace) -> int:
    from ezhengzhao.catalogue import Catalogue
    from ezhengzhao.formats.sealed import SealedLicence
    from ezhengzhao.issue import IssuingAuthority
    from ezhengzhao.qr.image import render_png, render_svg

    if not (args.png or args.svg or args.text):
        raise UsageError("give at least one of --png, --svg, --text")
    sealed = SealedLicence.from_json(_read(args.file))
    authority = _load_authority(args.seal, args.suite, _passphrase(args.passphrase_env))
    assert isinstance(authority, IssuingAuthority)
    catalogue = Catalogue.load(args.catalogue) if args.catalogue else Catalogue.builtin()
    now = _parse_time(args.at) or datetime.now(UTC)
    text = authority.qr_text(sealed.licence, catalogue=catalogue, now=now)
    # Render everything first, then write: a failure leaves no partial set of files.
    outputs: list[tuple[str, bytes]] = []
    if args.png:
        outputs.append(
            (args.png, render_png(text, ecc=args.ecc, module_mm=args.module_mm, dpi=args.dpi))
        )
    if args.svg:
        svg = render_svg(text, ecc=args.ecc, module_mm=args.module_mm)
        outputs.append((args.svg, svg.encode()))
    if args.text:
        outputs.append((args.text, text.encode("ascii") + b"\n"))
    for path, data in outputs:
        _write(path, data)
    print(
        f"{len(text)}-character EZZ1 code for {sealed.licence.licence_id} written to "
        + ", ".join(p for p, _ in outputs)
    )
    return EXIT_VALID


def cmd_card(args: argparse.Namespace) -> int:
    from ezhengzhao.card import card_pdf, card_png
    from ezhengzhao.catalogue import Catalogue
    from ezhengzhao.formats.sealed import SealedLicence
    from ezhengzhao.issue import IssuingAuthority

    if not (args.png or args.pdf):
        raise UsageError("give --png and/or --pdf")
    sealed = SealedLicence.from_json(_read(args.file))
    catalogue = Catalogue.load(args.catalogue) if args.catalogue else Catalogue.builtin()
    if args.qr_text:
        text = _read(args.qr_text).decode("ascii", "replace").strip()
    else:
        if not args.seal:
            raise UsageError("give --seal AUTHORITY_DIR (to sign the QR code) or --qr-text FILE")
        authority = _load_authority(args.seal, args.suite, _passphrase(args.passphrase_env))
        assert isinstance(authority, IssuingAuthority)
        text = authority.qr_text(sealed.licence, catalogue=catalogue, now=datetime.now(UTC))
    outputs: list[tuple[str, bytes]] = []
    if args.png:
        outputs.append(
            (args.png, card_png(sealed, qr_text=text, catalogue=catalogue, size=args.size))
        )
    if args.pdf:
        outputs.append(
            (args.pdf, card_pdf(sealed, qr_text=text, catalogue=catalogue, size=args.size))
        )
    for path, data in outputs:
        _write(path, data)
    print(f"card of {sealed.licence.licence_id} written to " + ", ".join(p for p, _ in outputs))
    return EXIT_VALID


def cmd_present_issue(args: argparse.Namespace) -> int:
    from ezhengzhao.present import PresentationIssuer
    from ezhengzhao.sign.keys import load_private_key
    from ezhengzhao.sign.x509 import Certificate

    issuer = PresentationIssuer(
        signer=load_private_key(_read(args.key), _passphrase(args.passphrase_env)),
        certificate=Certificate.from_pem(_read(args.cert)),
        region=args.region,
        lifetime=timedelta(seconds=args.seconds),
    )
    token = issuer.issue(args.handle, audience=args.audience)
    if args.png:
        from ezhengzhao.qr.image import render_png

        _write(args.png, render_png(token, module_px=6))
    print(token)
    return EXIT_VALID


def cmd_present_verify(args: argparse.Namespace) -> int:
    from ezhengzhao.present import PresentationVerifier
    from ezhengzhao.replay import SQLiteReplayCache
    from ezhengzhao.result import Status
    from ezhengzhao.sign.x509 import load_certificates

    certificates = [c for path in args.cert for c in load_certificates(_read(path))]
    verifier = PresentationVerifier(
        certificates=certificates,
        replay_cache=SQLiteReplayCache(args.replay_db),
        region=args.region,
    )
    token = (
        _read(args.token[1:]).decode("ascii", "replace")
        if args.token.startswith("@")
        else args.token
    )
    result = verifier.verify(token.strip())
    if args.json:
        _print_json(
            {
                "status": result.status.value,
                "reason": result.reason,
                "detail": result.detail,
                "claims": None
                if result.claims is None
                else {
                    "handle": result.claims.handle,
                    "issuing_region": result.claims.issuing_region,
                    "audience": result.claims.audience,
                    "issued_at": result.claims.issued_at.isoformat(),
                    "expires_at": result.claims.expires_at.isoformat(),
                },
            }
        )
    else:
        print(f"{result.status.label_zh} {result.status.value}  {result.reason}  {result.detail}")
        if result.claims is not None:
            print(f"handle {result.claims.handle} from {result.claims.issuing_region}")
    if result.reason == "token_malformed":
        raise UsageError(f"not a 亮证 token: {result.detail}")
    return {
        Status.PASSED: EXIT_VALID,
        Status.FAILED: EXIT_INVALID,
        Status.INDETERMINATE: EXIT_INDETERMINATE,
    }[result.status]


def cmd_inspect(args: argparse.Namespace) -> int:
    from ezhengzhao.inspect import inspect_document

    view = inspect_document(_read(args.file))
    if args.json:
        _print_json(view)
    else:
        from ezhengzhao.inspect import render_inspection

        print(render_inspection(view))
    return EXIT_VALID


def cmd_demo_init(args: argparse.Namespace) -> int:
    from ezhengzhao.demo import write_demo

    domain = write_demo(args.dir, force=args.force)
    print(
        f"demo trust domain written to {args.dir}: {len(domain.regions)} regions, "
        f"{len(domain.samples)} sample licences (see {args.dir}/manifest.json)"
    )
    return EXIT_VALID


def cmd_demo_verify(args: argparse.Namespace) -> int:
    from ezhengzhao.demo import verify_demo

    return verify_demo(args.dir, out=sys.stdout)


def cmd_demo_run(args: argparse.Namespace) -> int:
    from ezhengzhao.demo import write_demo

    if not (Path(args.dir) / "manifest.json").exists():
        domain = write_demo(args.dir, force=True)
        print(f"demo trust domain written to {args.dir} ({len(domain.samples)} samples)")
    else:
        print(f"using the demo trust domain in {args.dir} (delete it to make a new one)")
    return cmd_demo_verify(args)


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ezz",
        description="Chinese electronic licences (电子证照): "
        "issue, seal, verify. Exit codes: 0 valid, 1 invalid, 2 cannot tell, 3 error.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("keygen", help="generate a signing key (PKCS#8 PEM)")
    p.add_argument(
        "--suite", default="SM2-SM3", choices=["SM2-SM3", "ECDSA-P256-SHA256", "Ed25519"]
    )
    p.add_argument("--out", required=True, help="private key file")
    p.add_argument("--public", help="also write the public key here")
    p.add_argument(
        "--passphrase-env", help="encrypt with the passphrase in this environment variable"
    )
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("cert", help="make a certificate (self-signed root, or signed by a CA)")
    p.add_argument("--key", required=True, help="the subject's private or public key")
    p.add_argument("--cn", required=True, help="subject common name")
    p.add_argument("--org", help="subject organisation (default: the common name)")
    p.add_argument("--uscc", help="the subject's 统一社会信用代码 (subject serialNumber)")
    p.add_argument("--province")
    p.add_argument("--issuer-cert", help="CA certificate (omit for a self-signed root)")
    p.add_argument("--issuer-key", help="CA private key")
    p.add_argument("--ca", action="store_true", help="make a CA certificate")
    p.add_argument("--days", type=int, default=365 * 5)
    p.add_argument("--passphrase-env")
    p.add_argument("--issuer-passphrase-env")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_cert)

    p = sub.add_parser("seal", help="electronic seals (GB/T 38540)")
    seal_sub = p.add_subparsers(dest="seal_command", required=True, parser_class=_Parser)
    p = seal_sub.add_parser("make", help="make an authority's seal, signed by the seal maker")
    p.add_argument("--name", required=True, help="the authority's name, drawn on the seal")
    p.add_argument("--es-id", required=True, help="seal code (esID)")
    p.add_argument(
        "--signer-cert",
        action="append",
        required=True,
        help="a signer certificate the seal lists (repeatable)",
    )
    p.add_argument("--maker-key", required=True)
    p.add_argument("--maker-cert", required=True)
    p.add_argument("--days", type=int, default=365 * 5)
    p.add_argument("--passphrase-env")
    p.add_argument("--out", required=True, help="seal DER file")
    p.add_argument("--picture", help="also write the seal picture (PNG) here")
    p.set_defaults(func=cmd_seal_make)

    p = sub.add_parser("issue", help="issue and seal a licence")
    p.add_argument("--type", required=True, help="licence type code (21 characters)")
    p.add_argument(
        "--data", required=True, help="JSON: number, holder, surface, [issue_date, validity]"
    )
    p.add_argument(
        "--seal", required=True, help="authority folder: authority.json, signer keys, seal.der"
    )
    p.add_argument("--suite", default="SM2-SM3")
    p.add_argument("--catalogue", help="an issuing system's own catalogue file or folder")
    p.add_argument("--at", help="signing time (ISO 8601; default now)")
    p.add_argument("--passphrase-env", help="the signer key's passphrase is in this variable")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_issue)

    p = sub.add_parser("verify", help="verify a sealed licence, an EZZ1 QR text or a photo")
    p.add_argument("file", nargs="?", help="sealed licence (.ezz.json), or - for stdin")
    p.add_argument("--qr", help="an EZZ1: QR text, or @FILE holding one")
    p.add_argument("--image", help="a photo or scan with one or more QR codes")
    p.add_argument(
        "--trust",
        required=True,
        help="trust directory: anchors/*.pem (anchors/REGION/*.pem: scoped) with signed "
        "lists/*.cose, and/or roots/*.pem",
    )
    p.add_argument("--region", help="the verifying region's 行政区划代码")
    p.add_argument(
        "--status",
        metavar="DIR",
        help="status lists: DIR/index.json maps each URI to a signed token file in DIR "
        "(signed by a certificate in the trust directory's signers/)",
    )
    p.add_argument(
        "--rules",
        metavar="DIR",
        help="mutual-recognition rules: signed DIR/*.cose and DIR/authorities/<region>.pem "
        "(needs --region)",
    )
    p.add_argument("--at", help="validation time (ISO 8601; default now)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("qr", help="make the offline verification QR code (EZZ1) of a licence")
    p.add_argument("file", help="sealed licence (.ezz.json)")
    p.add_argument("--seal", required=True, help="the issuing authority's folder (signs the code)")
    p.add_argument("--suite", default="SM2-SM3")
    p.add_argument("--png", help="QR image (PNG)")
    p.add_argument("--svg", help="QR image (SVG)")
    p.add_argument("--text", help="the EZZ1 text")
    p.add_argument("--ecc", default="M", choices=["L", "M", "Q", "H"])
    p.add_argument("--module-mm", type=float, default=0.5, help="module size for print, in mm")
    p.add_argument("--dpi", type=int, default=300)
    p.add_argument("--catalogue")
    p.add_argument("--at", help="issuing time (ISO 8601; default now)")
    p.add_argument("--passphrase-env")
    p.set_defaults(func=cmd_qr)

    p = sub.add_parser("card", help="render the printable licence card (PNG, PDF)")
    p.add_argument("file", help="sealed licence (.ezz.json)")
    p.add_argument("--png")
    p.add_argument("--pdf")
    p.add_argument("--size", default="A6", choices=["A5", "A6"])
    p.add_argument("--seal", help="the issuing authority's folder, to sign the card's QR code")
    p.add_argument("--qr-text", help="a file with the EZZ1 text to print instead")
    p.add_argument("--suite", default="SM2-SM3")
    p.add_argument("--catalogue")
    p.add_argument("--passphrase-env")
    p.set_defaults(func=cmd_card)

    p = sub.add_parser("present", help="online 亮证 tokens (EZT1)")
    present_sub = p.add_subparsers(dest="present_command", required=True, parser_class=_Parser)
    p = present_sub.add_parser("issue", help="issue a short-lived single-use 亮证 token")
    p.add_argument("--handle", required=True, help="opaque licence handle (no personal data)")
    p.add_argument("--key", required=True, help="the platform's signing key")
    p.add_argument("--cert", required=True, help="the platform's certificate")
    p.add_argument("--region", required=True, help="issuing region code")
    p.add_argument("--audience", default="*", help="verifying region code or *")
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--png", help="also write the token as a QR image")
    p.add_argument("--passphrase-env")
    p.set_defaults(func=cmd_present_issue)
    p = present_sub.add_parser("verify", help="verify a 亮证 token once")
    p.add_argument("token", help="EZT1: text or @FILE")
    p.add_argument("--cert", action="append", required=True, help="platform certificate(s)")
    p.add_argument("--region", required=True, help="this verifier's region code")
    p.add_argument("--replay-db", required=True, help="SQLite file remembering used tokens")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_present_verify)

    p = sub.add_parser("inspect", help="show a sealed licence in Chinese and English")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("demo", help="the demo trust domain")
    demo_sub = p.add_subparsers(dest="demo_command", required=True, parser_class=_Parser)
    p = demo_sub.add_parser("init", help="create the demo trust domain in DIR")
    p.add_argument("dir")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    p.set_defaults(func=cmd_demo_init)
    p = demo_sub.add_parser("verify", help="verify every sample in DIR against its manifest")
    p.add_argument("dir")
    p.set_defaults(func=cmd_demo_verify)
    p = demo_sub.add_parser("run", help="init DIR when missing, then verify every sample")
    p.add_argument("dir")
    p.set_defaults(func=cmd_demo_run)
    from ezhengzhao.cli_lists import add_list_commands

    add_list_commands(sub)
    # serve, apikey and audit belong to the verifier service, installed with the "service"
    # extra; without it the library's commands stand alone.
    if importlib.util.find_spec("fastapi") is not None:
        from verifier_service.cli import add_service_commands

        add_service_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except UsageError as exc:
        print(f"ezz: {exc}", file=sys.stderr)
    except EzhengzhaoError as exc:
        print(f"ezz: {type(exc).__name__}: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"ezz: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("ezz: interrupted", file=sys.stderr)
    except Exception as exc:
        print(f"ezz: internal error ({type(exc).__name__}: {exc})", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
