"""The window page (窗口核验页) in a real Chromium against a real service process.

Flows: the scanner gun (text + Enter), a pasted sealed document, photo upload (one and
several codes), the camera (Chromium's fake capture playing a video of a QR code), the
session set-up and the errors a clerk can meet. Each flow leaves a screenshot in
tests/browser/artifacts/.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import httpx
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect

from ezhengzhao.result import REASONS
from tests.browser.conftest import (
    WINDOW_SESSION,
    Samples,
    Service,
    camera_sample,
    withheld_sample,
)

GREEN = "rgb(19, 115, 51)"
RED = "rgb(179, 38, 30)"
AMBER = "rgb(232, 161, 0)"


def shot(page: Page, artifacts: Path, name: str) -> None:
    """A full-page screenshot, with the cards' entry animation settled."""
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True, animations="disabled")


def scan(page: Page, text: str) -> None:
    """What a scanner gun does: type the code into the focused field, then Enter."""
    expect(page.locator("#scan-input")).to_be_focused()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def scan_verified(page: Page, text: str) -> None:
    """Scan, and wait until the verification has joined the session's history."""
    history = page.locator("#history-list .history-item")
    before = history.count()
    scan(page, text)
    expect(history).to_have_count(before + 1)


def verdict(page: Page) -> str:
    """The verdict word of the single card on show, once it is there."""
    card = page.locator("#verdict .card")
    expect(card).to_have_count(1)
    return card.locator(".verdict-word").inner_text().replace(" ", "")


