"""The verifier service's HTTP API on the demo domain: verdicts, bad input, keys, audit, lists.

Each app runs on a private copy of the session's demo directory with its own SQLite database,
its clock pinned a minute after the demo was made; every ``running_api`` block ends by checking
the app's own metrics for 5xx answers.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from ezhengzhao.errors import ConfigurationError
from tests.service.apptools import Api, copy_demo, demo_time, running_api
from verifier_service.db import tables
from verifier_service.keycache import KeyCache
from verifier_service.settings import Settings

VERIFY = "/v1/verify"
IMAGE = "/v1/verify/image"


def _manifest(data: Path) -> dict[str, list[dict[str, object]]]:
    value = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    assert isinstance(value, dict)
    return value


@pytest.fixture(scope="module")
def full_data(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Path:
    """The demo domain with trust anchors, status lists and rules."""
    return copy_demo(demo_dir, tmp_path_factory.mktemp("api") / "full")


@pytest.fixture
def api(full_data: Path, tmp_path: Path) -> Iterator[Api]:
    with running_api(copy_demo(full_data, tmp_path / "data")) as running:
        yield running


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _nested(depth: int) -> dict[str, object]:
    """A JSON object nested ``depth`` levels deep."""
    value: dict[str, object] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def _form(**fields: str) -> dict[str, str]:
    return {"use_cause": "办理业务", "item_code": "ITEM-1", "clerk": "王芳", **fields}


# --------------------------------------------------------------------------- verdicts


def test_manifest_samples_give_their_expected_verdicts(demo_dir: Path, tmp_path: Path) -> None:
    """Every sample licence and QR text of the manifest, through POST /v1/verify, gives the
    verdict and reasons the manifest expects — samples and QR samples on a verifier with the
    trust anchors alone, status samples on one with the status lists and rules too (as
    ``ezz demo verify`` checks them)."""
    manifest = _manifest(demo_dir)
    runs = (
        ("trust", False, [*manifest["samples"], *manifest["qr_samples"]]),
        ("full", True, manifest["status_samples"]),
    )
    mismatches = []
    checked = 0
    for name, with_lists, samples in runs:
        data = copy_demo(demo_dir, tmp_path / name, status_and_rules=with_lists)
        with running_api(data) as api:
            for i, sample in enumerate(samples):
                text = (data / str(sample["file"])).read_text(encoding="utf-8")
                # Sealed documents go in both forms the API takes: as text and as an object.
                is_sealed = text.lstrip().startswith("{")
                document: object = json.loads(text) if is_sealed and i % 2 else text.strip()
                response = api.verify(document)
                assert response.status_code == 200, response.text
                result = response.json()["result"]
                got = (result["status"], result["reasons"])
                expected = (sample["expected_status"], sample["expected_reasons"])
                if got != expected:
                    mismatches.append(f"{sample['file']}: {got} != {expected}")
                display = result["display"]
                assert display["verdict"] == result["status"]
                assert [r["code"] for r in display["reasons"]] == result["reasons"]
                if result["status"] == "PASSED":
                    assert display["title"] and display["holder_name"] and display["fields"]
                    assert display["issuer_name"], sample["file"]
                    if is_sealed:
                        assert display["seal_picture"].startswith("data:image/png;base64,")
                    else:
                        assert display["seal_picture"] is None
                checked += 1
    assert checked == sum(len(samples) for _, _, samples in runs) > 20
    assert not mismatches


def test_display_of_a_sealed_licence(api: Api, full_data: Path) -> None:
    sample = _manifest(full_data)["samples"][0]
    document = (full_data / str(sample["file"])).read_text(encoding="utf-8")
    display = api.verify(document).json()["result"]["display"]
    licence = json.loads(document)["licence"]
    assert display["verdict_zh"] == "有效"
    assert display["title"] == sample["licence_type"]
    assert display["holder_name"] == sample["holder"]
    assert display["licence_id"] == licence["licence_id"]
    assert display["issuer_name"] == licence["issuer"]["name"]
    assert display["valid_from"] == licence["validity"]["start"]
    # Every surface field, in the licence's values, labelled in Chinese by the catalogue.
    assert {f["key"]: f["value"] for f in display["fields"]} == licence["surface"]
    labels = {f["key"]: f["label"] for f in display["fields"]}
    assert all(label != key for key, label in labels.items())
    assert "姓名" in labels.values()
    picture = display["seal_picture"]
    png = base64.b64decode(picture.removeprefix("data:image/png;base64,"))
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.width > 50


def test_display_of_a_failed_and_a_permanent_licence(api: Api, full_data: Path) -> None:
    samples = _manifest(full_data)["samples"]
    tampered = next(s for s in samples if s["expected_reasons"] == ["data_hash_mismatch"])
    body = api.verify((full_data / str(tampered["file"])).read_text(encoding="utf-8")).json()
    display = body["result"]["display"]
    assert display["verdict"] == "FAILED" and display["verdict_zh"] == "无效"
    assert display["reasons"][0]["code"] == "data_hash_mismatch"
    assert display["reasons"][0]["message_zh"] == "证照数据在签章后被改动"
    assert display["reasons"][0]["message_en"] == "the licence data was changed after sealing"
    # Nothing the issuer did not seal is shown: no fields, no seal picture.
    assert display["fields"] == [] and display["seal_picture"] is None
    assert body["result"]["licence"] is None
    until = set()
    for sample in _manifest(full_data)["qr_samples"]:
        text = (full_data / str(sample["file"])).read_text(encoding="utf-8").strip()
        until.add(api.verify(text).json()["result"]["display"]["valid_until"])
    assert "长期" in until, "the demo has licences without an end date"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        pytest.param("hello, world", "qr_prefix_invalid", id="foreign-text"),
        pytest.param("EZZ1:%%%%", "qr_base45_invalid", id="bad-base45"),
        pytest.param("EZZ1:", "qr_zlib_invalid", id="empty-code"),
        pytest.param('{"format": "ezz/sealed/1"}', "format_invalid", id="sealed-text"),
        pytest.param({"format": "ezz/sealed/9"}, "format_invalid", id="sealed-object"),
        pytest.param({"a": [1, 2.5, None, True]}, "format_invalid", id="other-object"),
        pytest.param("\ud800EZZ1:", "qr_prefix_invalid", id="lone-surrogate"),
        pytest.param("", "qr_prefix_invalid", id="empty"),
    ],
)
def test_garbage_is_a_failed_result_not_an_error(api: Api, document: object, reason: str) -> None:
    body = {"document": document, "use_cause": "办理业务", "item_code": "ITEM-1", "clerk": "王芳"}
    # ASCII-escaped JSON, so that a lone surrogate travels as the escape \ud800.
    headers = {**api.auth("window"), "Content-Type": "application/json"}
    response = api.client.post(VERIFY, content=json.dumps(body).encode(), headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["status"] == "FAILED"
    assert result["reasons"][0] in (reason, "format_invalid", "qr_prefix_invalid")
    assert result["display"]["fields"] == []


# --------------------------------------------------------------------------- images


def test_image_upload_of_demo_qr_pictures(api: Api, full_data: Path) -> None:
    for sample in _manifest(full_data)["qr_samples"][:3]:
        picture = (full_data / str(sample["image"])).read_bytes()
        text = (full_data / str(sample["file"])).read_text(encoding="utf-8").strip()
        response = api.client.post(
            IMAGE,
            files={"file": ("code.png", picture, "image/png")},
            data=_form(),
            headers=api.auth("window"),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["results"]) == len(body["audit_seqs"]) == 1
        expected = api.verify(text).json()["result"]
        got = body["results"][0]
        assert (got["status"], got["reasons"]) == (expected["status"], expected["reasons"])
        assert got["display"]["licence_id"] == expected["display"]["licence_id"]


def test_image_with_two_codes_gives_two_audited_results(api: Api, full_data: Path) -> None:
    samples = _manifest(full_data)["qr_samples"][:2]
    pictures = [Image.open(full_data / str(s["image"])).convert("L") for s in samples]
    width = sum(p.width for p in pictures) + 60
    canvas = Image.new("L", (width, max(p.height for p in pictures) + 40), 255)
    x = 20
    for picture in pictures:
        canvas.paste(picture, (x, 20))
        x += picture.width + 20
    before = api.service.database.audit.count()
    response = api.client.post(
        IMAGE,
        files={"file": ("two.png", _png(canvas), "image/png")},
        data=_form(),
        headers=api.auth("window"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["results"]) == 2
    assert api.service.database.audit.count() == before + 2
    ids = [r["display"]["licence_id"] for r in body["results"]]
    records = api.client.get("/v1/audit", headers=api.auth("admin")).json()["records"]
    assert [r["licence_id"] for r in records[-2:]] == ids
    assert {r["action"] for r in records[-2:]} == {"verify_image"}
    assert [r["seq"] for r in records[-2:]] == body["audit_seqs"]


# --------------------------------------------------------------------------- bad input


def _error(response: object, status: int, code: str) -> dict[str, object]:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return dict(body)


def test_malformed_json(api: Api) -> None:
    headers = {**api.auth("window"), "Content-Type": "application/json"}
    for content in (b'{"document": ', b"{'a': 1}", b"\xff\xfe{}", b"[1, 2,]", b"\x00"):
        _error(api.client.post(VERIFY, content=content, headers=headers), 400, "invalid_json")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        pytest.param({"use_cause": None}, "body.use_cause", id="missing-use-cause"),
        pytest.param({"item_code": None}, "body.item_code", id="missing-item-code"),
        pytest.param({"document": None}, "body.document", id="missing-document"),
        pytest.param({"use_cause": "因" * 201}, "body.use_cause", id="use-cause-too-long"),
        pytest.param({"use_cause": "   "}, "body.use_cause", id="blank-use-cause"),
        pytest.param({"clerk": "王\n芳"}, "body.clerk", id="control-character"),
        pytest.param({"item_code": 17}, "body.item_code", id="wrong-type"),
        pytest.param({"document": 17}, "body.document", id="document-number"),
        pytest.param({"document": _nested(40)}, "body.document", id="document-too-deep"),
        pytest.param({"colour": "red"}, "body.colour", id="unknown-member"),
        pytest.param({"clerk": None}, "body.clerk", id="window-without-clerk"),
    ],
)
def test_validation_errors_name_the_field(api: Api, change: dict[str, object], path: str) -> None:
    body: dict[str, object] = {
        "document": "EZZ1:ABC",
        "use_cause": "办理业务",
        "item_code": "ITEM-1",
        "clerk": "王芳",
    }
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    response = api.client.post(VERIFY, json=body, headers=api.auth("window"))
    error = _error(response, 422, "invalid_request")
    paths = [e["path"] for e in error["errors"]]  # type: ignore[union-attr]
    assert any(p.startswith(path) for p in paths), paths
    assert path in str(error["message"])


def test_use_cause_of_200_characters_is_accepted(api: Api) -> None:
    assert api.verify("EZZ1:ABC", use_cause="因" * 200).status_code == 200


def test_body_that_is_not_an_object(api: Api) -> None:
    for body in ([], "text", 3):
        _error(
            api.client.post(VERIFY, json=body, headers=api.auth("window")), 422, "invalid_request"
        )


def test_wrong_content_types(api: Api, full_data: Path) -> None:
    headers = api.auth("window")
    body = json.dumps({"document": "x", "use_cause": "u", "item_code": "i", "clerk": "c"})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "image/png", None):
        extra = {} if content_type is None else {"Content-Type": content_type}
        response = api.client.post(VERIFY, content=body.encode(), headers={**headers, **extra})
        _error(response, 415, "unsupported_media_type")
    response = api.client.post(IMAGE, json={"file": "x"}, headers=headers)
    _error(response, 415, "unsupported_media_type")
    response = api.client.post(IMAGE, data=_form(), headers=headers)  # urlencoded
    _error(response, 415, "unsupported_media_type")


def test_image_form_problems(api: Api) -> None:
    headers = api.auth("window")
    picture = _png(Image.new("L", (64, 64), 255))
    response = api.client.post(IMAGE, data=_form(), files={"other": ("a", b"x")}, headers=headers)
    assert any(e["path"] == "body.file" for e in _error(response, 422, "invalid_request")["errors"])  # type: ignore[union-attr]
    response = api.client.post(
        IMAGE, files={"file": ("a.png", picture, "image/png")}, headers=headers
    )
    _error(response, 422, "invalid_request")
    response = api.client.post(
        IMAGE,
        files={"file": ("a.png", picture, "image/png")},
        data=_form(clerk=""),
        headers=headers,
    )
    _error(response, 422, "invalid_request")
    response = api.client.post(
        IMAGE,
        content=b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
        headers={**headers, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code in (400, 422), response.text
    assert response.json()["code"] in ("invalid_form", "invalid_request")


def test_pictures_that_cannot_be_read(api: Api) -> None:
    headers = api.auth("window")

    def upload(data: bytes, name: str = "a.png") -> object:
        return api.client.post(
            IMAGE, files={"file": (name, data, "image/png")}, data=_form(), headers=headers
        )

    _error(upload(b"not a picture at all"), 400, "not_an_image")
    _error(upload(b""), 400, "not_an_image")
    _error(upload(_png(Image.new("L", (64, 64), 255))[:40]), 400, "not_an_image")
    _error(upload(_png(Image.new("RGB", (320, 240), (200, 30, 30)))), 400, "no_qr_code")
    before = api.service.database.audit.count()
    assert before == 0, "a refused picture leaves no audit record"


def test_body_size_limits(full_data: Path, tmp_path: Path) -> None:
    data = copy_demo(full_data, tmp_path / "data")
    with running_api(data, max_body_bytes=2000, max_image_bytes=3000) as api:
        headers = {**api.auth("window"), "Content-Type": "application/json"}
        big = json.dumps(
            {"document": "x" * 3000, "use_cause": "u", "item_code": "i", "clerk": "c"}
        ).encode()
        # Declared too large: refused before reading.
        _error(api.client.post(VERIFY, content=big, headers=headers), 413, "body_too_large")

        # No length declared (chunked): counted while it arrives.
        def chunks() -> Iterator[bytes]:
            for i in range(0, len(big), 500):
                yield big[i : i + 500]

        response = api.client.post(VERIFY, content=chunks(), headers=headers)
        _error(response, 413, "body_too_large")
        # A length that understates the body is not believed.
        response = api.client.post(
            VERIFY, content=big, headers={**headers, "Content-Length": "100"}
        )
        _error(response, 413, "body_too_large")
        # Within the limit: answered.
        assert api.verify("EZZ1:ABC").status_code == 200
        # Pictures: a picture over the image limit in a body that fits (room is left for the
        # form fields), and a body over the image limit itself.
        for side in (200, 400):
            picture = _png(Image.effect_noise((side, side), 100).convert("L"))
            response = api.client.post(
                IMAGE,
                files={"file": ("a.png", picture, "image/png")},
                data=_form(),
                headers=api.auth("window"),
            )
            _error(response, 413, "image_too_large")
        assert api.service.database.audit.count() == 1


def test_requests_read_the_settings_of_the_service(api: Api) -> None:
    """Requests read the settings of the service on ``app.state``; a service with other
    settings changes the picture limit the upload route applies (the body limit, fixed at
    start-up, stays)."""
    picture = _png(Image.effect_noise((120, 120), 100).convert("L"))
    service = api.service
    small = dataclasses.replace(service.settings, max_image_bytes=len(picture) - 1)
    api.app.state.service = dataclasses.replace(service, settings=small)
    try:
        response = api.client.post(
            IMAGE,
            files={"file": ("a.png", picture, "image/png")},
            data=_form(),
            headers=api.auth("window"),
        )
        _error(response, 413, "image_too_large")
    finally:
        api.app.state.service = service
    response = api.client.post(
        IMAGE,
        files={"file": ("a.png", picture, "image/png")},
        data=_form(),
        headers=api.auth("window"),
    )
    _error(response, 400, "no_qr_code")


def test_unknown_routes_and_methods(api: Api) -> None:
    _error(api.client.get("/v2/verify"), 404, "not_found")
    _error(api.client.get("/"), 404, "not_found")
    _error(api.client.get(VERIFY, headers=api.auth("window")), 405, "method_not_allowed")
    _error(api.client.delete("/v1/audit", headers=api.auth("admin")), 405, "method_not_allowed")


# --------------------------------------------------------------------------- keys and roles


def test_keys_are_required_and_checked(api: Api) -> None:
    body = {"document": "EZZ1:A", "use_cause": "u", "item_code": "i", "clerk": "c"}
    _error(api.client.post(VERIFY, json=body), 401, "unauthenticated")
    for secret in ("nonsense", "ezzk_abc_def", api.keys["window"] + "x", ""):
        response = api.client.post(VERIFY, json=body, headers={"Authorization": f"Bearer {secret}"})
        _error(response, 401, "unauthenticated")
    # The same key in X-API-Key works; a Basic scheme is not a key.
    response = api.client.post(VERIFY, json=body, headers={"X-API-Key": api.keys["window"]})
    assert response.status_code == 200
    response = api.client.post(VERIFY, json=body, headers={"Authorization": "Basic YTpi"})
    _error(response, 401, "unauthenticated")
    # Without a key cache (EZZ_KEY_CACHE_SECONDS=0) a revoked key stops working at once.
    api.app.state.service = dataclasses.replace(api.service, keys=KeyCache(0))
    keys = api.service.database.api_keys
    key, secret = keys.create(role="window", name="临时")
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.client.post(VERIFY, json=body, headers=headers).status_code == 200
    keys.revoke(key.key_id)
    _error(api.client.post(VERIFY, json=body, headers=headers), 401, "unauthenticated")
    assert api.client.post(VERIFY, json=body, headers=headers).headers["WWW-Authenticate"]


def test_a_revoked_key_stops_working_within_the_key_cache_time(api: Api) -> None:
    """A worker trusts a key it looked up for the cache time, then looks it up again."""
    clock = [100.0]
    api.app.state.service = dataclasses.replace(
        api.service, keys=KeyCache(2.0, monotonic=lambda: clock[0])
    )
    body = {"document": "EZZ1:A", "use_cause": "u", "item_code": "i", "clerk": "c"}
    keys = api.service.database.api_keys
    key, secret = keys.create(role="window", name="临时")
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.client.post(VERIFY, json=body, headers=headers).status_code == 200
    keys.revoke(key.key_id)
    clock[0] = 101.9
    assert api.client.post(VERIFY, json=body, headers=headers).status_code == 200
    clock[0] = 102.0
    _error(api.client.post(VERIFY, json=body, headers=headers), 401, "unauthenticated")
    clock[0] = 100.0  # a refused key is not remembered as good
    _error(api.client.post(VERIFY, json=body, headers=headers), 401, "unauthenticated")
    # Another key is unaffected, and every use was recorded under the key that made it.
    assert api.client.post(VERIFY, json=body, headers=api.auth("window")).status_code == 200
    callers = [r.caller_key_id for r in api.service.database.audit.query()]
    assert callers.count(key.key_id) == 2


def test_roles(api: Api) -> None:
    # Every role may verify; a peer and an admin need not name a clerk.
    for role in ("window", "peer", "admin"):
        assert api.verify("EZZ1:A", role=role).status_code == 200
    for role in ("window", "peer"):
        _error(api.client.get("/v1/audit", headers=api.auth(role)), 403, "forbidden")
    assert api.client.get("/v1/audit", headers=api.auth("admin")).status_code == 200
    records = api.service.database.audit.query()
    by_role = {r.role: r for r in records}
    assert by_role["peer"].region == "310000", "a peer's records carry its own region"
    assert by_role["window"].region == "340000" and by_role["window"].clerk == "王芳"
    assert by_role["admin"].clerk is None


def test_rate_limit_per_key(full_data: Path, tmp_path: Path) -> None:
    with running_api(copy_demo(full_data, tmp_path / "data"), rate_limit=3) as api:
        for _ in range(3):
            assert api.verify("EZZ1:A").status_code == 200
        response = api.verify("EZZ1:A")
        _error(response, 429, "rate_limited")
        assert int(response.headers["Retry-After"]) >= 1
        # Another key has its own bucket; the refused request was not audited.
        assert api.verify("EZZ1:A", role="peer").status_code == 200
        assert api.service.database.audit.count() == 4


# --------------------------------------------------------------------------- audit


def test_audit_records_every_acknowledged_verification(
    full_data: Path, tmp_path: Path, database_url: str
) -> None:
    """On SQLite and PostgreSQL: one record per acknowledged verification, none for refused
    requests, the chain intact, the holder's ID number only as a keyed hash."""
    data = copy_demo(full_data, tmp_path / "data")
    manifest = _manifest(data)
    with running_api(data, database_url=database_url) as api:
        acknowledged: list[int] = []
        holder_codes = []
        for sample in [*manifest["samples"][:4], *manifest["qr_samples"][:4]]:
            response = api.verify((data / str(sample["file"])).read_text(encoding="utf-8"))
            assert response.status_code == 200
            body = response.json()
            acknowledged.append(body["audit_seq"])
            result = body["result"]
            if result["licence"] is not None:
                holder_codes.append(result["licence"]["holder"]["code"])
            elif result["claims"] is not None:
                holder_codes.append(result["claims"]["holder_code"])
        # Refused requests leave no record.
        api.client.post(VERIFY, json={"document": "x"}, headers=api.auth("window"))
        api.client.post(VERIFY, json={"document": "x", "use_cause": "u", "item_code": "i"})
        api.client.post(VERIFY, content=b"{", headers=api.auth("window"))
        log = api.service.database.audit
        assert log.count() == len(acknowledged) == 8
        assert acknowledged == list(range(1, 9))
        report = log.verify_chain()
        assert report.ok and report.records == 8
        records = api.client.get("/v1/audit", headers=api.auth("admin")).json()["records"]
        dump = json.dumps(records, ensure_ascii=False)
        assert holder_codes and not any(code in dump for code in holder_codes)
        assert all(r["holder_hash"] and len(r["holder_hash"]) == 64 for r in records)
        first = records[0]
        assert (first["use_cause"], first["item_code"], first["clerk"]) == (
            "办理业务",
            "ITEM-1",
            "王芳",
        )
        assert first["verdict"] == "PASSED" and first["reasons"] == []
        assert first["caller_key_id"] and first["role"] == "window"


