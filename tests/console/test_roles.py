"""What each role may open in the console, and what its menu offers, page by page."""

from __future__ import annotations

import re

import pytest

PAGES = {  # page -> roles that may open it
    "/console/queue": {"reviewer", "senior_reviewer", "admin"},
    "/console/cases/{case}": {"reviewer", "senior_reviewer", "admin"},
    "/console/next": {"reviewer", "senior_reviewer", "admin"},
    "/console/appeals": {"reviewer", "senior_reviewer", "admin"},
    "/console/appeals/new": {"submitter", "admin"},
    "/console/banks": {"admin"},
    "/console/dashboard": {"reviewer", "senior_reviewer", "auditor", "admin"},
    "/console/settings": {"reviewer", "senior_reviewer", "auditor", "submitter", "admin"},
}
WHO = {"ada": "reviewer", "sam": "senior_reviewer", "sub": "submitter", "aud": "auditor", "adm": "admin"}
HOME = {"reviewer": "/console/queue", "senior_reviewer": "/console/queue", "admin": "/console/queue",
        "submitter": "/console/appeals/new", "auditor": "/console/dashboard"}


@pytest.mark.parametrize("who", sorted(WHO))
def test_each_role_opens_exactly_its_pages(live_server, signed_in, seed_case, who):
    case = seed_case()
    role = WHO[who]
    c = signed_in(who)
    assert c.get("/console/").headers["location"] == HOME[role]
    for page, roles in PAGES.items():
        r = c.get(page.format(case=case))
        allowed = r.status_code in (200, 303) and "/console/login" not in r.headers.get("location", "")
        assert allowed == (role in roles), f"{who} ({role}) on {page}: {r.status_code}"
        if not allowed:
            assert r.status_code == 403 and f"Your role ({role}) may not open this page." in r.text
    menu = set(re.findall(r'<li><a href="([^"]+)"', c.get("/console/settings").text))
    assert menu == {page for page, roles in PAGES.items() if role in roles and "{" not in page and page != "/console/next"}
