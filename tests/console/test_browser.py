"""The reviewer's whole flow in Debian's Chromium (headless, through Playwright), against a real server.

Notices come in through the public API (POST /v1/notices) with a submitter's key; everything after that
is done in the browser, mostly from the keyboard, by people with different roles.
"""

from __future__ import annotations

import io
import random
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import sqlalchemy as sa

from vigil.store.cases import Appeal, Case, Decision
from vigil.store.db import session_scope

pytestmark = pytest.mark.browser

UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')
                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.outerHTML)"""
MEDIA_REQUESTS: list[str] = []
"""Requests the operator's media server received: a reviewer's browser must never make one by itself (F9)."""


def random_pdq(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(64))


@pytest.fixture
def image_server():
    """The operator's platform, where reported media lives: serves one PNG on loopback."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (320, 220), (200, 30, 30))
    ImageDraw.Draw(img).ellipse((80, 40, 240, 180), fill=(20, 160, 40))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    png = buf.getvalue()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            MEDIA_REQUESTS.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def reported(live_server, image_server):
    """Three notices through the API: a user report, a trusted flagger's, and an authority's removal order."""
    from vigil.banks import service

    rng = random.Random(7)
    hashes = [random_pdq(rng) for _ in range(3)]
    with session_scope(live_server.db_url) as s:
        bank = service.create_bank(s, "tvec-shared")
        service.add_entry(s, bank, "pdq", hashes[2], labels={"entity": "group-a", "behaviour": "glorification",
                                                              "content_type": "video still"}, source="gifct")
    base = {"good_faith": True, "explanation": "Glorifies an attack.", "category": "terrorism", "language": "en"}
    notices = [
        {**base, "source": "user", "content": {"id": "img-user", "url": f"{image_server}/user.png", "type": "image",
                                                "hashes": {"pdq": hashes[0]}}},
        {**base, "source": "trusted_flagger", "content": {"id": "img-flagged", "url": f"{image_server}/tf.png",
                                                           "type": "image", "hashes": {"pdq": hashes[1]}}},
        {**base, "source": "authority_order", "authority": "Bundeskriminalamt", "order_reference": "TCO-2026-0042",
         "content": {"id": "img-ordered", "url": f"{image_server}/order.png", "type": "image",
                     "hashes": {"pdq": hashes[2]}}},
    ]
    case_ids = []
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {live_server.keys['sub']}"}) as api:
        for n in notices:
            r = api.post("/v1/notices", json=n)
            assert r.status_code == 202, r.text
            case_ids.append(r.json()["case_id"])
    return dict(zip(("user", "trusted_flagger", "authority_order"), case_ids))


def sign_in(context, live_server, who: str):
    page = context.new_page()
    page.goto(f"{live_server.url}/console/")
    assert page.url.endswith("/console/login")
    page.focus("#api_key")  # it has autofocus too, but typing may start before the page applies it
    page.keyboard.type(live_server.keys[who])
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/console/login" not in url)
    return page


def assert_labelled(page) -> None:
    assert page.evaluate(UNLABELLED_CONTROLS) == [], f"controls without a label on {page.url}"


def shot(page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"console-{name}.png"), full_page=True)