def test_audit_query_filters(api: Api, full_data: Path) -> None:
    samples = _manifest(full_data)["qr_samples"]
    texts = [(full_data / str(s["file"])).read_text(encoding="utf-8").strip() for s in samples]
    for text in texts[:3]:
        assert api.verify(text).status_code == 200
    assert api.verify(texts[0], role="peer").status_code == 200
    admin = api.auth("admin")

    def query(**params: object) -> list[dict[str, object]]:
        response = api.client.get("/v1/audit", params=params, headers=admin)
        assert response.status_code == 200, response.text
        records: list[dict[str, object]] = response.json()["records"]
        return records

    everything = query()
    assert [r["seq"] for r in everything] == [1, 2, 3, 4]
    licence = everything[0]["licence_id"]
    assert [r["seq"] for r in query(licence=licence)] == [1, 4]
    peer_key = everything[3]["caller_key_id"]
    assert [r["seq"] for r in query(caller=peer_key)] == [4]
    assert [r["seq"] for r in query(after_seq=2)] == [3, 4]
    assert [r["seq"] for r in query(limit=2)] == [1, 2]
    at = demo_time(full_data)
    assert len(query(since=(at - timedelta(seconds=1)).isoformat())) == 4
    assert query(since=(at + timedelta(seconds=1)).isoformat()) == []
    assert query(until=(at - timedelta(seconds=1)).isoformat()) == []
    assert query(licence="no-such-licence") == []
    for params in (
        {"since": "2026-01-01T00:00:00"},  # no zone
        {"since": "yesterday"},
        {"limit": 0},
        {"limit": 1001},
        {"after_seq": -1},
        {"caller": "a\u0000b"},
        {"since": "0001-01-01T00:00:00+05:00"},
    ):
        response = api.client.get("/v1/audit", params=params, headers=admin)
        _error(response, 422, "invalid_request")


