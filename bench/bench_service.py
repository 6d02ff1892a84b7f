"""Service benchmark: POST /v1/verify through the whole service, against a bare SM2 endpoint.

Entry ``service_verify``: requests per second of the verifier service (uvicorn, 2 workers, on
127.0.0.1; API key check, verification of a demo EZZ1 QR text, a durable audit record per
request) ÷ the same of a bare FastAPI app (2 workers) whose one endpoint only runs the raw
SM2 verification of that QR code's COSE signature — no auth, no audit, no decoding. Both get
the same load from this process: ``REQUESTS`` requests of the same JSON body at
``CONCURRENCY`` client threads (after ``WARMUP`` unmeasured ones). The note carries p50 and
p99 latency of both, the error count (goal 0), and whether the audit log holds exactly one
record per acknowledged request. Goal ratio ≥ 0.6.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import httpx

from bench.harness import Entry, entry

REQUESTS: Final = 2000
CONCURRENCY: Final = 16
WARMUP: Final = 100
WORKERS: Final = 2
_BARE_CONFIG: Final = "EZZ_BENCH_BARE"


# --------------------------------------------------------------------------- the bare app


def bare_app() -> Any:
    """The baseline: one endpoint that only verifies the QR code's SM2 signature, raw
    (tongsuopy over precomputed Sig_structure bytes; the config file is named by
    ``EZZ_BENCH_BARE``). A uvicorn factory."""
    from fastapi import Body, FastAPI
    from tongsuopy.crypto import hashes as t_hashes
    from tongsuopy.crypto import serialization as t_serialization
    from tongsuopy.crypto.asymciphers import ec as t_ec

    config = json.loads(Path(os.environ[_BARE_CONFIG]).read_text(encoding="utf-8"))
    public = t_serialization.load_der_public_key(bytes.fromhex(config["spki"]))
    signature = bytes.fromhex(config["signature"])
    data = bytes.fromhex(config["data"])
    algorithm = t_ec.ECDSA(t_hashes.SM3())
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/verify")
    def verify(body: dict[str, Any] = Body()) -> dict[str, bool]:  # noqa: B008
        public.verify(signature, data, algorithm)
        return {"ok": True}

    return app


# --------------------------------------------------------------------------- load


def _drive(
    url: str, body: dict[str, object], headers: dict[str, str], count: int
) -> dict[str, Any]:
    """``count`` POSTs at ``CONCURRENCY`` threads: rate, latencies, acknowledged, errors."""
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()

    def client() -> httpx.Client:
        c: httpx.Client | None = getattr(local, "client", None)
        if c is None:
            c = httpx.Client(base_url=url, timeout=30, headers=headers)
            local.client = c
            with lock:
                clients.append(c)
        return c

    def one(_: int) -> tuple[float, int]:
        start = time.perf_counter()
        try:
            status = client().post("/v1/verify", json=body).status_code
        except httpx.HTTPError:
            status = 0
        return time.perf_counter() - start, status

    start = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        outcomes = list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - start
    for c in clients:
        c.close()
    latencies = sorted(t for t, _ in outcomes)
    ok = sum(1 for _, s in outcomes if s == 200)
    return {
        "rate": count / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "ok": ok,
        "errors": count - ok,
    }


def _measure(
    url: str, body: dict[str, object], headers: dict[str, str]
) -> tuple[dict[str, Any], int]:
    warm = _drive(url, body, headers, WARMUP)
    return _drive(url, body, headers, REQUESTS), warm["ok"]


def run() -> list[Entry]:
    from ezhengzhao.demo import write_demo
    from ezhengzhao.qr.payload import decode_qr_text
    from ezhengzhao.sign.suites import SM2_SM3, signature_to_der
    from ezhengzhao.verify import Verifier
    from tests.service.processes import ServiceProcess
    from verifier_service.db import default_database_url, load_or_create_secret, open_database

    with tempfile.TemporaryDirectory(prefix="ezz-bench-service-") as tmp:
        root = Path(tmp)
        data = root / "demo"
        write_demo(data)
        manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
        qr = next(
            q
            for q in manifest["qr_samples"]
            if q["expected_status"] == "PASSED" and q["suite"] == SM2_SM3
        )
        text = (data / qr["file"]).read_text(encoding="utf-8").strip()
        verifier = Verifier.from_directory(data, region=manifest["verifying_region"])
        assert verifier.verify_qr(text).ok
        message = decode_qr_text(text)
        signer = next(c for c in verifier.trust_store.signers if c.kid == message.kid)
        (root / "bare.json").write_text(
            json.dumps(
                {
                    "spki": signer.public_key.spki_der().hex(),
                    "signature": signature_to_der(message.signature, SM2_SM3).hex(),
                    "data": message.sig_structure().hex(),
                }
            ),
            encoding="utf-8",
        )
        url = default_database_url(data)
        holder_key = load_or_create_secret(data / "service" / "audit-holder.key")
        with open_database(url, holder_key=holder_key) as db:
            _, key = db.api_keys.create(role="window", name="bench")
        body: dict[str, object] = {
            "document": text,
            "use_cause": "性能测试",
            "item_code": "340100-000-XK-0012",
            "clerk": "王芳",
        }
        headers = {"Authorization": f"Bearer {key}"}
        env = {"EZZ_DATA": str(data), "EZZ_RATE_LIMIT": str(10**9)}

        with ServiceProcess(
            {_BARE_CONFIG: str(root / "bare.json")},
            log=root / "bare.log",
            workers=WORKERS,
            app="bench.bench_service:bare_app",
        ) as bare:
            base, _ = _measure(bare.url, body, {})
        with ServiceProcess(env, log=root / "service.log", workers=WORKERS) as service:
            ours, warm_ok = _measure(service.url, body, headers)
        with open_database(url, holder_key=holder_key) as db:
            records = db.audit.count()
            chain_ok = db.audit.verify_chain().ok
    acknowledged = ours["ok"] + warm_ok
    audit = (
        "audit records = acknowledged"
        if records == acknowledged and chain_ok
        else f"AUDIT MISMATCH: {records} records for {acknowledged} acknowledged"
    )
    note = (
        f"{REQUESTS} req at concurrency {CONCURRENCY}, {WORKERS} workers: "
        f"p50 {ours['p50_ms']:.1f} ms, p99 {ours['p99_ms']:.1f} ms vs bare SM2 "
        f"p50 {base['p50_ms']:.1f} ms, p99 {base['p99_ms']:.1f} ms; "
        f"errors {ours['errors']} (bare {base['errors']}); {audit} (goal ≥ 0.6)"
    )
    return [entry("service_verify", ours["rate"], base["rate"], unit="req/s", note=note)]


if __name__ == "__main__":
    from bench.harness import print_table, save

    entries = run()
    print_table(entries)
    save(entries)
