"""``ezz trust``, ``ezz status`` and ``ezz rules``: success paths, bad input, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ezhengzhao import demo
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.cli import main
from ezhengzhao.registry import SQLiteRegistry
from ezhengzhao.rules.rulesets import RuleSetLoader
from ezhengzhao.sign.suites import SM2_SM3
from ezhengzhao.sign.x509 import Certificate
from ezhengzhao.status.codec import INVALID, SUSPENDED, VALID, read_status_list_token
from ezhengzhao.status.source import FileStatusSource
from ezhengzhao.trust.lists import TrustListLoader

STATUS_BASE = "https://zz.example.gov.cn/310000/status"
RULES_JSON = Path(__file__).resolve().parents[2] / "ezhengzhao" / "rules" / "data" / "340000.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@dataclass(frozen=True)
class Pki:
    """Files on disk: a national anchor (made with ezz keygen/cert) and the demo's 上海."""

    dir: Path
    region: demo.Region

    def path(self, name: str) -> str:
        return str(self.dir / name)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    for argv in (
        ["keygen", "--out", str(folder / "anchor.key.pem")],
        [
            "cert",
            "--key",
            str(folder / "anchor.key.pem"),
            "--cn",
            "国家电子证照信任服务",
            "--ca",
            "--out",
            str(folder / "anchor.pem"),
        ],
        ["keygen", "--out", str(folder / "other.key.pem")],
    ):
        assert main(argv) == 0
    region = demo._region(demo.REGIONS[0], datetime.now(UTC))
    authority = region.authorities[0]
    (folder / "signer.pem").write_bytes(authority.certificates[SM2_SM3].to_pem())
    (folder / "signer.key.pem").write_bytes(authority.keys[SM2_SM3].to_pem())
    return Pki(folder, region)


def _spec(pki: Pki, **changes: object) -> dict[str, object]:
    now = datetime.now(UTC).replace(microsecond=0)
    authority = pki.region.authorities[0]
    entry: dict[str, object] = {
        "uscc": authority.issuer.code,
        "name": authority.issuer.name,
        "region": authority.issuer.region_code,
        "level": authority.issuer.level,
        "certificates": ["signer.pem"],
        "licence_types": ["食品经营许可证", Catalogue.builtin().by_name("营业执照").code],
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
    }
    spec: dict[str, object] = {
        "issuer": "国家电子证照信任服务",
        "region": "000000",
        "sequence": 1,
        "issued_at": (now - timedelta(hours=1)).isoformat(),
        "next_update": (now + timedelta(days=30)).isoformat(),
        "roots": ["anchor.pem"],
        "entries": [entry],
    }
    for key, value in changes.items():
        if key.startswith("entry_"):
            entry[key[6:]] = value
        else:
            spec[key] = value
    return spec


def _write_spec(pki: Pki, name: str, spec: dict[str, object]) -> str:
    path = pki.dir / name
    path.write_text(json.dumps(spec, ensure_ascii=False))
    return str(path)


def _sign_list(pki: Pki, spec: str, out: str) -> int:
    """``ezz trust sign`` with the anchor's key; the exit code."""
    key, cert = pki.path("anchor.key.pem"), pki.path("anchor.pem")
    return main(["trust", "sign", spec, "--key", key, "--cert", cert, "--out", out])


# ---------------------------------------------------------------- ezz trust


def test_console_script_lists_the_commands() -> None:
    exe = Path(sys.executable).parent / "ezz"
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    for command in ("trust", "status", "rules"):
        assert command in proc.stdout


