"""Running the service — 启动: uvicorn on a data directory, and the demo set-up of ``make run``.

``serve(data, host, port, workers)`` runs uvicorn. With one worker the app is built here, so
a broken data directory fails before the port opens; with several, each worker process builds
its own from the environment (``EZZ_DATA``…) through the factory
``verifier_service.main:create_app`` — the verifier, the database engine and the rate limiter
are per process, the audit log and keys are shared through the database.

``python -m verifier_service.server [DIR]`` is the first half of ``make run``: the demo domain
in DIR (./demo) when missing, and a window API key kept in DIR/service/window.key, printed with
the window page's address; ``ezz serve --data DIR`` is the second.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Final

import uvicorn

from ezhengzhao.errors import ConfigurationError, EzhengzhaoError

__all__ = ["prepare_demo", "serve"]

FACTORY: Final = "verifier_service.main:create_app"
WINDOW_KEY_FILE: Final = "window.key"


def serve(
    data: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
) -> None:
    """Serve the data directory ``data`` until interrupted (other settings from ``EZZ_*``)."""
    if workers < 1:
        raise ConfigurationError("workers must be at least 1")
    os.environ["EZZ_DATA"] = str(Path(data).resolve())
    if workers == 1:
        from verifier_service.main import create_app
        from verifier_service.settings import Settings

        uvicorn.run(create_app(Settings.from_env()), host=host, port=port, log_level="info")
    else:
        uvicorn.run(FACTORY, factory=True, host=host, port=port, workers=workers)


def prepare_demo(data: str | os.PathLike[str]) -> str:
    """Make ``data`` a demo domain if it is not one yet, and return a window key's secret
    (the one kept in DATA/service/window.key while it still works, else a new one)."""
    from ezhengzhao.demo import MANIFEST, write_demo
    from verifier_service.db import default_database_url, load_or_create_secret, open_database

    base = Path(data)
    if not (base / MANIFEST).is_file():
        write_demo(base)
        print(f"demo trust domain written to {base}")
    service_dir = base / "service"
    key_file = service_dir / WINDOW_KEY_FILE
    holder_key = load_or_create_secret(service_dir / "audit-holder.key")
    url = os.environ.get("EZZ_DATABASE_URL") or default_database_url(base)
    with open_database(url, holder_key=holder_key) as database:
        if key_file.is_file():
            secret = key_file.read_text(encoding="ascii").strip()
            if database.api_keys.authenticate(secret) is not None:
                return secret
        _, secret = database.api_keys.create(role="window", name="demo window")
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secret + "\n")
    return secret


def main(argv: list[str] | None = None) -> int:
    """Get a demo data directory ready to serve (``make run`` then runs ``ezz serve``)."""
    parser = argparse.ArgumentParser(
        prog="python -m verifier_service.server", description=main.__doc__
    )
    parser.add_argument("data", nargs="?", default="demo", help="data directory (./demo)")
    parser.add_argument("--host", default="127.0.0.1", help="where the service will listen")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        secret = prepare_demo(args.data)
    except EzhengzhaoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"window API key (kept in {Path(args.data) / 'service' / WINDOW_KEY_FILE}):")
    print(f"  {secret}")
    # The page reads the key from the fragment, which never reaches the server, and forgets
    # it from the address bar at once.
    print(f"window page: http://{args.host}:{args.port}/window#key={secret}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