def test_review_flow_in_chromium(browser, live_server, reported, artifacts):
    order_case = reported["authority_order"]

    # A reviewer signs in and sees the queue, the authority order first and marked urgent.
    ada_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ada_ctx.new_page()
    page.goto(f"{live_server.url}/console/login")
    assert_labelled(page)
    shot(page, artifacts, "signin")
    page.focus("#api_key")
    page.keyboard.type(live_server.keys["ada"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/queue")
    rows = page.locator("tbody tr[data-case]")
    assert [int(x) for x in rows.evaluate_all("rs => rs.map(r => r.dataset.case)")] == [
        reported["authority_order"], reported["trusted_flagger"], reported["user"]]
    assert "urgent" in (rows.first.get_attribute("class") or "")
    first_left = rows.first.locator("time").inner_text()
    page.wait_for_timeout(1200)
    assert rows.first.locator("time").inner_text() != first_left, "the countdown should tick"
    assert_labelled(page)
    shot(page, artifacts, "queue")

    # "n" opens the highest-priority case. Its media's address came with a notice, so the page shows it as text
    # and never loads it: whoever chose the address learns nothing about who reviews it, or when (F9).
    MEDIA_REQUESTS.clear()
    page.keyboard.press("n")
    page.wait_for_url(f"**/console/cases/{order_case}")
    page.wait_for_load_state("networkidle")
    assert page.locator(".media-links a").first.get_attribute("rel") == "noopener noreferrer nofollow"
    assert page.locator("img[src^='http']").count() == 0 and MEDIA_REQUESTS == []
    assert "tvec-shared" in page.inner_text("body") and "gifct" in page.inner_text("body")
    assert "TCO-2026-0042" in page.inner_text("body")
    assert "urgent" in page.locator("time[data-countdown]").get_attribute("class")
    assert_labelled(page)
    shot(page, artifacts, "case")

    # "c" claims it; "1" picks "remove"; the form is filled and sent from the keyboard; the preview shows
    # the statement of reasons before anything is decided.
    page.keyboard.press("c")
    page.wait_for_selector("text=yours until")
    page.keyboard.press("1")
    assert page.locator("#action-remove").is_checked()
    page.locator("#ground_reference").focus()
    page.keyboard.type("Regulation (EU) 2021/784 Art. 3, removal order TCO-2026-0042")
    page.keyboard.press("Tab")
    page.keyboard.type("The image glorifies a terrorist attack; removed on the authority's order.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/console/cases/{order_case}/preview")
    statement = page.locator("pre.statement").first.inner_text()
    assert '"decision_visibility": [\n    "DECISION_VISIBILITY_CONTENT_REMOVED"' in statement
    assert '"source_type": "SOURCE_TYPE_OTHER_NOTIFICATION"' in statement
    with session_scope(live_server.db_url) as s:
        assert s.get(Case, order_case).state == "claimed"
    assert_labelled(page)
    shot(page, artifacts, "decision-preview")
    page.keyboard.press("s")
    page.wait_for_url("**/console/queue")
    assert "decided" in page.locator(".flash").inner_text()
    remaining = [int(x) for x in page.locator("tbody tr[data-case]").evaluate_all("rs => rs.map(r => r.dataset.case)")]
    assert order_case not in remaining and len(remaining) == 2
    with session_scope(live_server.db_url) as s:
        decision_id = s.scalar(sa.select(Decision.id).where(Decision.case_id == order_case))

    # A reviewer cannot reach the bank pages, and is not offered them.
    assert page.locator("nav a", has_text="Banks").count() == 0
    response = page.goto(f"{live_server.url}/console/banks")
    assert response.status == 403
    ada_ctx.close()

    # The platform's submitter files the uploader's appeal.
    sub_ctx = browser.new_context()
    page = sign_in(sub_ctx, live_server, "sub")
    page.wait_for_url("**/console/appeals/new")
    assert_labelled(page)
    page.fill("#decision_id", str(decision_id))
    page.fill("#appeal_explanation", "The image was part of a news report about the attack.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/appeals/new")
    assert "filed" in page.locator(".flash").inner_text()
    sub_ctx.close()
    with session_scope(live_server.db_url) as s:
        appeal_id = s.scalar(sa.select(Appeal.id).where(Appeal.decision_id == decision_id))

    # A different reviewer decides the appeal and reverses the removal.
    ben_ctx = browser.new_context()
    page = sign_in(ben_ctx, live_server, "ben")
    page.goto(f"{live_server.url}/console/settings")
    assert_labelled(page)
    page.goto(f"{live_server.url}/console/appeals")
    assert_labelled(page)
    shot(page, artifacts, "appeals")
    page.click(f"a[href='/console/appeals/{appeal_id}']")
    page.wait_for_url(f"**/console/appeals/{appeal_id}")
    page.keyboard.press("v")
    assert page.locator("#outcome-reversed").is_checked()
    page.locator("#outcome_explanation").focus()
    page.keyboard.type("News reporting on the attack; reinstated.")
    assert_labelled(page)
    shot(page, artifacts, "appeal")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/appeals")
    assert "reversed" in page.locator(".flash").inner_text()
    ben_ctx.close()
    with session_scope(live_server.db_url) as s:
        appeal = s.get(Appeal, appeal_id)
        assert (appeal.state, appeal.decided_by) == ("reversed", 2)

    # An admin sees the banks and the dashboard.
    adm_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = sign_in(adm_ctx, live_server, "adm")
    page.goto(f"{live_server.url}/console/banks")
    assert_labelled(page)
    page.click("text=tvec-shared")
    assert "glorification" in page.inner_text("body")
    assert_labelled(page)
    shot(page, artifacts, "bank")
    page.goto(f"{live_server.url}/console/dashboard")
    assert re.search(r"Appeal reversal rate: 100 %", page.inner_text("body"))
    assert page.locator("svg.chart").count() >= 5
    assert_labelled(page)
    shot(page, artifacts, "dashboard")
    adm_ctx.close()
