"""Trust lists, status lists and rule sets fetched over real HTTP on 127.0.0.1 (DESIGN §5).

The server is the standard library's, in a thread, on a port of the system's choosing; each
test says per path what it answers and counts the requests it gets. Time is injected: the
status source is handed ``now``, the loaders a clock; only the timeout tests wait, for about
half a second, on a server that never finishes.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ezhengzhao import demo
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.demo import DemoDomain
from ezhengzhao.errors import (
    ConfigurationError,
    FetchError,
    RuleSetError,
    StatusUnavailable,
    TrustListError,
)
from ezhengzhao.fetch import REASON_CODES, fetch
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.issue import IssuingAuthority
from ezhengzhao.model import LicenceDraft, StatusReference
from ezhengzhao.result import CheckStatus, Status
from ezhengzhao.rules.rulesets import RuleSetLoader
from ezhengzhao.status.codec import INVALID, SUSPENDED, VALID, StatusList, sign_status_list
from ezhengzhao.status.source import HttpStatusSource
from ezhengzhao.trust.lists import TrustListLoader
from ezhengzhao.verify import Verifier

CATALOGUE = Catalogue.builtin()
FOOD = CATALOGUE.by_name("食品经营许可证")
TIMEOUT = 0.5
LIMIT = 64 * 1024
REVOKED, SUSPENDED_IDX, GOOD = 7, 8, 3


# -- a real HTTP server -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    content_length: bool = True  # without it the body ends when the connection closes
    repeat: int = 1  # the body is sent this many times over
    stall: bool = False  # send nothing at all until the test ends
    trickle: bool = False  # send headers, then one byte at a time, slowly, until the test ends


class Server:
    """An HTTP/1.0 server on 127.0.0.1 answering :class:`Reply` values by path."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply] = {}
        self.requests: Counter[str] = Counter()
        self.released = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with owner._lock:
                    owner.requests[self.path] += 1
                reply = owner.routes.get(self.path, Reply(b"not here", status=404))
                # The client hangs up on a body it refuses, as it should.
                with contextlib.suppress(OSError):
                    owner._answer(self, reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        if self.released.is_set():
            return
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()

    def _answer(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.stall:
            self.released.wait(30)
            return
        handler.send_response(reply.status)
        for name, value in reply.headers:
            handler.send_header(name, value)
        if reply.trickle:
            handler.send_header("Content-Length", "30")
            handler.end_headers()
            handler.wfile.flush()
            # One byte per tenth of a second: each read gets an answer well within the
            # timeout, so only a deadline on the whole transfer stops the client.
            while not self.released.wait(0.1):
                handler.wfile.write(b"x")
                handler.wfile.flush()
            return
        if reply.content_length:
            handler.send_header("Content-Length", str(len(reply.body) * reply.repeat))
        handler.end_headers()
        for _ in range(reply.repeat):
            handler.wfile.write(reply.body)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    try:
        yield running
    finally:
        running.close()


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _reason(exc: pytest.ExceptionInfo[FetchError]) -> str:
    assert exc.value.reason in REASON_CODES
    return exc.value.reason


# -- fetch --------------------------------------------------------------------------------------


def test_fetch_returns_the_body(server: Server) -> None:
    body = bytes(range(256)) * 40
    server.routes["/list"] = Reply(body)
    assert fetch(server.url("/list"), max_bytes=LIMIT, timeout=TIMEOUT) == body
    assert server.requests["/list"] == 1


def test_fetch_reads_a_body_without_content_length_to_its_end(server: Server) -> None:
    server.routes["/list"] = Reply(b"abc" * 1000, content_length=False)
    assert fetch(server.url("/list"), max_bytes=LIMIT, timeout=TIMEOUT) == b"abc" * 1000


def test_fetch_body_of_exactly_max_bytes_is_accepted(server: Server) -> None:
    server.routes["/list"] = Reply(b"z" * LIMIT, content_length=False)
    assert len(fetch(server.url("/list"), max_bytes=LIMIT, timeout=TIMEOUT)) == LIMIT


@pytest.mark.parametrize("status", [404, 500, 204, 203])
def test_statuses_other_than_200_are_refused(server: Server, status: int) -> None:
    server.routes["/list"] = Reply(b"" if status == 204 else b"body", status=status)
    with pytest.raises(FetchError) as exc:
        fetch(server.url("/list"), max_bytes=LIMIT, timeout=TIMEOUT)
    assert _reason(exc) == "http_status"
    assert exc.value.url == server.url("/list")
    assert str(status) in str(exc.value)


def test_announced_body_over_max_bytes_is_refused_before_reading(server: Server) -> None:
    server.routes["/big"] = Reply(b"x" * 1024, repeat=1024)  # announces 1 MiB
    with pytest.raises(FetchError) as exc:
        fetch(server.url("/big"), max_bytes=LIMIT, timeout=TIMEOUT)
    assert _reason(exc) == "too_large"
    assert "announces" in str(exc.value)


def test_unannounced_body_over_max_bytes_is_cut_off(server: Server) -> None:
    server.routes["/big"] = Reply(b"x" * 1024, repeat=1024, content_length=False)
    with pytest.raises(FetchError) as exc:
        fetch(server.url("/big"), max_bytes=LIMIT, timeout=TIMEOUT)
    assert _reason(exc) == "too_large"
    assert "sent more than" in str(exc.value)


def test_content_length_smaller_than_the_body_gives_only_what_was_announced(
    server: Server,
) -> None:
    server.routes["/lie"] = Reply(
        b"y" * (LIMIT * 4), content_length=False, headers=(("Content-Length", "10"),)
    )
    assert fetch(server.url("/lie"), max_bytes=LIMIT, timeout=TIMEOUT) == b"y" * 10


def test_body_shorter_than_announced_is_refused(server: Server) -> None:
    server.routes["/short"] = Reply(
        b"z" * 50, content_length=False, headers=(("Content-Length", "100"),)
    )
    with pytest.raises(FetchError) as exc:
        fetch(server.url("/short"), max_bytes=LIMIT, timeout=TIMEOUT)
    assert _reason(exc) == "connection"


def test_server_that_never_answers_times_out(server: Server) -> None:
    server.routes["/slow"] = Reply(stall=True)
    with pytest.raises(FetchError) as exc:
        fetch(server.url("/slow"), max_bytes=LIMIT, timeout=TIMEOUT)
    assert _reason(exc) == "timeout"


def test_server_that_trickles_is_stopped_by_the_deadline(server: Server) -> None:
    server.routes["/trickle"] = Reply(trickle=True)
    with pytest.raises(FetchError) as exc:
        fetch(server.url("/trickle"), max_bytes=LIMIT, timeout=TIMEOUT)
    assert _reason(exc) == "timeout"


def test_nobody_listening_is_a_connection_error() -> None:
    with pytest.raises(FetchError) as exc:
        fetch(f"http://127.0.0.1:{_closed_port()}/list", max_bytes=LIMIT, timeout=TIMEOUT)
    assert _reason(exc) == "connection"


def test_compressed_body_is_refused(server: Server) -> None:
    server.routes["/gz"] = Reply(b"\x1f\x8b...", headers=(("Content-Encoding", "gzip"),))
    with pytest.raises(FetchError) as exc:
        fetch(server.url("/gz"), max_bytes=LIMIT, timeout=TIMEOUT)
    assert _reason(exc) == "encoding"


def test_identity_encoding_is_accepted(server: Server) -> None:
    server.routes["/id"] = Reply(b"plain", headers=(("Content-Encoding", "identity"),))
    assert fetch(server.url("/id"), max_bytes=LIMIT, timeout=TIMEOUT) == b"plain"


def test_redirect_within_http_is_followed(server: Server) -> None:
    server.routes["/old"] = Reply(status=301, headers=(("Location", "/new"),))
    server.routes["/new"] = Reply(b"moved here")
    assert fetch(server.url("/old"), max_bytes=LIMIT, timeout=TIMEOUT) == b"moved here"
    assert server.requests == Counter({"/old": 1, "/new": 1})


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_to_a_file_is_refused(server: Server, tmp_path: Path, code: int) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"local file the server must not get a verifier to read")
    server.routes["/evil"] = Reply(status=code, headers=(("Location", secret.as_uri()),))
    with pytest.raises(FetchError) as exc:
        fetch(server.url("/evil"), max_bytes=LIMIT, timeout=TIMEOUT)
    assert _reason(exc) == "redirect"
    assert "file" in str(exc.value)


def test_a_redirect_outside_the_allowed_prefixes_is_refused(server: Server) -> None:
    server.routes["/status/1"] = Reply(status=302, headers=(("Location", "/internal/admin"),))
    server.routes["/status/2"] = Reply(status=302, headers=(("Location", "/status/2b"),))
    server.routes["/status/2b"] = Reply(b"still under the prefix")
    server.routes["/internal/admin"] = Reply(b"must not be fetched")
    allowed = (server.url("/status/"),)
    with pytest.raises(FetchError) as exc:
        fetch(
            server.url("/status/1"), max_bytes=LIMIT, timeout=TIMEOUT, redirect_prefixes=allowed
        )
    assert _reason(exc) == "redirect" and "allowed prefixes" in str(exc.value)
    assert server.requests["/internal/admin"] == 0
    body = fetch(
        server.url("/status/2"), max_bytes=LIMIT, timeout=TIMEOUT, redirect_prefixes=allowed
    )
    assert body == b"still under the prefix"


def test_endless_redirects_are_refused(server: Server) -> None:
    server.routes["/a"] = Reply(status=302, headers=(("Location", "/b"),))
    server.routes["/b"] = Reply(status=302, headers=(("Location", "/a"),))
    with pytest.raises(FetchError) as exc:
        fetch(server.url("/a"), max_bytes=LIMIT, timeout=TIMEOUT)
    assert _reason(exc) == "redirect"
    assert sum(server.requests.values()) <= 12


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/list", "scheme"),
        ("gopher://127.0.0.1/list", "scheme"),
        ("data:,hello", "scheme"),
        ("127.0.0.1/list", "scheme"),
        ("http:///list", "url"),
        ("http://127.0.0.1:99999/list", "url"),
        ("http://[::1/list", "url"),
        ("file://elsewhere.example.cn/etc/hosts", "url"),
        ("file:relative/list.cose", "url"),
        ("http://127.0.0.1:1/a b", "url"),
        ("http://127.0.0.1:1/状态/1", "url"),
    ],
)
def test_urls_that_cannot_be_fetched(url: str, reason: str) -> None:
    with pytest.raises(FetchError) as exc:
        fetch(url, max_bytes=LIMIT, timeout=TIMEOUT)
    assert _reason(exc) == reason
    assert exc.value.url == url