def test_unwritable_audit_log_refuses_the_verification(api: Api) -> None:
    """If the record cannot be written the verification is not acknowledged: 503."""
    assert api.verify("EZZ1:A").status_code == 200
    database = api.service.settings.database_url.removeprefix("sqlite:///")
    table = tables.audit.name
    with sqlite3.connect(database) as conn:
        conn.execute(f"ALTER TABLE {table} RENAME TO moved_away")
    response = api.verify("EZZ1:A")
    _error(response, 503, "audit_unavailable")
    assert "result" not in response.json()
    with sqlite3.connect(database) as conn:
        conn.execute(f"ALTER TABLE moved_away RENAME TO {table}")
    assert api.verify("EZZ1:A").json()["audit_seq"] == 2


# --------------------------------------------------------------------------- lists


def test_published_lists_are_served_as_they_are(api: Api, full_data: Path) -> None:
    index = json.loads((full_data / "status" / "index.json").read_text(encoding="utf-8"))
    for name in index.values():
        response = api.client.get(f"/v1/status/{name.removesuffix('.cwt')}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/statuslist+cwt"
        assert response.content == (full_data / "status" / name).read_bytes()
    for rules in (full_data / "rules").glob("*.cose"):
        response = api.client.get(f"/v1/rules/{rules.stem}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/cose")
        assert response.content == rules.read_bytes()
    lists = full_data / "trust" / "lists"
    if not lists.is_dir():
        pytest.skip("this demo domain has no signed trust lists (trust/lists/) to serve")
    response = api.client.get("/v1/trust-list")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/cose")
    assert response.content == (lists / "340000.cose").read_bytes()
    other = api.client.get("/v1/trust-list", params={"region": "310000"})
    assert other.content == (lists / "310000.cose").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/v1/status/index",
        "/v1/status/index.json",
        "/v1/status/310000-1.cwt",
        "/v1/status/999999-1",
        "/v1/status/..%2F..%2Fmanifest",
        "/v1/status/%2e%2e",
        "/v1/rules/999999",
        "/v1/rules/..%2Ftrust%2Froots%2F340000-root",
        "/v1/rules/authorities",
        "/v1/rules/%00",
        "/v1/trust-list?region=999999",
        "/v1/trust-list?region=..%2F..%2Frules%2F340000",
    ],
)
def test_unknown_lists_are_not_found(api: Api, path: str) -> None:
    _error(api.client.get(path), 404, "not_found")


