"""The ``ezz trust``, ``ezz status`` and ``ezz rules`` commands: the data a verifier trusts.

- ``ezz trust build | sign | inspect`` — signed trust lists (信任列表): which authorities may
  issue which licence types, signed by a trust anchor (:mod:`ezhengzhao.trust.lists`).
- ``ezz status revoke | suspend | reinstate | show | publish | inspect`` — status changes in
  the issuer registry (电子证照库) and the signed Token Status Lists it publishes
  (:mod:`ezhengzhao.registry`, :mod:`ezhengzhao.status`).
- ``ezz rules sign | test | inspect`` — mutual-recognition rule sets (互认规则集) of an
  accepting region (:mod:`ezhengzhao.rules.rulesets`).

Exit codes are those of every ``ezz`` command: 0 success (a signature verifies, every rule
passes, every looked-up entry is valid), 1 invalid (a signature that does not verify, a
rolled-back list, a failing rule, a revoked or suspended entry), 2 cannot tell (a stale list,
a status list nobody vouches for, a rule that cannot decide), 3 usage or input error (one line
on stderr). Inspecting without ``--anchor``/``--authority``/``--cert`` shows the contents and
says the signature was not checked.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ezhengzhao.cli import (
    EXIT_INDETERMINATE,
    EXIT_INVALID,
    EXIT_VALID,
    UsageError,
    _parse_time,
    _Parser,
    _passphrase,
    _print_json,
    _read,
    _write,
)
from ezhengzhao.errors import EzhengzhaoError, PayloadError

if TYPE_CHECKING:
    from ezhengzhao.formats.cose import CoseSign1
    from ezhengzhao.registry import SQLiteRegistry
    from ezhengzhao.rules.rulesets import Rule, RuleOutcome, RuleSet
    from ezhengzhao.sign.keys import PrivateKey
    from ezhengzhao.sign.x509 import Certificate
    from ezhengzhao.trust.lists import TrustList

__all__ = ["add_list_commands"]

_COSE_SIGN1_TAG: Final = 0xD2  # CBOR tag 18, the first byte of every tagged COSE_Sign1
_DEFAULT_TTL: Final = 86_400
_STATUS_NAMES: Final = {0: "有效 VALID", 1: "无效 INVALID", 2: "暂停 SUSPENDED"}
# What a verifier's status check says of an entry (ezhengzhao.verify), for the same lookup here.
_LOOKUP_REASONS: Final = {0: "ok", 1: "licence_revoked", 2: "licence_suspended"}

_SPEC_KEYS: Final = frozenset(
    {
        "issuer",
        "region",
        "sequence",
        "issued_at",
        "next_update",
        "entries",
        "roots",
        "seal_makers",
    }
)
_SPEC_REQUIRED: Final = ("issuer", "region", "sequence", "issued_at", "next_update", "entries")
_ENTRY_KEYS: Final = (
    "uscc",
    "name",
    "region",
    "level",
    "certificates",
    "licence_types",
    "valid_from",
    "valid_until",
)


# ---------------------------------------------------------------- shared helpers


def _time_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _certificates(paths: Sequence[str] | None) -> list[Certificate]:
    """Every certificate in the PEM (or DER) files at ``paths``."""
    from ezhengzhao.sign.x509 import load_certificates

    found: list[Certificate] = []
    for path in paths or ():
        try:
            found.extend(load_certificates(_read(path)))
        except EzhengzhaoError as exc:
            raise UsageError(f"{path}: not a certificate file ({exc})") from None
    return found


def _signing_pair(args: argparse.Namespace) -> tuple[PrivateKey, Certificate]:
    """The private key and certificate given by ``--key``, ``--cert`` and ``--passphrase-env``."""
    from ezhengzhao.sign.keys import load_private_key
    from ezhengzhao.sign.x509 import Certificate

    key = load_private_key(_read(args.key), _passphrase(args.passphrase_env))
    certificate = Certificate.from_pem(_read(args.cert))
    if certificate.public_key.spki_der() != key.public_key.spki_der():
        raise UsageError(f"{args.key} is not the key of the certificate {args.cert}")
    return key, certificate


def _now(args: argparse.Namespace) -> datetime:
    return _parse_time(getattr(args, "at", None)) or datetime.now(UTC)


def _certificate_view(certificate: Certificate) -> dict[str, object]:
    return {
        "subject": str(certificate.subject),
        "kid": certificate.kid.hex(),
        "suite": certificate.public_key.suite.id,
        "not_before": _time_text(certificate.not_before),
        "not_after": _time_text(certificate.not_after),
    }


def _signature_view(message: CoseSign1) -> dict[str, object]:
    return {"alg": message.alg, "kid": None if message.kid is None else message.kid.hex()}


def _loads_json(data: bytes, what: str) -> object:
    from ezhengzhao.formats.jsonio import loads

    return loads(data, what=what)


# ---------------------------------------------------------------- ezz trust


class _Spec:
    """Reads a trust list description (JSON), naming the field of every problem."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.base = Path(path).parent

    def fail(self, where: str, problem: str) -> UsageError:
        return UsageError(f"{self.path}: {where}: {problem}")

    def text(self, obj: Mapping[str, object], key: str, where: str) -> str:
        value = obj[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}{key}", "must be non-empty text")
        return value

    def time(self, obj: Mapping[str, object], key: str, where: str) -> datetime:
        value = self.text(obj, key, where)
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(f"{where}{key}", f"{value!r} is not an ISO 8601 date-time") from None
        if moment.utcoffset() is None:
            raise self.fail(f"{where}{key}", f"{value!r} needs a time zone offset (e.g. +08:00)")
        return moment

    def texts(self, obj: Mapping[str, object], key: str, where: str) -> list[str]:
        value = obj.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{where}{key}", "must be a list of non-empty text")
        return list(value)

    def certificates(self, obj: Mapping[str, object], key: str, where: str) -> list[Certificate]:
        from ezhengzhao.sign.x509 import load_certificates

        found: list[Certificate] = []
        for n, name in enumerate(self.texts(obj, key, where)):
            path = self.base / name
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise self.fail(
                    f"{where}{key}[{n}]", f"cannot read {path}: {exc.strerror}"
                ) from None
            try:
                found.extend(load_certificates(data))
            except EzhengzhaoError as exc:
                raise self.fail(f"{where}{key}[{n}]", f"{path}: {exc}") from None
        return found

    def object(
        self, value: object, where: str, keys: Sequence[str], required: Sequence[str]
    ) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.fail(where or "$", "must be a JSON object")
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise self.fail(f"{where}{unknown[0]}", "unknown field")
        for key in required:
            if key not in value:
                raise self.fail(f"{where}{key}", "is missing")
        return value