def test_file_urls_are_read_within_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "list.cose"
    path.write_bytes(b"q" * 100)
    assert fetch(path.as_uri(), max_bytes=100, timeout=TIMEOUT) == b"q" * 100
    with pytest.raises(FetchError) as exc:
        fetch(path.as_uri(), max_bytes=99, timeout=TIMEOUT)
    assert _reason(exc) == "too_large"
    with pytest.raises(FetchError) as exc:
        fetch((tmp_path / "missing").as_uri(), max_bytes=100, timeout=TIMEOUT)
    assert _reason(exc) == "connection"


@pytest.mark.parametrize(
    ("max_bytes", "timeout"),
    [(0, 1.0), (-1, 1.0), (1.5, 1.0), (True, 1.0), (10, 0), (10, -1.0), (10, float("inf"))],
)
def test_limits_must_be_positive(max_bytes: object, timeout: object) -> None:
    with pytest.raises(ConfigurationError):
        fetch("http://127.0.0.1/", max_bytes=max_bytes, timeout=timeout)  # type: ignore[arg-type]


# -- status lists over HTTP ---------------------------------------------------------------------


def _authority(domain: DemoDomain) -> IssuingAuthority:
    """上海市浦东新区市场监督管理局 (310115): issues 食品经营许可证 and signs its status list."""
    return domain.regions[0].authorities[0].credentials()