def test_trust_build_sign_inspect(capsys: pytest.CaptureFixture[str], pki: Pki) -> None:
    spec = _write_spec(pki, "spec.json", _spec(pki))
    code, out, err = run(capsys, "trust", "build", spec, "--out", pki.path("list.cbor"))
    assert code == 0, err
    assert "#1 (1 entries)" in out
    code, _, err = run(
        capsys,
        "trust",
        "sign",
        pki.path("list.cbor"),
        "--key",
        pki.path("anchor.key.pem"),
        "--cert",
        pki.path("anchor.pem"),
        "--out",
        pki.path("list.cose"),
    )
    assert code == 0, err

    # The library accepts what the command signed, and the entry says what the spec said.
    anchor = Certificate.from_pem((pki.dir / "anchor.pem").read_bytes())
    loader = TrustListLoader(anchors=[anchor])
    trust_list = loader.load((pki.dir / "list.cose").read_bytes())
    authority = pki.region.authorities[0].issuer
    food = Catalogue.builtin().by_name("食品经营许可证").code
    assert loader.issuer_may_issue(authority.code, food)
    assert trust_list.roots == (anchor,)

    code, out, _ = run(
        capsys, "trust", "inspect", pki.path("list.cose"), "--anchor", pki.path("anchor.pem")
    )
    assert code == 0
    assert "✓ verified with anchor 国家电子证照信任服务" in out
    assert authority.name in out and "食品经营许可证" in out

    code, out, _ = run(capsys, "trust", "inspect", pki.path("list.cose"), "--json")
    view = json.loads(out)
    assert code == 0
    assert view["signature"] == {"checked": False, "detail": "not checked: no --anchor given"}
    assert view["entries"][0]["uscc"] == authority.code
    assert view["sequence"] == 1


def test_trust_sign_accepts_the_json_description(
    capsys: pytest.CaptureFixture[str], pki: Pki
) -> None:
    spec = _write_spec(pki, "spec2.json", _spec(pki, sequence=2))
    code, _, err = run(
        capsys,
        "trust",
        "sign",
        spec,
        "--key",
        pki.path("anchor.key.pem"),
        "--cert",
        pki.path("anchor.pem"),
        "--out",
        pki.path("list2.cose"),
    )
    assert code == 0, err
    code, out, _ = run(
        capsys,
        "trust",
        "inspect",
        pki.path("list2.cose"),
        "--anchor",
        pki.path("anchor.pem"),
        "--json",
    )
    assert code == 0 and json.loads(out)["sequence"] == 2


def test_trust_inspect_refuses_the_wrong_anchor_and_a_rollback(
    capsys: pytest.CaptureFixture[str], pki: Pki
) -> None:
    for sequence in (1, 2):
        spec = _write_spec(pki, f"rb{sequence}.json", _spec(pki, sequence=sequence))
        assert _sign_list(pki, spec, pki.path(f"rb{sequence}.cose")) == 0
    capsys.readouterr()
    code, out, _ = run(
        capsys, "trust", "inspect", pki.path("rb1.cose"), "--anchor", pki.path("signer.pem")
    )
    assert code == 1
    assert "trust_list_untrusted_anchor" in out
    code, out, _ = run(
        capsys,
        "trust",
        "inspect",
        pki.path("rb1.cose"),
        "--anchor",
        pki.path("anchor.pem"),
        "--previous",
        pki.path("rb2.cose"),
    )
    assert code == 1
    assert "trust_list_rollback" in out


def test_trust_inspect_says_stale(capsys: pytest.CaptureFixture[str], pki: Pki) -> None:
    spec = _write_spec(pki, "stale.json", _spec(pki))
    assert _sign_list(pki, spec, pki.path("stale.cose")) == 0
    capsys.readouterr()
    later = (datetime.now(UTC) + timedelta(days=40)).isoformat()
    code, out, _ = run(
        capsys,
        "trust",
        "inspect",
        pki.path("stale.cose"),
        "--anchor",
        pki.path("anchor.pem"),
        "--at",
        later,
        "--json",
    )
    assert code == 2
    assert json.loads(out)["signature"]["reason"] == "trust_list_stale"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sequence": "1"}, "sequence: must be a whole number"),
        ({"entry_level": "村级"}, "entries[0]: trust list entry"),
        ({"entry_nom": "x"}, "entries[0].nom: unknown field"),
        ({"entry_certificates": ["missing.pem"]}, "entries[0].certificates[0]: cannot read"),
        ({"entry_licence_types": ["披萨许可证"]}, "entries[0].licence_types[0]"),
        ({"issued_at": "2026-06-01"}, "issued_at: '2026-06-01' needs a time zone offset"),
        ({"entries": []}, "entries: must be a non-empty list"),
        ({"region": "999999"}, "is not a 行政区划代码"),
    ],
)
def test_trust_build_names_the_bad_field(
    capsys: pytest.CaptureFixture[str], pki: Pki, changes: dict[str, object], message: str
) -> None:
    spec = _write_spec(pki, "bad.json", _spec(pki, **changes))
    code, _, err = run(capsys, "trust", "build", spec, "--out", pki.path("bad.cbor"))
    assert code == 3
    assert message in err, err
    assert "Traceback" not in err
    assert not (pki.dir / "bad.cbor").exists()