def _type_codes(spec: _Spec, values: list[str], where: str) -> tuple[str, ...]:
    """Licence type codes; a catalogued type may be given by its name (食品经营许可证)."""
    from ezhengzhao.catalogue import Catalogue

    codes: list[str] = []
    for n, value in enumerate(values):
        if len(value) == 21 and value.isascii():
            codes.append(value)
            continue
        try:
            codes.append(Catalogue.builtin().by_name(value).code)
        except EzhengzhaoError:
            raise spec.fail(
                f"{where}licence_types[{n}]",
                f"{value!r} is neither a 21-character 证照类型代码 nor a catalogued type name",
            ) from None
    return tuple(codes)


def trust_list_from_spec(data: bytes, path: str) -> TrustList:
    """The unsigned trust list a JSON description at ``path`` gives (see ``ezz trust build``).

    Certificate paths are relative to the description's folder. UsageError naming the field
    of the first problem.
    """
    from ezhengzhao.errors import ConfigurationError
    from ezhengzhao.trust.lists import TrustListEntry, build_trust_list

    spec = _Spec(path)
    top = spec.object(_loads_json(data, path), "", sorted(_SPEC_KEYS), _SPEC_REQUIRED)
    sequence = top["sequence"]
    if type(sequence) is not int or sequence < 1:
        raise spec.fail("sequence", "must be a whole number ≥ 1")
    raw_entries = top["entries"]
    if not isinstance(raw_entries, list) or not raw_entries:
        raise spec.fail("entries", "must be a non-empty list of issuing authorities")
    entries = []
    for i, raw in enumerate(raw_entries):
        where = f"entries[{i}]."
        item = spec.object(raw, where, _ENTRY_KEYS, _ENTRY_KEYS)
        try:
            entries.append(
                TrustListEntry(
                    uscc=spec.text(item, "uscc", where),
                    name=spec.text(item, "name", where),
                    region=spec.text(item, "region", where),
                    level=spec.text(item, "level", where),
                    certificates=tuple(spec.certificates(item, "certificates", where)),
                    licence_types=_type_codes(
                        spec, spec.texts(item, "licence_types", where), where
                    ),
                    valid_from=spec.time(item, "valid_from", where),
                    valid_until=spec.time(item, "valid_until", where),
                )
            )
        except ConfigurationError as exc:
            raise spec.fail(f"entries[{i}]", str(exc)) from None
    try:
        return build_trust_list(
            issuer=spec.text(top, "issuer", ""),
            region=spec.text(top, "region", ""),
            sequence=sequence,
            issued_at=spec.time(top, "issued_at", ""),
            next_update=spec.time(top, "next_update", ""),
            entries=entries,
            roots=spec.certificates(top, "roots", ""),
            seal_makers=spec.certificates(top, "seal_makers", ""),
        )
    except ConfigurationError as exc:
        raise spec.fail("$", str(exc)) from None