def _now(domain: DemoDomain) -> datetime:
    return domain.created + timedelta(minutes=1)


def _token(
    domain: DemoDomain,
    uri: str,
    *,
    issued_at: datetime | None = None,
    ttl: timedelta = timedelta(minutes=10),
    expires_at: datetime | None = None,
    revoked: bool = True,
) -> bytes:
    builder = StatusList.new(1024).builder().set(SUSPENDED_IDX, SUSPENDED)
    if revoked:
        builder.set(REVOKED, INVALID)
    auth = _authority(domain)
    return sign_status_list(
        builder.build(),
        uri=uri,
        signer=auth.signer,
        certificate=auth.certificate,
        issued_at=issued_at or domain.created,
        ttl=ttl,
        expires_at=expires_at,
    )


def _source(domain: DemoDomain, server: Server, **kw: object) -> HttpStatusSource:
    return HttpStatusSource(
        certificates=[_authority(domain).certificate],
        prefixes=(server.url("/status/"),),
        timeout=TIMEOUT,
        **kw,  # type: ignore[arg-type]
    )


def test_status_list_is_fetched_verified_and_cached_by_ttl(
    demo_domain: DemoDomain, server: Server
) -> None:
    uri = server.url("/status/1")
    created = demo_domain.created
    server.routes["/status/1"] = Reply(_token(demo_domain, uri, ttl=timedelta(minutes=10)))
    source = _source(demo_domain, server)
    assert source.status_list(uri, created).get(REVOKED) == INVALID
    assert source.status_list(uri, created + timedelta(minutes=9)).get(REVOKED) == INVALID
    assert server.requests["/status/1"] == 1
    # The publisher reinstates the licence: seen once the cached copy's ttl has passed.
    later = created + timedelta(minutes=5)
    server.routes["/status/1"] = Reply(_token(demo_domain, uri, issued_at=later, revoked=False))
    assert source.status_list(uri, created + timedelta(minutes=11)).get(REVOKED) == VALID
    assert server.requests["/status/1"] == 2
    assert source.status_list(uri, created + timedelta(minutes=12)).get(REVOKED) == VALID
    assert server.requests["/status/1"] == 2