def api_verdict(service: Service, text: str) -> dict[str, object]:
    """The service's own answer for a QR text: the flows check the page shows it."""
    answer = httpx.post(
        service.url("/v1/verify"),
        json={"document": text, **WINDOW_SESSION},
        headers={"Authorization": f"Bearer {service.window_key}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    display = answer.json()["result"]["display"]
    assert isinstance(display, dict)
    return display


def valid_qr(samples: Samples, service: Service) -> tuple[dict[str, object], str]:
    """A QR sample the service finds valid in its region (some are valid only elsewhere)."""
    for entry in samples.qr_samples("PASSED"):
        text = samples.text(entry)
        if api_verdict(service, text)["verdict"] == "PASSED":
            return entry, text
    raise AssertionError("the service accepts none of the demo's valid QR samples")


# ------------------------------------------------------------------------------- the page


def test_page_and_assets_are_served_with_security_headers(service: Service) -> None:
    page = httpx.get(service.url("/window"), timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "img-src 'self' data:" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "camera=(self)" in page.headers["permissions-policy"]
    assert "电子证照窗口核验" in page.text
    for name, kind in (("window.js", "javascript"), ("window.css", "css"), ("icon.svg", "svg")):
        asset = httpx.get(service.url(f"/window/static/{name}"), timeout=10)
        assert asset.status_code == 200, name
        assert kind in asset.headers["content-type"]
        # Nothing from outside the service: no CDN, no web fonts.
        assert not re.search(r"(src|href)=\"?https?:|url\(\s*['\"]?https?:|@import", asset.text)
    assert not re.search(r"(src|href)=\"?(https?:)?//", page.text)


def test_unknown_asset_is_a_json_404(service: Service) -> None:
    for name in ("nothing.js", "..%2Fviews.py", "window.html"):
        answer = httpx.get(service.url(f"/window/static/{name}"), timeout=10)
        assert answer.status_code == 404, name
        assert answer.json()["code"] == "not_found"


# ---------------------------------------------------------------------- session set-up


def test_setup_takes_the_key_from_the_link_and_hides_it(
    context: BrowserContext, service: Service, artifacts: Path
) -> None:
    page = context.new_page()
    page.goto(service.url(f"/window#key={service.window_key}"))
    expect(page.locator("#setup")).to_be_visible()
    assert "key=" not in page.url
    expect(page.locator("#setup-key")).to_have_value(service.window_key)
    expect(page.locator("#setup-clerk")).to_be_focused()
    page.fill("#setup-clerk", "  ")
    page.click("#setup-submit")
    expect(page.locator("#setup-error")).to_contain_text("经办人")
    expect(page.locator("#setup-error")).to_contain_text("事项编码")
    expect(page.locator("#setup-error")).to_contain_text("用证事由")
    expect(page.locator("#workspace")).to_be_hidden()
    page.fill("#setup-cause", "核" * 250)
    expect(page.locator("#setup-cause")).to_have_value("核" * 200)
    expect(page.locator("#cause-counter")).to_have_text("200/200")
    shot(page, artifacts, "0-session-setup")

    page.fill("#setup-clerk", WINDOW_SESSION["clerk"])
    page.fill("#setup-item", WINDOW_SESSION["item_code"])
    page.fill("#setup-cause", WINDOW_SESSION["use_cause"])
    page.keyboard.press("Enter")
    expect(page.locator("#scan-input")).to_be_focused()
    expect(page.locator("#info-clerk")).to_have_text(WINDOW_SESSION["clerk"])
    expect(page.locator("#info-item")).to_have_text(WINDOW_SESSION["item_code"])

    # The session survives a reload of the tab, and the key never returns to the address bar.
    page.reload()
    expect(page.locator("#workspace")).to_be_visible()
    expect(page.locator("#info-cause")).to_have_text(WINDOW_SESSION["use_cause"])
    assert "key=" not in page.url

    page.click("#end-session")
    expect(page.locator("#setup")).to_be_visible()
    expect(page.locator("#setup-key")).to_have_value("")


# ------------------------------------------------------------------------- scanner gun


def test_scanner_gun_flow(page: Page, service: Service, samples: Samples, artifacts: Path) -> None:
    valid, valid_text = valid_qr(samples, service)
    scan_verified(page, valid_text)
    assert verdict(page) == "有效"
    card = page.locator("#verdict .card")
    expect(card).to_have_attribute("data-verdict", "PASSED")
    expect(card.locator(".verdict-mark")).to_have_css("background-color", GREEN)
    expect(card.locator(".card-title")).to_have_text(str(valid["licence_type"]))
    expect(card.locator(".card-holder")).to_contain_text(str(valid["holder"]))
    expect(card.locator(".reasons")).to_be_hidden()
    expect(card.locator(".fields dt").first).to_be_visible()
    expect(card.locator(".facts")).to_contain_text("有效期")
    expect(page.locator("#verdict-announce")).to_contain_text("核验结果：有效")
    # Ready for the next scan at once: the field is empty and still focused.
    expect(page.locator("#scan-input")).to_have_value("")
    expect(page.locator("#scan-input")).to_be_focused()
    shot(page, artifacts, "1-scanner-valid")

    invalid = samples.qr_samples("FAILED")[0]
    reason = str(invalid["expected_reasons"][0])  # type: ignore[index]
    scan_verified(page, samples.text(invalid))
    assert verdict(page) == "无效"
    card = page.locator("#verdict .card")
    expect(card.locator(".verdict-mark")).to_have_css("background-color", RED)
    expect(card.locator(".reason-list")).to_contain_text(REASONS[reason].zh)
    shot(page, artifacts, "2-scanner-invalid")

    scan_verified(page, "EZZ1:THIS-IS-NOT-A-LICENCE")
    assert verdict(page) == "无效"
    expect(page.locator("#verdict .card .verdict-mark")).to_have_css("background-color", RED)
    expect(page.locator("#verdict .card .reason-list li")).not_to_have_count(0)
    shot(page, artifacts, "3-scanner-garbage")

    history = page.locator("#history-list .history-item")
    expect(history).to_have_count(3)
    # Newest first.
    expect(history.nth(0)).to_have_attribute("data-verdict", "FAILED")
    expect(history.nth(1)).to_have_attribute("data-verdict", "FAILED")
    expect(history.nth(1)).to_contain_text(str(invalid["licence_type"]))
    expect(history.nth(2)).to_have_attribute("data-verdict", "PASSED")
    expect(history.nth(2)).to_contain_text(str(valid["licence_type"]))
    expect(history.nth(2)).to_contain_text(str(valid["holder"]))
    expect(page.locator("#history-count")).to_have_text("3")

    # A click on an old entry shows it again without a new verification.
    history.nth(2).click()
    expect(page.locator("#verdict .card .verdict-note")).to_contain_text("历史记录")
    assert verdict(page) == "有效"
    expect(history).to_have_count(3)
    shot(page, artifacts, "4-history")

    # The history lasts as long as the tab: a reload keeps it.
    page.reload()
    expect(history).to_have_count(3)
    history.nth(1).click()
    assert verdict(page) == "无效"
    expect(page.locator("#verdict .card .reason-list")).to_contain_text(REASONS[reason].zh)


def paste(page: Page, text: str) -> None:
    """Paste ``text`` into the scan field, as Ctrl+V from the clipboard does."""
    page.evaluate(
        """(text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            const input = document.getElementById("scan-input");
            input.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true,
                                                             cancelable: true}));
        }""",
        text,
    )


def test_pasted_sealed_document_shows_revocation_and_seal(
    page: Page, samples: Samples, artifacts: Path
) -> None:
    revoked = samples.status_sample("licence_revoked")
    # Pretty-printed, as a sealed document opened in an editor and copied: a one-line field
    # would mangle it, so the page must take it from the clipboard as it is.
    document = json.dumps(json.loads(samples.text(revoked)), ensure_ascii=False, indent=2)
    paste(page, document)
    assert verdict(page) == "无效"
    card = page.locator("#verdict .card")
    expect(card.locator(".reason-list")).to_contain_text(REASONS["licence_revoked"].zh)
    expect(card.locator(".verdict-note")).to_contain_text("粘贴")
    expect(card.locator(".card-holder")).to_contain_text(str(revoked["holder"]))
    issuer = json.loads(document)["licence"]["issuer"]["name"]
    expect(card.locator(".facts")).to_contain_text(issuer)
    seal = card.locator(".seal img")
    expect(seal).to_be_visible()
    assert (seal.get_attribute("src") or "").startswith("data:image/png;base64,")
    assert seal.evaluate("img => img.naturalWidth") > 0
    shot(page, artifacts, "5-sealed-document-revoked")


def test_forged_document_shows_why_nothing_is_shown(
    page: Page, samples: Samples, artifacts: Path
) -> None:
    """A genuine seal over content signed with another key: the card says the licence could
    not be shown to be authentic, and shows neither its content nor the seal."""
    entries = samples.manifest["samples"]
    assert isinstance(entries, list)
    forged = next(e for e in entries if "signer_not_in_seal" in e["expected_reasons"])
    paste(page, samples.text(forged))
    assert verdict(page) == "无效"
    card = page.locator("#verdict .card")
    expect(card.locator(".card-notice")).to_be_visible()
    expect(card.locator(".card-notice")).to_contain_text("不显示")
    expect(card.locator(".card-holder")).to_be_hidden()
    expect(card.locator(".surface")).to_be_hidden()
    expect(card.locator(".seal")).to_be_hidden()
    expect(card.locator(".card-title")).to_have_text("未能识别的证照")
    expect(card.locator(".reason-list")).to_contain_text(REASONS["signer_not_in_seal"].zh)
    holder = json.loads(samples.text(forged))["licence"]["holder"]["name"]
    assert holder not in card.inner_text()
    shot(page, artifacts, "5c-forged-document")


def test_cannot_tell_is_amber(page: Page, samples: Samples, artifacts: Path) -> None:
    entry = withheld_sample(samples)
    paste(page, samples.text(entry))
    assert verdict(page) == "无法确认"
    card = page.locator("#verdict .card")
    expect(card).to_have_attribute("data-verdict", "INDETERMINATE")
    expect(card.locator(".verdict-mark")).to_have_css("background-color", AMBER)
    expect(card.locator(".reason-list")).to_contain_text(REASONS["status_unavailable"].zh)
    expect(page.locator("#history-list .history-item").first).to_contain_text("无法确认")
    shot(page, artifacts, "5b-cannot-tell")


# ------------------------------------------------------------------------------ photos


def test_photo_upload_flow(page: Page, service: Service, samples: Samples, artifacts: Path) -> None:
    entry, _ = valid_qr(samples, service)
    page.set_input_files("#photo-input", samples.path(entry, "image"))
    assert verdict(page) == "有效"
    card = page.locator("#verdict .card")
    expect(card.locator(".card-title")).to_have_text(str(entry["licence_type"]))
    expect(card.locator(".verdict-note")).to_contain_text("照片")
    expect(page.locator("#history-list .history-item")).to_have_count(1)
    shot(page, artifacts, "6-photo-upload")


def test_photo_with_two_codes_gives_two_cards(
    page: Page, samples: Samples, artifacts: Path, tmp_path: Path
) -> None:
    first, second = samples.qr_samples("PASSED")[:2]
    with (
        Image.open(samples.path(first, "image")) as a,
        Image.open(samples.path(second, "image")) as b,
    ):
        sheet = Image.new("L", (a.width + b.width + 60, max(a.height, b.height) + 40), 255)
        sheet.paste(a.convert("L"), (20, 20))
        sheet.paste(b.convert("L"), (a.width + 40, 20))
    photo = tmp_path / "two-codes.png"
    sheet.save(photo)
    page.set_input_files("#photo-input", photo)
    cards = page.locator("#verdict .card")
    expect(cards).to_have_count(2)
    titles = sorted(cards.locator(".card-title").all_inner_texts())
    assert titles == sorted([str(first["licence_type"]), str(second["licence_type"])])
    expect(page.locator("#history-list .history-item")).to_have_count(2)
    shot(page, artifacts, "7-photo-two-codes")


def test_photo_without_code_and_not_an_image(page: Page, artifacts: Path, tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (235, 235, 230)).save(out, format="PNG")
    blank.write_bytes(out.getvalue())
    page.set_input_files("#photo-input", blank)
    error = page.locator("#verdict .error-card")
    expect(error).to_be_visible()
    expect(error).to_contain_text("照片中未找到二维码")
    expect(error.locator("code")).to_have_text("400 no_qr_code")
    shot(page, artifacts, "8-photo-no-code")

    text = tmp_path / "notes.png"
    text.write_text("not a picture", encoding="utf-8")
    page.set_input_files("#photo-input", text)
    expect(error.locator("code")).to_have_text("400 not_an_image")
    expect(error).to_contain_text("不是可识别的图片")
    expect(page.locator("#history-list .history-item")).to_have_count(0)


# ------------------------------------------------------------------------------ camera


def test_camera_flow(page: Page, service: Service, samples: Samples, artifacts: Path) -> None:
    shown = camera_sample(samples)
    expected = api_verdict(service, samples.text(shown))["verdict_zh"]
    frames: list[int] = []
    page.on(
        "response",
        lambda r: frames.append(r.status) if r.url.endswith("/v1/verify/image") else None,
    )
    page.click("#camera-start")
    expect(page.locator("#camera")).to_be_visible()
    expect(page.locator("#camera-stop")).to_be_focused()
    card = page.locator("#verdict .card")
    expect(card).to_have_count(1, timeout=45_000)
    assert verdict(page) == expected
    expect(card.locator(".card-title")).to_have_text(str(shown["licence_type"]))
    expect(card.locator(".card-holder")).to_contain_text(str(shown["holder"]))
    expect(card.locator(".verdict-note")).to_contain_text("摄像头")
    # The camera is off once a code is read, and the scanner field has the focus back.
    expect(page.locator("#camera")).to_be_hidden()
    expect(page.locator("#scan-input")).to_be_focused()
    assert frames[-1] == 200
    assert set(frames[:-1]) <= {400}
    shot(page, artifacts, "9-camera")


def test_camera_stop_button(page: Page) -> None:
    page.click("#camera-start")
    expect(page.locator("#camera")).to_be_visible()
    page.click("#camera-stop")
    expect(page.locator("#camera")).to_be_hidden()
    expect(page.locator("#camera-start")).to_be_enabled()
    expect(page.locator("#scan-input")).to_be_focused()
    assert page.evaluate("document.getElementById('camera-video').srcObject") is None


# ------------------------------------------------------------------------------ errors


def test_unknown_key_is_shown_as_401(
    context: BrowserContext, service: Service, samples: Samples, artifacts: Path
) -> None:
    page = context.new_page()
    page.goto(service.url("/window#key=ezzk_nobody_0000000000000000"))
    page.fill("#setup-clerk", WINDOW_SESSION["clerk"])
    page.fill("#setup-item", WINDOW_SESSION["item_code"])
    page.fill("#setup-cause", WINDOW_SESSION["use_cause"])
    page.click("#setup-submit")
    scan(page, samples.text(samples.qr_samples("PASSED")[0]))
    error = page.locator("#verdict .error-card")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    expect(error.locator("code")).to_have_text("401 unauthenticated")
    expect(error).to_contain_text("API 密钥无效")
    expect(page.locator("#history-list .history-item")).to_have_count(0)
    shot(page, artifacts, "10-error-401")


def test_narrow_window_keeps_verdict_first(
    page: Page, service: Service, samples: Samples, artifacts: Path
) -> None:
    page.set_viewport_size({"width": 800, "height": 900})
    _, text = valid_qr(samples, service)
    scan_verified(page, text)
    assert verdict(page) == "有效"
    verdict_box = page.locator("#verdict .card").bounding_box()
    history_box = page.locator(".history").bounding_box()
    assert verdict_box is not None and history_box is not None
    assert verdict_box["y"] < history_box["y"]
    shot(page, artifacts, "11-narrow")