def _unsigned_trust_list(path: str) -> TrustList:
    """An unsigned list: ``ezz trust build``'s CBOR, or a JSON description."""
    from ezhengzhao.trust.lists import read_unsigned_trust_list

    data = _read(path)
    if data.lstrip()[:1] == b"{":
        return trust_list_from_spec(data, path)
    if data[:1] == bytes([_COSE_SIGN1_TAG]):
        raise UsageError(f"{path} is already signed (COSE_Sign1); sign the unsigned list")
    try:
        return read_unsigned_trust_list(data)
    except PayloadError as exc:
        raise UsageError(f"{path} is not an unsigned trust list ({exc})") from None


def cmd_trust_build(args: argparse.Namespace) -> int:
    from ezhengzhao.formats import cbor

    trust_list = trust_list_from_spec(_read(args.spec), args.spec)
    _write(args.out, cbor.dumps(trust_list.to_cbor_map()))
    print(
        f"unsigned trust list {trust_list.issuer} {trust_list.region} #{trust_list.sequence} "
        f"({len(trust_list.entries)} entries) written to {args.out}"
    )
    return EXIT_VALID


def cmd_trust_sign(args: argparse.Namespace) -> int:
    from ezhengzhao.trust.lists import sign_trust_list

    trust_list = _unsigned_trust_list(args.list)
    key, certificate = _signing_pair(args)
    _write(args.out, sign_trust_list(trust_list, signer=key, certificate=certificate))
    print(
        f"trust list {trust_list.issuer} {trust_list.region} #{trust_list.sequence} signed "
        f"with kid {certificate.kid.hex()}, written to {args.out}"
    )
    return EXIT_VALID


def _trust_list_view(trust_list: TrustList, message: CoseSign1) -> dict[str, object]:
    from ezhengzhao.catalogue import Catalogue

    catalogue = Catalogue.builtin()

    def type_view(code: str) -> dict[str, str | None]:
        return {"code": code, "name": catalogue.get(code).name if code in catalogue else None}

    return {
        "issuer": trust_list.issuer,
        "region": trust_list.region,
        "sequence": trust_list.sequence,
        "issued_at": _time_text(trust_list.issued_at),
        "next_update": _time_text(trust_list.next_update),
        "signed_with": _signature_view(message),
        "roots": [_certificate_view(c) for c in trust_list.roots],
        "seal_makers": [_certificate_view(c) for c in trust_list.seal_makers],
        "entries": [
            {
                "uscc": e.uscc,
                "name": e.name,
                "region": e.region,
                "level": e.level,
                "licence_types": [type_view(t) for t in e.licence_types],
                "valid_from": _time_text(e.valid_from),
                "valid_until": _time_text(e.valid_until),
                "certificates": [_certificate_view(c) for c in e.certificates],
            }
            for e in trust_list.entries
        ],
    }


def cmd_trust_inspect(args: argparse.Namespace) -> int:
    from ezhengzhao.trust.lists import (
        STALE,
        TrustListError,
        TrustListLoader,
        read_trust_list,
    )

    data = _read(args.list)
    try:
        trust_list, message = read_trust_list(data)
    except PayloadError as exc:
        raise UsageError(f"{args.list} is not a signed trust list ({exc})") from None
    view = _trust_list_view(trust_list, message)
    anchors = _certificates(args.anchor)
    now = _now(args)
    code = EXIT_VALID
    signature: dict[str, object]
    if not anchors:
        signature = {"checked": False, "detail": "not checked: no --anchor given"}
    else:
        loader = TrustListLoader(
            anchors=anchors, grace=timedelta(seconds=args.grace), clock=lambda: now
        )
        try:
            if args.previous:
                loader.load(_read(args.previous))
            loader.load(data)
        except TrustListError as exc:
            code = EXIT_INDETERMINATE if exc.reason == STALE else EXIT_INVALID
            signature = {
                "checked": True,
                "accepted": False,
                "reason": exc.reason,
                "detail": str(exc),
            }
        else:
            anchor = next(a for a in anchors if a.kid == message.kid)
            signature = {
                "checked": True,
                "accepted": True,
                "reason": "ok",
                "detail": f"verified with anchor {anchor.subject.common_name}",
            }
        signature["at"] = _time_text(now)
    view["signature"] = signature
    if args.json:
        _print_json(view)
        return code
    print(f"信任列表 trust list  {view['issuer']}  region {view['region']}  #{view['sequence']}")
    print(f"  issued at {view['issued_at']}, next update {view['next_update']}")
    sig = _signature_view(message)
    print(f"  signed with alg {sig['alg']}, kid {sig['kid']}")
    if not signature["checked"]:
        print(f"  signature: {signature['detail']}")
    elif signature["accepted"]:
        print(f"  signature: ✓ {signature['detail']} (at {signature['at']})")
    else:
        print(f"  signature: ✗ refused, {signature['reason']}: {signature['detail']}")
    for root in trust_list.roots:
        print(f"  root        {root.subject.common_name}  kid {root.kid.hex()}")
    for maker in trust_list.seal_makers:
        print(f"  seal maker  {maker.subject.common_name}  kid {maker.kid.hex()}")
    print(f"  {len(trust_list.entries)} issuing authorities 发证机构:")
    for entry in view["entries"]:  # type: ignore[attr-defined]
        print(
            f"    {entry['uscc']}  {entry['name']}  {entry['region']} {entry['level']}  "
            f"{entry['valid_from']} → {entry['valid_until']}"
        )
        for t in entry["licence_types"]:
            print(f"      may issue {t['code']}" + (f" {t['name']}" if t["name"] else ""))
        for c in entry["certificates"]:
            print(f"      signer    kid {c['kid']}  {c['suite']}  until {c['not_after']}")
    return code