def test_trust_bad_input(capsys: pytest.CaptureFixture[str], pki: Pki) -> None:
    (pki.dir / "broken.json").write_text('{"issuer": ')
    code, _, err = run(capsys, "trust", "build", pki.path("broken.json"), "--out", pki.path("x"))
    assert code == 3 and "broken.json is malformed" in err

    spec = _write_spec(pki, "ok.json", _spec(pki))
    assert main(["trust", "build", spec, "--out", pki.path("ok.cbor")]) == 0
    capsys.readouterr()
    # Signing with a key that is not the certificate's.
    code, _, err = run(
        capsys,
        "trust",
        "sign",
        pki.path("ok.cbor"),
        "--key",
        pki.path("other.key.pem"),
        "--cert",
        pki.path("anchor.pem"),
        "--out",
        pki.path("x.cose"),
    )
    assert code == 3 and "is not the key of the certificate" in err
    # An anchor whose CN is not the list's issuer.
    code, _, err = run(
        capsys,
        "trust",
        "sign",
        pki.path("ok.cbor"),
        "--key",
        pki.path("signer.key.pem"),
        "--cert",
        pki.path("signer.pem"),
        "--out",
        pki.path("x.cose"),
    )
    assert code == 3 and "is not the anchor certificate's CN" in err
    # The unsigned list given to inspect, and a signed one given to sign.
    code, _, err = run(capsys, "trust", "inspect", pki.path("ok.cbor"))
    assert code == 3 and "not a signed trust list" in err
    assert (
        main(
            [
                "trust",
                "sign",
                pki.path("ok.cbor"),
                "--key",
                pki.path("anchor.key.pem"),
                "--cert",
                pki.path("anchor.pem"),
                "--out",
                pki.path("ok.cose"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    code, _, err = run(
        capsys,
        "trust",
        "sign",
        pki.path("ok.cose"),
        "--key",
        pki.path("anchor.key.pem"),
        "--cert",
        pki.path("anchor.pem"),
        "--out",
        pki.path("x.cose"),
    )
    assert code == 3 and "already signed" in err
    assert not (pki.dir / "x.cose").exists()


# ---------------------------------------------------------------- ezz status


@pytest.fixture
def registry(tmp_path: Path, pki: Pki) -> Iterator[tuple[Path, list[str]]]:
    """A registry file holding three licences of 上海市浦东新区市场监督管理局."""
    catalogue = Catalogue.builtin()
    food = catalogue.by_name("食品经营许可证")
    authority = pki.region.authorities[0]
    people = demo._People()
    path = tmp_path / "registry.db"
    ids = []
    with SQLiteRegistry(path, list_size=1024) as reg:
        for n in range(3):
            holder = people.company("310000", f"上海测试{n}号餐饮有限公司")
            draft = demo._draft(
                food, holder, authority.issuer, f"JY131011500{n:04d}", datetime.now(UTC).date()
            )
            sealed = reg.issue(
                draft,
                authority=authority.credentials(),
                catalogue=catalogue,
                request_id=f"r{n}",
                status_uri=STATUS_BASE,
            )
            ids.append(sealed.licence.licence_id)
    yield path, ids


def test_status_changes_and_publish(
    capsys: pytest.CaptureFixture[str], pki: Pki, registry: tuple[Path, list[str]]
) -> None:
    db, (revoked, suspended, valid) = str(registry[0]), registry[1]
    code, out, err = run(
        capsys, "status", "revoke", "--registry", db, revoked, "--code", "07", "--reason", "吊销"
    )
    assert code == 0, err
    assert "revoked (07 吊销)" in out
    code, out, _ = run(capsys, "status", "suspend", "--registry", db, suspended, "--reason", "整改")
    assert code == 0 and "suspended" in out
    code, out, _ = run(capsys, "status", "show", "--registry", db, revoked, "--json")
    view = json.loads(out)
    assert code == 0
    assert view["status"] == INVALID
    assert [(h["event"], h["code"]) for h in view["history"]] == [
        ("issued", None),
        ("revoked", "07"),
    ]
    uri = view["status_list"]["uri"]

    out_dir = pki.dir / "published"
    code, _, err = run(
        capsys,
        "status",
        "publish",
        "--registry",
        db,
        "--uri",
        uri,
        "--key",
        pki.path("signer.key.pem"),
        "--cert",
        pki.path("signer.pem"),
        "--out",
        str(out_dir / "sh-1.cwt"),
        "--ttl",
        "3600",
        "--update-index",
    )
    assert code == 0, err
    assert json.loads((out_dir / "index.json").read_text()) == {uri: "sh-1.cwt"}
    token = read_status_list_token((out_dir / "sh-1.cwt").read_bytes())
    assert token.uri == uri and token.ttl == timedelta(hours=1)

    # What a verifier's status source reads from the published folder.
    signer = Certificate.from_pem((pki.dir / "signer.pem").read_bytes())
    source = FileStatusSource.from_directory(out_dir, [signer])
    statuses = source.status_list(uri, datetime.now(UTC))
    idx: dict[str, int] = {}
    with SQLiteRegistry(registry[0]) as reg:
        for licence_id in (revoked, suspended, valid):
            reference = reg.get(licence_id).licence.status
            assert reference is not None and reference.uri == uri
            idx[licence_id] = reference.idx
    assert [statuses.get(idx[i]) for i in (revoked, suspended, valid)] == [
        INVALID,
        SUSPENDED,
        VALID,
    ]

    # status inspect: exit 1 for a revoked or suspended entry, 0 for a valid one.
    for licence_id, expected_code, reason in (
        (revoked, 1, "licence_revoked"),
        (suspended, 1, "licence_suspended"),
        (valid, 0, "ok"),
    ):
        code, out, _ = run(
            capsys,
            "status",
            "inspect",
            str(out_dir / "sh-1.cwt"),
            "--cert",
            pki.path("signer.pem"),
            "--idx",
            str(idx[licence_id]),
            "--json",
        )
        assert code == expected_code
        assert json.loads(out)["lookups"][0]["reason"] == reason
    code, out, _ = run(
        capsys,
        "status",
        "inspect",
        str(out_dir / "sh-1.cwt"),
        "--cert",
        pki.path("signer.pem"),
        "--idx",
        "1024",
    )
    assert code == 1 and "outside the list  (status_index_invalid)" in out
    code, out, _ = run(
        capsys, "status", "inspect", str(out_dir / "sh-1.cwt"), "--cert", pki.path("anchor.pem")
    )
    assert code == 2 and "status_unavailable" in out

    code, out, _ = run(capsys, "status", "reinstate", "--registry", db, suspended, "--reason", "ok")
    assert code == 0 and "reinstated" in out


def test_status_bad_input(
    capsys: pytest.CaptureFixture[str], pki: Pki, registry: tuple[Path, list[str]], tmp_path: Path
) -> None:
    db, ids = str(registry[0]), registry[1]
    code, _, err = run(
        capsys, "status", "revoke", "--registry", db, "1.2.156.nope", "--reason", "x"
    )
    assert code == 3 and "no licence 1.2.156.nope in the registry" in err
    missing = str(tmp_path / "missing.db")
    code, _, err = run(capsys, "status", "suspend", "--registry", missing, ids[0], "--reason", "x")
    assert code == 3 and "no registry database at" in err
    assert not Path(missing).exists(), "a typo must not create an empty registry"
    (tmp_path / "text.db").write_text("not a database")
    code, _, err = run(capsys, "status", "show", "--registry", str(tmp_path / "text.db"), ids[0])
    assert code == 3 and "is not a usable registry database" in err
    code, _, err = run(capsys, "status", "reinstate", "--registry", db, ids[0], "--reason", "x")
    assert code == 3 and "is not suspended" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["status", "revoke", "--registry", db, ids[0], "--code", "06", "--reason", "x"])
    assert exit_info.value.code == 3
    assert "invalid choice: '06'" in capsys.readouterr().err
    code, _, err = run(
        capsys,
        "status",
        "publish",
        "--registry",
        db,
        "--uri",
        "https://other.example/1",
        "--key",
        pki.path("signer.key.pem"),
        "--cert",
        pki.path("signer.pem"),
        "--out",
        str(tmp_path / "x.cwt"),
    )
    assert code == 3 and "no status list https://other.example/1" in err
    code, _, err = run(
        capsys,
        "status",
        "publish",
        "--registry",
        db,
        "--uri",
        STATUS_BASE + "/1",
        "--key",
        pki.path("other.key.pem"),
        "--cert",
        pki.path("signer.pem"),
        "--out",
        str(tmp_path / "x.cwt"),
    )
    assert code == 3 and "is not the key of the certificate" in err
    assert not (tmp_path / "x.cwt").exists()
    code, _, err = run(capsys, "status", "inspect", pki.path("anchor.pem"))
    assert code == 3 and "is not a status list token" in err


# ---------------------------------------------------------------- ezz rules


def _rule_data(end: str = "2030-12-31", level: str = "区县级") -> dict[str, object]:
    food = Catalogue.builtin().by_name("食品经营许可证").code
    return {
        "payload": {
            "licence": {
                "id": "x",
                "type_code": food,
                "issuer": {"code": "11310115002470110L", "region_code": "310115", "level": level},
                "validity": {"start": "2026-01-01", "end": end},
                "holder": {"code_type": "001"},
            }
        },
        "external": {
            "validationClock": "2026-06-10T16:00:00+08:00",
            "verifierRegion": "340104",
            "issuerRegion": "310000",
            "issuerLevel": level,
            "useCase": "",
            "valueSets": {},
        },
    }


@pytest.fixture
def signed_rules(capsys: pytest.CaptureFixture[str], pki: Pki, tmp_path: Path) -> Path:
    out = tmp_path / "340000.cose"
    code, text, err = run(
        capsys,
        "rules",
        "sign",
        str(RULES_JSON),
        "--key",
        pki.path("signer.key.pem"),
        "--cert",
        pki.path("signer.pem"),
        "--out",
        str(out),
    )
    assert code == 0, err
    assert "rule set 340000 v1 (5 rules) signed" in text
    return out


def test_rules_sign_inspect_test(
    capsys: pytest.CaptureFixture[str], pki: Pki, signed_rules: Path, tmp_path: Path
) -> None:
    signer = Certificate.from_pem((pki.dir / "signer.pem").read_bytes())
    loader = RuleSetLoader(authorities={"340000": [signer]})
    assert loader.load(signed_rules.read_bytes()).version == 1

    code, out, _ = run(
        capsys, "rules", "inspect", str(signed_rules), "--authority", pki.path("signer.pem")
    )
    assert code == 0
    assert "✓ verified for region 340000" in out and "MR-340000-0002" in out
    code, out, _ = run(
        capsys,
        "rules",
        "inspect",
        str(signed_rules),
        "--authority",
        pki.path("anchor.pem"),
        "--json",
    )
    assert code == 1
    assert json.loads(out)["signature"]["reason"] == "rule_set_untrusted_signer"

    data = tmp_path / "data.json"
    data.write_text(json.dumps(_rule_data(), ensure_ascii=False))
    code, out, err = run(
        capsys,
        "rules",
        "test",
        str(signed_rules),
        "--data",
        str(data),
        "--authority",
        pki.path("signer.pem"),
        "--applicable",
    )
    assert code == 0, err
    assert "3 rule(s): 3 passed, 0 failed, 0 cannot tell" in out
    # Every rule, not only the applicable ones: the 驾驶证 rule fails on a food licence.
    code, out, _ = run(
        capsys,
        "rules",
        "test",
        str(signed_rules),
        "--data",
        str(data),
        "--authority",
        pki.path("signer.pem"),
        "--json",
    )
    outcomes = {o["identifier"]: o["passed"] for o in json.loads(out)["outcomes"]}
    assert code == 1
    assert outcomes["MR-340000-0003"] is False and outcomes["MR-340000-0002"] is True

    data.write_text(json.dumps(_rule_data(end="2031-12-31"), ensure_ascii=False))
    code, out, _ = run(
        capsys,
        "rules",
        "test",
        str(signed_rules),
        "--data",
        str(data),
        "--authority",
        pki.path("signer.pem"),
        "--rule",
        "IR-340000-0001",
    )
    assert code == 1
    assert "✗ FAILED" in out and "IR-340000-0001" in out and "1 failed" in out

    # Unsigned JSON is fine for trying rules out, but never passes for signed.
    code, _, err = run(
        capsys, "rules", "test", str(RULES_JSON), "--data", str(data), "--rule", "MR-340000-0002"
    )
    assert code == 0, err
    code, _, err = run(
        capsys,
        "rules",
        "test",
        str(RULES_JSON),
        "--data",
        str(data),
        "--authority",
        pki.path("signer.pem"),
    )
    assert code == 1 and "rule set refused, rule_set_malformed" in err


def test_rules_wrong_key_and_bad_input(
    capsys: pytest.CaptureFixture[str], pki: Pki, signed_rules: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data.json"
    data.write_text(json.dumps(_rule_data(), ensure_ascii=False))
    code, _, err = run(
        capsys,
        "rules",
        "test",
        str(signed_rules),
        "--data",
        str(data),
        "--authority",
        pki.path("anchor.pem"),
    )
    assert code == 1 and "rule set refused, rule_set_untrusted_signer" in err

    code, _, err = run(
        capsys,
        "rules",
        "sign",
        str(RULES_JSON),
        "--key",
        pki.path("other.key.pem"),
        "--cert",
        pki.path("signer.pem"),
        "--out",
        str(tmp_path / "x.cose"),
    )
    assert code == 3 and "is not the key of the certificate" in err

    # A rule that fails CertLogic validation: refused, naming the field.
    rules = json.loads(RULES_JSON.read_text())
    rules["rules"][1]["Logic"] = {"<": [{"var": "external.issuerLevel"}]}
    bad = tmp_path / "bad-rules.json"
    bad.write_text(json.dumps(rules, ensure_ascii=False))
    code, _, err = run(
        capsys,
        "rules",
        "sign",
        str(bad),
        "--key",
        pki.path("signer.key.pem"),
        "--cert",
        pki.path("signer.pem"),
        "--out",
        str(tmp_path / "x.cose"),
    )
    assert code == 3 and "rules[1].Logic" in err and "invalid CertLogic" in err
    assert not (tmp_path / "x.cose").exists()

    (tmp_path / "broken.json").write_text("{")
    code, _, err = run(
        capsys, "rules", "test", str(signed_rules), "--data", str(tmp_path / "broken.json")
    )
    assert code == 3 and "broken.json is malformed" in err
    (tmp_path / "odd.json").write_text('{"payload": {}, "extra": 1}')
    code, _, err = run(
        capsys, "rules", "test", str(signed_rules), "--data", str(tmp_path / "odd.json")
    )
    assert code == 3 and "unknown field 'extra'" in err
    code, _, err = run(
        capsys, "rules", "test", str(signed_rules), "--data", str(data), "--rule", "MR-340000-9999"
    )
    assert code == 3 and "no rule MR-340000-9999" in err
    code, _, err = run(capsys, "rules", "inspect", pki.path("anchor.pem"))
    assert code == 3 and "neither a signed rule set" in err
    code, _, err = run(
        capsys,
        "rules",
        "sign",
        str(signed_rules),
        "--key",
        pki.path("signer.key.pem"),
        "--cert",
        pki.path("signer.pem"),
        "--out",
        str(tmp_path / "x.cose"),
    )
    assert code == 3 and "already signed" in err
