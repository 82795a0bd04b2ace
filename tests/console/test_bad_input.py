"""Bad input to the console gets a page that says what went wrong, never a crash, a JSON error or a script run."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from vigil.console.signin import SESSION_COOKIE
from vigil.store.cases import Case, Decision
from vigil.store.db import session_scope

DECISION = {"action": "remove", "territorial_scope": "", "ground_type": "legal", "ground_reference": "TCO Art. 3",
            "explanation": "Recruitment."}


def test_wrong_types_and_unknown_ids_are_pages(live_server, signed_in, csrf):
    c = signed_in("ada")
    r = c.get("/console/cases/not-a-number")
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html") and "case_id" in r.text
    r = c.get("/console/cases/99999")
    assert r.status_code == 404 and "no case #99999" in r.text.lower()
    token = csrf(c.get("/console/queue").text)
    assert c.post("/console/cases/99999/claim", data={"csrf_token": token}).status_code == 404
    assert c.get("/console/appeals/99999").status_code == 404
    assert c.get("/console/dashboard?days=abc").status_code == 422
    assert c.get("/console/dashboard?days=-4").status_code == 200  # an unknown period falls back to 30 days


def test_static_files_are_a_fixed_list(live_server):
    assert httpx.get(f"{live_server.url}/console/static/console.js").status_code == 200
    for name in ("..%2Froutes.py", "routes.py", "%2Fetc%2Fpasswd", "nope.css"):
        assert httpx.get(f"{live_server.url}/console/static/{name}").status_code == 404


def test_hostile_content_is_shown_as_text(live_server, signed_in, seed_case):
    script = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    cid = seed_case(explanation=script, copies=[{"content_id": '"><svg onload=alert(3)>', "content_type": "text",
                                                  "content_text": script}],
                    evidence={"matches": [], "crisis": False, "text": {
                        "verdict": "review", "score": 0.5, "category": "x", "reason": script,
                        "hits": [{"start": 0, "end": 8, "reason": '"><b>'}]}})
    page = signed_in("ada").get(f"/console/cases/{cid}").text
    assert "<script>alert" not in page and "<img src=x" not in page and "<svg onload" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'title="&#34;&gt;&lt;b&gt;"' in page


def test_oversized_and_malformed_forms_decide_nothing(live_server, signed_in, seed_case, csrf):
    cid = seed_case()
    c = signed_in("ada")
    token = csrf(c.get(f"/console/cases/{cid}").text)
    c.post(f"/console/cases/{cid}/claim", data={"csrf_token": token})
    huge = c.post(f"/console/cases/{cid}/decision", data={"csrf_token": token, **DECISION, "explanation": "x" * 10_000_000})
    assert huge.status_code == 413 and "larger than the limit" in huge.text  # refused before it is read
    long = c.post(f"/console/cases/{cid}/decision", data={"csrf_token": token, **DECISION, "explanation": "x" * 6000})
    assert long.status_code == 422 and "explanation" in long.text
    bad_scope = c.post(f"/console/cases/{cid}/decision", data={"csrf_token": token, **DECISION, "territorial_scope": "Germany"})
    assert bad_scope.status_code == 422 and "ISO 3166-1" in bad_scope.text
    unknown = c.post(f"/console/cases/{cid}/preview", data={"csrf_token": token, **DECISION, "action": "ban_user"})
    assert unknown.status_code == 422
    raw = f"csrf_token={token}&action=remove&ground_type=legal&ground_reference=%ff%fe&explanation=%c3%28"
    r = c.post(f"/console/cases/{cid}/preview", content=raw,
               headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code in (200, 422)
    with session_scope(live_server.db_url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0
        assert s.get(Case, cid).state == "claimed"
    r = c.post(f"/console/cases/{cid}/decision", data={"csrf_token": token, **DECISION})
    assert r.status_code == 303


def test_hostile_sign_in_input(live_server):
    with httpx.Client(base_url=live_server.url, cookies={SESSION_COOKIE: "x" * 5000}) as c:
        assert c.get("/console/queue").status_code == 303
        page = c.get("/console/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = c.post("/console/login", data={"csrf_token": token, "api_key": "vigil_" + "a" * 1_000_000})
        assert r.status_code == 413  # a sign-in form is a few hundred bytes: more is refused before it is read
        r = c.post("/console/login", data={"csrf_token": token, "api_key": "vigil_" + "a" * 1000})
        assert r.status_code == 401
        stale = c.post("/console/login", data={"csrf_token": token, "api_key": "x"})
        assert stale.status_code == 403  # a failed sign-in rotates the form's token
        token = r.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = c.post("/console/login", data={"csrf_token": token, "api_key": "", "next": "//evil.example"})
        assert r.status_code == 401 and 'value="//evil.example"' not in r.text