# ---------------------------------------------------------------- ezz status


@contextmanager
def _registry(path: str) -> Iterator[SQLiteRegistry]:
    """The registry at ``path``, which must exist: a typo must not create an empty registry."""
    from ezhengzhao.registry import SQLiteRegistry

    if not Path(path).is_file():
        raise UsageError(f"no registry database at {path}")
    try:
        with SQLiteRegistry(path) as registry:
            yield registry
    except sqlite3.Error as exc:
        raise UsageError(f"{path} is not a usable registry database ({exc})") from None


def cmd_status_change(args: argparse.Namespace) -> int:
    from ezhengzhao.registry import REVOCATION_CODES

    with _registry(args.registry) as registry:
        if args.status_command == "revoke":
            registry.revoke(args.licence_id, code=args.code, reason=args.reason)
            done = f"revoked ({args.code} {REVOCATION_CODES[args.code]})"
        elif args.status_command == "suspend":
            registry.suspend(args.licence_id, args.reason)
            done = "suspended (暂停)"
        else:
            registry.reinstate(args.licence_id, args.reason)
            done = "reinstated (恢复有效)"
        reference = registry.get(args.licence_id).licence.status
    where = "" if reference is None else f"; entry {reference.idx} of {reference.uri}"
    print(f"{args.licence_id} {done}{where}. Publish the list again for verifiers to see it.")
    return EXIT_VALID


def cmd_status_show(args: argparse.Namespace) -> int:
    with _registry(args.registry) as registry:
        status = registry.status_of(args.licence_id)
        licence = registry.get(args.licence_id).licence
        history = registry.history(args.licence_id)
    reference = licence.status
    view = {
        "licence_id": licence.licence_id,
        "type_name": licence.type_name,
        "holder": licence.holder.name,
        "status": status,
        "status_name": _STATUS_NAMES.get(status, str(status)),
        "status_list": None if reference is None else {"uri": reference.uri, "idx": reference.idx},
        "history": [
            {
                "at": _time_text(h.at),
                "event": h.event,
                "status": h.status,
                "code": h.code,
                "reason": h.reason,
            }
            for h in history
        ],
    }
    if args.json:
        _print_json(view)
        return EXIT_VALID
    print(f"{licence.licence_id}  {licence.type_name}  {licence.holder.name}")
    print(f"  status {view['status_name']}")
    if reference is not None:
        print(f"  entry {reference.idx} of {reference.uri}")
    for h in history:
        code = f" {h.code}" if h.code else ""
        print(f"  {_time_text(h.at)}  {h.event}{code}  {h.reason}")
    return EXIT_VALID


def cmd_status_publish(args: argparse.Namespace) -> int:
    if args.ttl < 1:
        raise UsageError("--ttl must be a positive number of seconds")
    key, certificate = _signing_pair(args)
    with _registry(args.registry) as registry:
        token = registry.publish_status_list(
            args.uri, signer=key, certificate=certificate, ttl=timedelta(seconds=args.ttl)
        )
    _write(args.out, token)
    if args.update_index:
        out = Path(args.out)
        index_file = out.parent / "index.json"
        index: dict[str, object] = {}
        if index_file.exists():
            value = _loads_json(_read(str(index_file)), str(index_file))
            if not isinstance(value, dict):
                raise UsageError(f"{index_file} must map status list URIs to token files")
            index = value
        index[args.uri] = out.name
        _write(index_file, (_json_text(index) + "\n").encode())
    print(f"status list {args.uri} signed (ttl {args.ttl} s), written to {args.out}")
    return EXIT_VALID