def test_an_audit_log_that_refuses_writes_is_a_503(api: Api) -> None:
    """A driver error other than a lost connection (here a constraint the log refuses every
    record with) is still a 503 audit_unavailable, never a 500, and nothing is recorded."""
    with api.service.database.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER ezz_refuse BEFORE INSERT ON ezz_audit "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    response = api.verify("EZZ1:A")
    assert (response.status_code, response.json()["code"]) == (503, "audit_unavailable")
    assert api.service.database.audit.count() == 0


# --------------------------------------------------------------------------- health, metrics


def test_health_and_metrics(api: Api) -> None:
    health = api.client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "region": "340000", "database": "sqlite"}
    assert api.verify("EZZ1:A").status_code == 200
    _error(api.client.post(VERIFY, json={}), 401, "unauthenticated")
    text = api.client.get("/metrics").text
    assert 'ezz_verifications_total{kind="verify",verdict="FAILED"} 1.0' in text
    assert 'ezz_http_requests_total{method="POST",route="/v1/verify",status="401"} 1.0' in text
    assert "ezz_http_request_duration_seconds_bucket" in text


def _request_series(api: Api) -> set[tuple[str, str, str]]:
    return {
        (sample.labels["route"], sample.labels["method"], sample.labels["status"])
        for metric in api.service.metrics.requests.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    }


