"""The service's ``ezz`` commands: API keys, the audit chain check, and ``serve``.

``add_service_commands`` adds them to the ``ezz`` parser. This module imports only the
standard library at load time, so ``ezz`` keeps working without the ``service`` extra; the
commands themselves then say what to install.

    ezz apikey create --data DIR --role window|peer|admin [--region CODE] [--name NAME]
    ezz apikey list   --data DIR [--json]
    ezz apikey revoke KEY_ID --data DIR
    ezz audit verify  --data DIR [--checkpoint SEQ:HASH]   exit 0 when the chain holds, else 1
    ezz serve         --data DIR [--host 127.0.0.1] [--port 8000] [--workers N]

Every command takes ``--database-url`` (default ``$EZZ_DATABASE_URL``, else the SQLite file
under ``DATA/service/``); ``--data`` defaults to ``$EZZ_DATA``, else ``./demo``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verifier_service.db import Database

__all__ = ["HOLDER_KEY_FILE", "add_service_commands"]

#: Where, under the data directory, the key of the audit log's holder hashes is kept.
HOLDER_KEY_FILE = Path("service") / "audit-holder.key"

_EXIT_OK, _EXIT_FAILED, _EXIT_USAGE = 0, 1, 3


class _ServiceUnavailable(Exception):
    """The service extra is missing, or the database cannot be used."""


@contextlib.contextmanager
def _database(args: argparse.Namespace) -> Iterator[Database]:
    try:
        from verifier_service.db import (
            StorageError,
            default_database_url,
            load_or_create_secret,
            open_database,
        )
    except ImportError as exc:
        raise _ServiceUnavailable(
            f"the verifier service needs its extra dependencies ({exc.name} is missing): "
            "pip install 'ezhengzhao[service]'"
        ) from None
    data = Path(args.data)
    url = args.database_url or os.environ.get("EZZ_DATABASE_URL") or default_database_url(data)
    try:
        db = open_database(url, holder_key=load_or_create_secret(data / HOLDER_KEY_FILE))
    except StorageError as exc:
        raise _ServiceUnavailable(str(exc)) from None
    try:
        yield db
    except StorageError as exc:
        raise _ServiceUnavailable(str(exc)) from None
    finally:
        db.close()


def cmd_apikey_create(args: argparse.Namespace) -> int:
    with _database(args) as db:
        key, secret = db.api_keys.create(role=args.role, region=args.region, name=args.name)
    print(f"key id:  {key.key_id}")
    print(f"role:    {key.role}")
    print(f"region:  {key.region or '-'}")
    print(f"name:    {key.name or '-'}")
    print("the secret below is shown only now; give it to the caller (Authorization: Bearer):")
    print(secret)
    return _EXIT_OK


def cmd_apikey_list(args: argparse.Namespace) -> int:
    with _database(args) as db:
        keys = db.api_keys.list()
    if args.json:
        print(json.dumps([k.to_dict() for k in keys], ensure_ascii=False, indent=2))
        return _EXIT_OK
    for k in keys:
        state = "active" if k.revoked is None else f"revoked {k.revoked.isoformat()}"
        print(
            f"{k.key_id}  {k.role:<6}  {k.region or '-':<6}  {k.created.isoformat()}  "
            f"{state}  {k.name}"
        )
    if not keys:
        print("no API keys")
    return _EXIT_OK


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    with _database(args) as db:
        revoked = db.api_keys.revoke(args.key_id)
    if not revoked:
        print(f"ezz: no active API key {args.key_id}", file=sys.stderr)
        return _EXIT_USAGE
    print(
        f"API key {args.key_id} revoked; running services refuse it within "
        "EZZ_KEY_CACHE_SECONDS (default 2 s)"
    )
    return _EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    checkpoint = None
    if args.checkpoint is not None:
        seq_text, _, digest = args.checkpoint.partition(":")
        if not seq_text.isdigit() or len(digest) != 64:
            print("ezz: --checkpoint must be SEQ:HASH, as audit verify prints it", file=sys.stderr)
            return _EXIT_USAGE
        checkpoint = (int(seq_text), digest)
    with _database(args) as db:
        report = db.audit.verify_chain(checkpoint=checkpoint)
    if report.ok:
        print(f"audit chain OK: {report.records} records, head {report.head}")
        if report.records:
            # Kept outside the database, this lets a later check catch a rewritten tail.
            print(f"checkpoint: {report.records}:{report.head}")
        return _EXIT_OK
    print(f"audit chain BROKEN: {report.records} records read, {len(report.problems)} problems")
    for problem in report.problems:
        print(f"  {problem}")
    return _EXIT_FAILED


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from verifier_service.server import serve
    except ImportError as exc:
        raise _ServiceUnavailable(
            f"the verifier service needs its extra dependencies ({exc.name} is missing): "
            "pip install 'ezhengzhao[service]'"
        ) from None
    serve(data=args.data, host=args.host, port=args.port, workers=args.workers)
    return _EXIT_OK


def _wrap(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The command, with storage and missing-extra problems as one line and exit code 3."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except _ServiceUnavailable as exc:
            print(f"ezz: {exc}", file=sys.stderr)
            return _EXIT_USAGE

    return run


def add_service_commands(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``apikey``, ``audit`` and ``serve`` to the ``ezz`` sub-command parser ``sub``."""

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data",
            default=os.environ.get("EZZ_DATA", "demo"),
            help="the service's data directory (default $EZZ_DATA, else ./demo)",
        )
        p.add_argument(
            "--database-url",
            help="sqlite:///FILE or postgresql+psycopg://USER@HOST/DB "
            "(default $EZZ_DATABASE_URL, else DATA/service/service.db)",
        )

    p = sub.add_parser("apikey", help="the verifier service's API keys")
    keys = p.add_subparsers(dest="apikey_command", required=True, parser_class=type(p))
    p = keys.add_parser("create", help="create a key; its secret is the last line printed")
    common(p)
    p.add_argument("--role", required=True, choices=["window", "peer", "admin"])
    p.add_argument("--region", help="region code (行政区划代码); required for a peer key")
    p.add_argument("--name", default="", help="who holds the key, e.g. a window or a province")
    p.set_defaults(func=_wrap(cmd_apikey_create))
    p = keys.add_parser("list", help="list every key, active and revoked")
    common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_wrap(cmd_apikey_list))
    p = keys.add_parser("revoke", help="revoke a key for good")
    p.add_argument("key_id")
    common(p)
    p.set_defaults(func=_wrap(cmd_apikey_revoke))

    p = sub.add_parser("audit", help="the verifier service's audit log (用证留痕)")
    audit = p.add_subparsers(dest="audit_command", required=True, parser_class=type(p))
    p = audit.add_parser("verify", help="check the hash chain: exit 0 if intact, 1 if not")
    common(p)
    p.add_argument(
        "--checkpoint",
        metavar="SEQ:HASH",
        help="a checkpoint printed by an earlier check and kept elsewhere: the record at SEQ "
        "must still have HASH (catches a rewritten or removed tail)",
    )
    p.set_defaults(func=_wrap(cmd_audit_verify))

    p = sub.add_parser("serve", help="run the verifier service (HTTP API and window page)")
    p.add_argument(
        "--data",
        default=os.environ.get("EZZ_DATA", "demo"),
        help="the data directory (default $EZZ_DATA, else ./demo)",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=_wrap(cmd_serve))