def _json_text(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def cmd_status_inspect(args: argparse.Namespace) -> int:
    from ezhengzhao.errors import InputError, StatusUnavailable
    from ezhengzhao.status.codec import read_status_list_token
    from ezhengzhao.status.source import FileStatusSource

    data = _read(args.token)
    try:
        token = read_status_list_token(data)
    except InputError as exc:
        raise UsageError(f"{args.token} is not a status list token ({exc})") from None
    status_list = token.status_list
    uri = args.uri or token.uri
    now = _now(args)
    certificates = _certificates(args.cert)
    signature: dict[str, object]
    if not certificates:
        signature = {"checked": False, "detail": "not checked: no --cert given"}
    else:
        try:
            FileStatusSource({uri: data}, certificates=certificates).status_list(uri, now)
        except StatusUnavailable as exc:
            signature = {
                "checked": True,
                "accepted": False,
                "reason": "status_unavailable",
                "detail": str(exc),
            }
        else:
            signature = {"checked": True, "accepted": True, "reason": "ok", "detail": "verified"}
        signature["at"] = _time_text(now)
    unpacked = status_list.unpacked()
    counts = {value: unpacked.count(value) for value in sorted(set(unpacked))}
    lookups: list[dict[str, object]] = []
    for idx in args.idx or ():
        if not 0 <= idx < status_list.size:
            lookups.append({"idx": idx, "status": None, "reason": "status_index_invalid"})
            continue
        value = status_list.get(idx)
        reason = _LOOKUP_REASONS.get(value, "status_unavailable")
        lookups.append({"idx": idx, "status": value, "reason": reason})
    reasons = {lookup["reason"] for lookup in lookups}
    if signature.get("checked") and not signature.get("accepted"):
        code = EXIT_INDETERMINATE  # nobody vouches for the list: its entries say nothing
    elif reasons & {"licence_revoked", "licence_suspended", "status_index_invalid"}:
        code = EXIT_INVALID
    elif "status_unavailable" in reasons or (lookups and not certificates):
        code = EXIT_INDETERMINATE
    else:
        code = EXIT_VALID
    view = {
        "uri": token.uri,
        "issued_at": _time_text(token.issued_at),
        "expires_at": _time_text(token.expires_at),
        "ttl_seconds": None if token.ttl is None else int(token.ttl.total_seconds()),
        "bits": status_list.bits,
        "size": status_list.size,
        "counts": {str(k): n for k, n in counts.items()},
        "signed_with": _signature_view(token.message),
        "signature": signature,
        "lookups": lookups,
    }
    if args.json:
        _print_json(view)
        return code
    print(f"状态列表 status list  {token.uri}")
    print(
        f"  issued at {view['issued_at']}, ttl {view['ttl_seconds']} s"
        + (f", expires {view['expires_at']}" if token.expires_at else "")
    )
    print(f"  {status_list.size} entries of {status_list.bits} bits")
    for value, n in counts.items():
        print(f"    {_STATUS_NAMES.get(value, str(value))}: {n}")
    sig = _signature_view(token.message)
    print(f"  signed with alg {sig['alg']}, kid {sig['kid']}")
    if not signature["checked"]:
        print(f"  signature: {signature['detail']}")
    elif signature["accepted"]:
        print(f"  signature: ✓ verified (at {signature['at']})")
    else:
        print(f"  signature: ✗ {signature['reason']}: {signature['detail']}")
    for lookup in lookups:
        status = lookup["status"]
        name = (
            "outside the list"
            if not isinstance(status, int)
            else _STATUS_NAMES.get(status, str(status))
        )
        print(f"  entry {lookup['idx']}: {name}  ({lookup['reason']})")
    return code


# ---------------------------------------------------------------- ezz rules


def _rule_set(path: str) -> tuple[RuleSet, CoseSign1 | None, bytes]:
    """A rule set from a signed ``.cose`` file or an unsigned JSON file, not yet verified."""
    from ezhengzhao.rules.rulesets import read_rule_set, rule_set_from_json

    data = _read(path)
    if data[:1] == bytes([_COSE_SIGN1_TAG]):
        try:
            rule_set, message = read_rule_set(data)
        except PayloadError as exc:
            raise UsageError(f"{path} is not a signed rule set ({exc})") from None
        return rule_set, message, data
    if data.lstrip()[:1] == b"{":
        return rule_set_from_json(data), None, data
    raise UsageError(f"{path} is neither a signed rule set (COSE_Sign1) nor rule set JSON")


def _check_rule_set(
    rule_set: RuleSet,
    message: CoseSign1 | None,
    data: bytes,
    authorities: list[Certificate],
    now: datetime,
) -> dict[str, object]:
    """Whether ``authorities`` vouch for a signed rule set, as a RuleSetLoader decides."""
    from ezhengzhao.rules.rulesets import RuleSetError, RuleSetLoader

    if message is None and authorities:
        # Fail closed: an authority was named, and nothing here is signed by anyone.
        return {
            "signed": False,
            "checked": True,
            "accepted": False,
            "reason": "rule_set_malformed",
            "detail": "the rule set is unsigned JSON, not a signed rule set",
            "at": _time_text(now),
        }
    if message is None:
        return {"signed": False, "checked": False, "detail": "unsigned rule set (JSON)"}
    if not authorities:
        return {"signed": True, "checked": False, "detail": "not checked: no --authority given"}
    loader = RuleSetLoader(authorities={rule_set.region: authorities}, clock=lambda: now)
    try:
        loader.load(data)
    except RuleSetError as exc:
        return {
            "signed": True,
            "checked": True,
            "accepted": False,
            "reason": exc.reason,
            "detail": str(exc),
            "at": _time_text(now),
        }
    return {
        "signed": True,
        "checked": True,
        "accepted": True,
        "reason": "ok",
        "detail": f"verified for region {rule_set.region}",
        "at": _time_text(now),
    }


def cmd_rules_sign(args: argparse.Namespace) -> int:
    from ezhengzhao.rules.rulesets import rule_set_from_json, sign_rule_set

    data = _read(args.rules)
    if data[:1] == bytes([_COSE_SIGN1_TAG]):
        raise UsageError(f"{args.rules} is already signed; sign the rule set JSON")
    rule_set = rule_set_from_json(data)
    key, certificate = _signing_pair(args)
    _write(args.out, sign_rule_set(rule_set, signer=key, certificate=certificate))
    print(
        f"rule set {rule_set.region} v{rule_set.version} ({len(rule_set.rules)} rules) signed "
        f"with kid {certificate.kid.hex()}, written to {args.out}"
    )
    return EXIT_VALID


def _rule_view(rule_set: RuleSet) -> list[dict[str, object]]:
    return [
        {
            "identifier": r.identifier,
            "type": r.type,
            "version": r.version,
            "licence_type": r.licence_type,
            "valid_from": r.valid_from.isoformat(),
            "valid_to": r.valid_to.isoformat(),
            "affected_fields": list(r.affected_fields),
            "description": {d.lang: d.desc for d in r.description},
        }
        for r in rule_set.rules
    ]


def _signature_line(signature: Mapping[str, object]) -> str:
    if not signature.get("checked"):
        return f"signature: {signature['detail']}"
    if signature.get("accepted"):
        return f"signature: ✓ {signature['detail']} (at {signature['at']})"
    return f"signature: ✗ refused, {signature['reason']}: {signature['detail']}"


def _signature_exit(signature: Mapping[str, object]) -> int:
    return (
        EXIT_INVALID if signature.get("checked") and not signature.get("accepted") else EXIT_VALID
    )


def cmd_rules_inspect(args: argparse.Namespace) -> int:
    rule_set, message, data = _rule_set(args.ruleset)
    signature = _check_rule_set(rule_set, message, data, _certificates(args.authority), _now(args))
    view = {
        "region": rule_set.region,
        "version": rule_set.version,
        "issued_at": _time_text(rule_set.issued_at),
        "signed_with": None if message is None else _signature_view(message),
        "signature": signature,
        "rules": _rule_view(rule_set),
    }
    if args.json:
        _print_json(view)
        return _signature_exit(signature)
    print(
        f"互认规则集 rule set  region {rule_set.region}  v{rule_set.version}  "
        f"issued {view['issued_at']}"
    )
    if message is not None:
        print(f"  signed with alg {message.alg}, kid {message.kid.hex() if message.kid else None}")
    print(f"  {_signature_line(signature)}")
    for rule in rule_set.rules:
        print(
            f"  {rule.identifier} {rule.version} {rule.type}  {rule.licence_type}  "
            f"{rule.valid_from.date()} → {rule.valid_to.date()}"
        )
        print(f"    {rule.description_in('zh')}")
    return _signature_exit(signature)


def _rule_data(path: str) -> tuple[Mapping[str, object], Mapping[str, object]]:
    value = _loads_json(_read(path), path)
    if not isinstance(value, dict):
        raise UsageError(f'{path} must be a JSON object {{"payload": …, "external": …}}')
    unknown = sorted(set(value) - {"payload", "external"})
    if unknown:
        raise UsageError(f"{path}: unknown field {unknown[0]!r} (only payload and external)")
    payload = value.get("payload")
    external = value.get("external", {})
    if not isinstance(payload, dict):
        raise UsageError(f"{path}: payload must be a JSON object (the licence claims)")
    if not isinstance(external, dict):
        raise UsageError(f"{path}: external must be a JSON object")
    return payload, external


def _applicable(
    rules: list[Rule], payload: Mapping[str, object], external: Mapping[str, object], path: str
) -> list[Rule]:
    """The rules a verifier would select from this one rule set: for the data's licence type,
    valid at its validation clock, the highest version of each identifier, by identifier."""
    licence = payload.get("licence")
    type_code = licence.get("type_code") if isinstance(licence, dict) else None
    clock = external.get("validationClock")
    if not isinstance(type_code, str) or not isinstance(clock, str):
        raise UsageError(
            f"{path}: --applicable needs payload.licence.type_code and external.validationClock"
        )
    try:
        at = datetime.fromisoformat(clock)
    except ValueError:
        raise UsageError(f"{path}: external.validationClock {clock!r} is not a date-time") from None
    if at.utcoffset() is None:
        raise UsageError(f"{path}: external.validationClock needs a time zone offset")
    best: dict[str, Rule] = {}
    for rule in rules:
        if rule.applies_to(type_code) and rule.is_valid_at(at):
            other = best.get(rule.identifier)
            if other is None or rule.version_key > other.version_key:
                best[rule.identifier] = rule
    return [best[identifier] for identifier in sorted(best)]


def _outcome_view(outcome: RuleOutcome) -> dict[str, object]:
    rule = outcome.rule
    return {
        "identifier": rule.identifier,
        "version": rule.version,
        "type": rule.type,
        "passed": outcome.passed,
        "detail": outcome.detail,
        "description": rule.description_in("zh"),
    }


def cmd_rules_test(args: argparse.Namespace) -> int:
    from ezhengzhao.rules.rulesets import evaluate_rules

    rule_set, message, data = _rule_set(args.ruleset)
    payload, external = _rule_data(args.data)
    now = _now(args)
    signature = _check_rule_set(rule_set, message, data, _certificates(args.authority), now)
    if signature.get("checked") and not signature.get("accepted"):
        print(
            f"ezz: rule set refused, {signature['reason']}: {signature['detail']}", file=sys.stderr
        )
        return EXIT_INVALID
    if signature.get("signed") and not signature.get("checked"):
        print(
            "ezz: warning: the rule set's signature was not checked (no --authority)",
            file=sys.stderr,
        )
    rules = list(rule_set.rules)
    if args.rule:
        known = {r.identifier for r in rules}
        missing = [r for r in args.rule if r not in known]
        if missing:
            raise UsageError(f"the rule set has no rule {missing[0]}")
        rules = [r for r in rules if r.identifier in args.rule]
    if args.applicable:
        rules = _applicable(rules, payload, external, args.data)
    outcomes = evaluate_rules(rules, payload, external)
    failed = [o for o in outcomes if o.passed is False]
    undecided = [o for o in outcomes if o.passed is None]
    code = EXIT_INVALID if failed else EXIT_INDETERMINATE if undecided else EXIT_VALID
    if args.json:
        _print_json(
            {
                "region": rule_set.region,
                "version": rule_set.version,
                "signature": signature,
                "outcomes": [_outcome_view(o) for o in outcomes],
                "passed": len(outcomes) - len(failed) - len(undecided),
                "failed": len(failed),
                "undecided": len(undecided),
            }
        )
        return code
    for outcome in outcomes:
        mark = {True: "✓ passed", False: "✗ FAILED", None: "? cannot tell"}[outcome.passed]
        rule = outcome.rule
        print(f"{mark:14} {rule.identifier} {rule.version} {rule.type}")
        print(f"               {rule.description_in('zh')}")
        if outcome.detail:
            print(f"               {outcome.detail}")
    print(
        f"{len(outcomes)} rule(s): {len(outcomes) - len(failed) - len(undecided)} passed, "
        f"{len(failed)} failed, {len(undecided)} cannot tell"
    )
    return code


# ---------------------------------------------------------------- the parser


def _signing_arguments(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--key", required=True, help=f"the {what}'s private key (PEM)")
    p.add_argument("--cert", required=True, help=f"the {what}'s certificate (PEM)")
    p.add_argument("--passphrase-env", help="the key's passphrase is in this variable")


def add_list_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """Add ``trust``, ``status`` and ``rules`` to the ``ezz`` subcommands ``sub``."""
    p = sub.add_parser("trust", help="signed trust lists (信任列表)")
    trust = p.add_subparsers(dest="trust_command", required=True, parser_class=_Parser)
    p = trust.add_parser("build", help="build an unsigned trust list from a JSON description")
    p.add_argument("spec", help="JSON: issuer, region, sequence, issued_at, next_update, entries")
    p.add_argument("--out", required=True, help="the unsigned list (CBOR)")
    p.set_defaults(func=cmd_trust_build)
    p = trust.add_parser("sign", help="sign a trust list with a trust anchor's key (COSE_Sign1)")
    p.add_argument("list", help="unsigned list from 'ezz trust build', or its JSON description")
    _signing_arguments(p, "trust anchor")
    p.add_argument("--out", required=True, help="the signed list (.cose)")
    p.set_defaults(func=cmd_trust_sign)
    p = trust.add_parser("inspect", help="show a signed trust list and check its signature")
    p.add_argument("list", help="signed trust list (.cose)")
    p.add_argument("--anchor", action="append", help="a trust anchor certificate (repeatable)")
    p.add_argument("--previous", help="a list held before this one (to check for rollback)")
    p.add_argument("--at", help="the time to check at (ISO 8601; default now)")
    p.add_argument(
        "--grace", type=int, default=86_400, help="seconds a list stays fresh past next_update"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_trust_inspect)

    p = sub.add_parser("status", help="licence status in the registry, and status lists")
    status = p.add_subparsers(dest="status_command", required=True, parser_class=_Parser)
    for name, text in (
        ("revoke", "revoke a licence for good (03 撤销, 04 注销, 05 失效, 07 吊销, 99 其他)"),
        ("suspend", "suspend a valid licence (暂停)"),
        ("reinstate", "make a suspended licence valid again"),
    ):
        p = status.add_parser(name, help=text)
        p.add_argument("licence_id", help="the licence's 证照标识")
        p.add_argument("--registry", required=True, help="the registry database (SQLite)")
        if name == "revoke":
            p.add_argument(
                "--code",
                default="03",
                choices=["03", "04", "05", "07", "99"],
                help="national status code (default 03 撤销)",
            )
        p.add_argument("--reason", required=True, help="why (recorded in the history)")
        p.set_defaults(func=cmd_status_change)
    p = status.add_parser("show", help="a licence's status, status-list entry and history")
    p.add_argument("licence_id")
    p.add_argument("--registry", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status_show)
    p = status.add_parser("publish", help="sign a status list of the registry (CWT)")
    p.add_argument("--registry", required=True)
    p.add_argument("--uri", required=True, help="the list's URI, as licences reference it")
    _signing_arguments(p, "issuer")
    p.add_argument("--out", required=True, help="the signed status list token (.cwt)")
    p.add_argument(
        "--ttl", type=int, default=_DEFAULT_TTL, help="seconds a copy may be cached (default 1 day)"
    )
    p.add_argument(
        "--update-index",
        action="store_true",
        help="also record URI → file in index.json beside --out (for ezz verify --status)",
    )
    p.set_defaults(func=cmd_status_publish)
    p = status.add_parser("inspect", help="show a signed status list and look up entries")
    p.add_argument("token", help="signed status list token (.cwt)")
    p.add_argument("--cert", action="append", help="a status-list signer certificate (repeatable)")
    p.add_argument("--uri", help="the URI the list was fetched from (default: its own sub)")
    p.add_argument("--idx", type=int, action="append", help="look up this entry (repeatable)")
    p.add_argument("--at", help="the time to check at (ISO 8601; default now)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status_inspect)

    p = sub.add_parser("rules", help="mutual-recognition rule sets (互认规则)")
    rules = p.add_subparsers(dest="rules_command", required=True, parser_class=_Parser)
    p = rules.add_parser("sign", help="sign a rule set with the region authority's key")
    p.add_argument("rules", help="rule set JSON (ezz/rule-set/1)")
    _signing_arguments(p, "region authority")
    p.add_argument("--out", required=True, help="the signed rule set (.cose)")
    p.set_defaults(func=cmd_rules_sign)
    p = rules.add_parser("test", help="evaluate every rule of a rule set against data")
    p.add_argument("ruleset", help="signed rule set (.cose) or rule set JSON")
    p.add_argument("--data", required=True, help='JSON {"payload": …, "external": …}')
    p.add_argument("--authority", action="append", help="the region authority's certificate")
    p.add_argument("--rule", action="append", help="evaluate only this rule (repeatable)")
    p.add_argument(
        "--applicable",
        action="store_true",
        help="only the rules for the data's licence type, valid at its validationClock",
    )
    p.add_argument("--at", help="the time to check the signature at (default now)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rules_test)
    p = rules.add_parser("inspect", help="show a rule set and check its signature")
    p.add_argument("ruleset", help="signed rule set (.cose) or rule set JSON")
    p.add_argument("--authority", action="append", help="the region authority's certificate")
    p.add_argument("--at", help="the time to check at (ISO 8601; default now)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rules_inspect)