def test_an_older_status_list_served_again_is_refused(
    demo_domain: DemoDomain, server: Server
) -> None:
    uri = server.url("/status/1")
    created = demo_domain.created
    old = _token(demo_domain, uri, issued_at=created, ttl=timedelta(days=30))
    new = _token(demo_domain, uri, issued_at=created + timedelta(hours=1), revoked=True)
    server.routes["/status/1"] = Reply(new)
    source = _source(demo_domain, server)
    assert source.status_list(uri, created + timedelta(hours=1)).get(REVOKED) == INVALID
    # A replayed list from before the revocation, still unexpired, must not undo it.
    server.routes["/status/1"] = Reply(old)
    with pytest.raises(StatusUnavailable, match="before the one held"):
        source.status_list(uri, created + timedelta(hours=2))


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (Reply(b"not here", status=404), "http_status"),
        (Reply(b"broken", status=500), "http_status"),
        (Reply(b"\x00garbage\xff" * 10), "malformed token"),
        (Reply(b"x" * 1024, repeat=64, content_length=False), "too_large"),
        (Reply(stall=True), "timeout"),
    ],
)
def test_status_list_that_cannot_be_had_is_unavailable(
    demo_domain: DemoDomain, server: Server, reply: Reply, problem: str
) -> None:
    server.routes["/status/1"] = reply
    source = _source(demo_domain, server, max_bytes=32 * 1024)
    with pytest.raises(StatusUnavailable, match=problem):
        source.status_list(server.url("/status/1"), _now(demo_domain))


def test_expired_status_list_is_unavailable(demo_domain: DemoDomain, server: Server) -> None:
    uri = server.url("/status/1")
    created = demo_domain.created
    server.routes["/status/1"] = Reply(
        _token(demo_domain, uri, ttl=timedelta(hours=1), expires_at=created + timedelta(hours=2))
    )
    source = _source(demo_domain, server)
    source.status_list(uri, created)
    with pytest.raises(StatusUnavailable, match="expired"):
        source.status_list(uri, created + timedelta(hours=3))


def test_status_list_served_for_another_uri_is_unavailable(
    demo_domain: DemoDomain, server: Server
) -> None:
    server.routes["/status/1"] = Reply(_token(demo_domain, server.url("/status/2")))
    with pytest.raises(StatusUnavailable, match="the token is for"):
        _source(demo_domain, server).status_list(server.url("/status/1"), _now(demo_domain))