def test_made_up_methods_add_no_series(api: Api) -> None:
    for path in ("/healthz", "/no/such/path"):
        api.client.request("BREW", path)
    before = _request_series(api)
    assert {method for _, method, _ in before} == {"other"}
    for i in range(20):
        for path in ("/healthz", "/no/such/path"):
            api.client.request(f"X-MADE-UP-{i}", path)
    assert _request_series(api) == before
    text = api.client.get("/metrics").text
    assert "MADE-UP" not in text and "BREW" not in text
    assert 'method="GET",route="/metrics"' in api.client.get("/metrics").text


# --------------------------------------------------------------------------- OpenAPI


def _has_example(node: object, components: dict[str, object], seen: set[str]) -> bool:
    if isinstance(node, dict):
        if "example" in node or "examples" in node:
            return True
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            target: object = components
            for part in ref.removeprefix("#/components/").split("/"):
                target = target[part] if isinstance(target, dict) else None
            if _has_example(target, components, seen):
                return True
        return any(_has_example(v, components, seen) for v in node.values())
    if isinstance(node, list):
        return any(_has_example(v, components, seen) for v in node)
    return False


def test_openapi_lists_every_endpoint_with_examples(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    expected = {
        ("/v1/verify", "post"),
        ("/v1/verify/image", "post"),
        ("/v1/trust-list", "get"),
        ("/v1/status/{list_id}", "get"),
        ("/v1/rules/{region}", "get"),
        ("/v1/audit", "get"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    }
    listed = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    assert expected <= listed
    components = schema["components"]
    for path, method in expected:
        operation = schema["paths"][path][method]
        assert operation.get("summary") and operation.get("description"), path
        assert _has_example(operation, components, set()), f"{method} {path} has no example"
    verify = schema["paths"]["/v1/verify"]["post"]
    assert verify["requestBody"]["content"]["application/json"]["examples"]
    for code in ("401", "403", "413", "415", "422", "429", "503"):
        assert code in verify["responses"], code
    assert {"bearer", "apiKey"} <= set(components["securitySchemes"])


# --------------------------------------------------------------------------- settings


def test_settings_from_the_environment(full_data: Path) -> None:
    env = {"EZZ_DATA": str(full_data), "EZZ_RATE_LIMIT": "5", "EZZ_MAX_BODY_BYTES": "4096"}
    settings = Settings.from_env(env)
    assert settings.data == full_data and settings.rate_limit == 5
    assert settings.max_body_bytes == 4096
    assert settings.region == "340000", "the demo manifest's verifying region"
    assert settings.database_url.endswith("/service/service.db")
    assert Settings.from_env({**env, "EZZ_REGION": "310000"}).region == "310000"
    assert settings.key_cache_seconds == 2.0
    assert Settings.from_env({**env, "EZZ_KEY_CACHE_SECONDS": "0"}).key_cache_seconds == 0
    assert Settings.from_env({**env, "EZZ_KEY_CACHE_SECONDS": "0.5"}).key_cache_seconds == 0.5
    for bad in (
        {"EZZ_RATE_LIMIT": "fast"},
        {"EZZ_RATE_LIMIT": "0"},
        {"EZZ_REGION": "12"},
        {"EZZ_KEY_CACHE_SECONDS": "-1"},
        {"EZZ_KEY_CACHE_SECONDS": "nan"},
        {"EZZ_KEY_CACHE_SECONDS": "soon"},
        {"EZZ_KEY_CACHE_SECONDS": "86400"},
    ):
        with pytest.raises(ConfigurationError):
            Settings.from_env({**env, **bad})