def test_uri_outside_the_allowed_prefixes_is_not_fetched(
    demo_domain: DemoDomain, server: Server
) -> None:
    server.routes["/elsewhere/1"] = Reply(_token(demo_domain, server.url("/elsewhere/1")))
    source = _source(demo_domain, server)
    for uri in (server.url("/elsewhere/1"), "file:///etc/hosts", "https://zz.example.gov.cn/s"):
        with pytest.raises(StatusUnavailable, match="allowed prefix"):
            source.status_list(uri, _now(demo_domain))
    assert server.requests["/elsewhere/1"] == 0


@pytest.mark.parametrize(
    "prefixes",
    [(), ("ftp://a.cn/",), ("https://a.cn",), ("file:///",), ("https:///x/",), (3,)],
)
def test_bad_prefixes_are_a_configuration_error(
    demo_domain: DemoDomain, prefixes: tuple[object, ...]
) -> None:
    with pytest.raises(ConfigurationError):
        HttpStatusSource(
            certificates=[_authority(demo_domain).certificate],
            prefixes=prefixes,  # type: ignore[arg-type]
        )


# -- the verifier with a status list over HTTP --------------------------------------------------


def _issue(domain: DemoDomain, uri: str, idx: int, number: str) -> tuple[SealedLicence, str]:
    """A 食品经营许可证 pointing at entry ``idx`` of the list at ``uri``; its doc and QR text."""
    auth = _authority(domain)
    holder = demo._People().company("310115", "上海浦江餐饮管理有限公司")
    draft = LicenceDraft(
        type_code=FOOD.code,
        number=number,
        holder=holder,
        surface=demo._personalise(FOOD, holder, auth.issuer),
    )
    draft = replace(draft, status=StatusReference(uri, idx))
    doc = auth.issue(draft, catalogue=CATALOGUE, now=domain.created)
    return doc, auth.qr_text(doc.licence, catalogue=CATALOGUE, now=domain.created)


def _verifier(domain: DemoDomain, source: HttpStatusSource) -> Verifier:
    now = _now(domain)
    return Verifier(trust_store=domain.trust_store(), clock=lambda: now, status_source=source)


@pytest.mark.parametrize(
    ("idx", "status", "reasons"),
    [
        (GOOD, Status.PASSED, ()),
        (REVOKED, Status.FAILED, ("licence_revoked",)),
        (SUSPENDED_IDX, Status.FAILED, ("licence_suspended",)),
    ],
)
def test_verifier_checks_status_fetched_over_http(
    demo_domain: DemoDomain,
    server: Server,
    idx: int,
    status: Status,
    reasons: tuple[str, ...],
) -> None:
    uri = server.url("/status/1")
    server.routes["/status/1"] = Reply(_token(demo_domain, uri))
    doc, qr = _issue(demo_domain, uri, idx, f"SH2026HTTP{idx:04d}")
    verifier = _verifier(demo_domain, _source(demo_domain, server))
    for result in (verifier.verify(doc.to_json()), verifier.verify(qr)):
        assert result.status is status, result.reasons
        assert result.reasons == reasons
    assert server.requests["/status/1"] == 1  # the second verification used the cache


@pytest.mark.parametrize("failure", ["down", "500", "garbage", "slow"])
def test_verifier_is_indeterminate_when_the_status_server_fails(
    demo_domain: DemoDomain, server: Server, failure: str
) -> None:
    uri = server.url("/status/1")
    if failure == "500":
        server.routes["/status/1"] = Reply(b"oops", status=500)
    elif failure == "garbage":
        server.routes["/status/1"] = Reply(b"\xa1\x00garbage")
    elif failure == "slow":
        server.routes["/status/1"] = Reply(stall=True)
    doc, qr = _issue(demo_domain, uri, REVOKED, "SH2026HTTP0007")
    verifier = _verifier(demo_domain, _source(demo_domain, server))
    if failure == "down":
        server.close()
    for result in (verifier.verify(doc.to_json()), verifier.verify(qr)):
        assert result.status is Status.INDETERMINATE
        assert result.reasons == ("status_unavailable",)
        assert result.check("status").status is CheckStatus.INDETERMINATE


# -- trust lists and rule sets over HTTP --------------------------------------------------------


def test_trust_list_loads_from_a_url(demo_domain: DemoDomain, server: Server) -> None:
    shanghai = demo_domain.regions[0]
    server.routes["/trust/310000.cose"] = Reply(demo_domain.trust_lists["310000"])
    now = _now(demo_domain)
    loader = TrustListLoader(anchors=[shanghai.root], clock=lambda: now)
    trust_list = loader.load_url(server.url("/trust/310000.cose"), timeout=TIMEOUT)
    assert trust_list.region == "310000"
    assert loader.current() == (trust_list,)
    uscc = shanghai.authorities[0].issuer.code
    assert loader.issuer_may_issue(uscc, FOOD.code)


def test_trust_list_from_a_url_gets_the_same_checks(
    demo_domain: DemoDomain, server: Server
) -> None:
    anhui = demo_domain.regions[1]
    server.routes["/trust/310000.cose"] = Reply(demo_domain.trust_lists["310000"])
    server.routes["/trust/garbage"] = Reply(b"\x00" * 40)
    now = _now(demo_domain)
    loader = TrustListLoader(anchors=[anhui.root], clock=lambda: now)
    with pytest.raises(TrustListError) as refused:
        loader.load_url(server.url("/trust/310000.cose"), timeout=TIMEOUT)
    assert refused.value.reason == "trust_list_untrusted_anchor"
    with pytest.raises(TrustListError) as malformed:
        loader.load_url(server.url("/trust/garbage"), timeout=TIMEOUT)
    assert malformed.value.reason == "trust_list_malformed"
    assert loader.current() == ()


def test_trust_list_url_failures_are_fetch_errors(demo_domain: DemoDomain, server: Server) -> None:
    server.routes["/trust/310000.cose"] = Reply(demo_domain.trust_lists["310000"])
    now = _now(demo_domain)
    loader = TrustListLoader(anchors=[demo_domain.regions[0].root], clock=lambda: now)
    size = len(demo_domain.trust_lists["310000"])
    with pytest.raises(FetchError) as exc:
        loader.load_url(server.url("/trust/310000.cose"), max_bytes=size - 1, timeout=TIMEOUT)
    assert _reason(exc) == "too_large"
    with pytest.raises(FetchError) as exc:
        loader.load_url(server.url("/trust/missing.cose"), timeout=TIMEOUT)
    assert _reason(exc) == "http_status"
    assert loader.current() == ()


def _rule_loader(domain: DemoDomain, region: str) -> RuleSetLoader:
    now = _now(domain)
    return RuleSetLoader(authorities={region: [domain.rule_authorities[region]]}, clock=lambda: now)


def test_rule_set_loads_from_a_url(demo_domain: DemoDomain, server: Server) -> None:
    server.routes["/rules/340000.cose"] = Reply(demo_domain.rule_sets["340000"])
    loader = _rule_loader(demo_domain, "340000")
    rule_set = loader.load_url(server.url("/rules/340000.cose"), timeout=TIMEOUT)
    assert rule_set.region == "340000"
    assert loader.current() == (rule_set,)
    assert loader.rules_for("340000", FOOD.code, _now(demo_domain))


def test_rule_set_from_a_url_gets_the_same_checks(demo_domain: DemoDomain, server: Server) -> None:
    server.routes["/rules/340000.cose"] = Reply(demo_domain.rule_sets["340000"])
    server.routes["/rules/garbage"] = Reply(b"{not cbor")
    # Signed by 安徽's authority, but this loader trusts only 上海's for 340000.
    now = _now(demo_domain)
    loader = RuleSetLoader(
        authorities={"340000": [demo_domain.rule_authorities["310000"]]}, clock=lambda: now
    )
    with pytest.raises(RuleSetError) as refused:
        loader.load_url(server.url("/rules/340000.cose"), timeout=TIMEOUT)
    assert refused.value.reason == "rule_set_untrusted_signer"
    with pytest.raises(RuleSetError) as malformed:
        loader.load_url(server.url("/rules/garbage"), timeout=TIMEOUT)
    assert malformed.value.reason == "rule_set_malformed"
    with pytest.raises(FetchError) as exc:
        loader.load_url(server.url("/rules/missing.cose"), timeout=TIMEOUT)
    assert _reason(exc) == "http_status"
    assert loader.current() == ()
