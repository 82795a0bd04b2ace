"""The console's pages over real HTTP: queue order and filters, evidence, claims, decisions, appeals, disclosures."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import sqlalchemy as sa

from vigil.keys import create_key
from vigil.store.cases import Appeal, Case, Decision, Disclosure
from vigil.store.db import session_scope

TEXT = "Brothers, join us: buy 10 sheep before Friday."
HITS = [{"start": 19, "end": 31, "term": "buy sheep", "category": "recruitment", "reason": "coded recruitment phrase"}]
EVIDENCE = {
    "matches": [{"bank": "tvec", "entry_id": 1, "signal_type": "pdq", "value": "f" * 64, "distance": 7,
                 "labels": {"entity": "group-a", "behaviour": "recruitment"}, "metadata": {}}],
    "text": {"verdict": "violating", "score": 0.91, "category": "recruitment", "reason": "coded recruitment phrase",
             "hits": HITS},
    "crisis": False,
}
DECISION = {"action": "remove", "territorial_scope": "", "ground_type": "legal",
            "ground_reference": "Regulation (EU) 2021/784 Art. 2(7)", "explanation": "Recruitment for a proscribed group."}


def case_ids_in_order(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-case="(\d+)"', html)]


def test_queue_orders_by_priority_and_marks_urgent_orders(live_server, signed_in, seed_case):
    low = seed_case(priority=5)
    order = seed_case(source="authority_order", priority=200, deadline_in=timedelta(minutes=40), authority="BKA",
                      order_reference="TCO-1", queue="authority_orders")
    trusted = seed_case(source="trusted_flagger", priority=100, queue="trusted_flaggers", language="zh")
    page = signed_in("ada").get("/console/queue")
    assert page.status_code == 200
    assert case_ids_in_order(page.text) == [order, trusted, low]
    row = re.search(rf'<tr data-source="authority_order" data-case="{order}" class="([^"]*)"', page.text)
    assert row.group(1) == "urgent"
    assert re.search(rf'<tr data-source="trusted_flagger" data-case="{trusted}" class=""', page.text)
    assert re.search(r'data-countdown>(39|40) min', page.text)
    assert "bank match" not in page.text
    seed_case(priority=1, evidence=EVIDENCE)
    page = signed_in("ben").get("/console/queue")
    assert "1 bank match</span>" in page.text and "text: violating" in page.text


def test_queue_filters(live_server, signed_in, seed_case):
    en = seed_case(language="en", category="terrorism")
    zh = seed_case(language="zh", category="violent_extremism")
    tf = seed_case(source="trusted_flagger", priority=100, queue="trusted_flaggers")
    c = signed_in("ada")
    assert case_ids_in_order(c.get("/console/queue?language=zh").text) == [zh]
    assert case_ids_in_order(c.get("/console/queue?category=terrorism").text) == [tf, en]
    assert case_ids_in_order(c.get("/console/queue?queue=trusted_flaggers").text) == [tf]
    assert case_ids_in_order(c.get("/console/queue?source=user&language=en").text) == [en]
    assert case_ids_in_order(c.get("/console/queue?source=nobody").text) == []
    page = c.get("/console/queue").text
    assert '<option value="zh">zh</option>' in page and '<option value="trusted_flaggers">' in page


def test_case_shows_hits_on_their_spans_matches_notices_and_copies(live_server, signed_in, seed_case):
    from vigil.banks import service

    with session_scope(live_server.db_url) as s:
        service.add_entry(s, service.create_bank(s, "tvec"), "pdq", "f" * 64, source="gifct-hash-list")
    cid = seed_case(evidence=EVIDENCE, copies=[
        {"content_id": "post-1", "content_type": "text", "content_text": TEXT},
        {"content_id": "post-1-copy", "content_type": "text", "content_text": TEXT.upper()},
        {"content_id": "img-9", "content_type": "image", "content_url": "http://127.0.0.1:9/img.png", "pdq": "a" * 64}])
    page = signed_in("ada").get(f"/console/cases/{cid}").text
    assert '<mark class="hit" title="coded recruitment phrase">buy 10 sheep</mark>' in page
    assert TEXT[:19] + "<mark" in page.replace("&#39;", "'")
    assert "gifct-hash-list" in page and "group-a" in page and ">7<" in page
    assert "Recruitment post" in page and "anonymous" not in page and "Notifier Person" not in page
    assert "post-1-copy" in page and "img-9" in page
    # A notifier chose the media's address: it is shown as text and never loaded by the page (F9).
    assert "http://127.0.0.1:9/img.png" in page and 'src="http://127.0.0.1:9' not in page


def test_claim_locks_the_case_to_one_reviewer(live_server, signed_in, seed_case, csrf):
    cid = seed_case()
    ada, ben = signed_in("ada"), signed_in("ben")
    page = ada.get(f"/console/cases/{cid}").text
    assert ada.post(f"/console/cases/{cid}/claim", data={"csrf_token": csrf(page)}).status_code == 303
    page = ben.get(f"/console/cases/{cid}").text
    assert "ada until" in page and 'action="/console/cases/%d/claim"' % cid not in page
    r = ben.post(f"/console/cases/{cid}/claim", data={"csrf_token": csrf(page)})
    assert r.status_code == 409 and "claimed by" in r.text
    r = ben.post(f"/console/cases/{cid}/decision", data={"csrf_token": csrf(page), **DECISION})
    assert r.status_code == 409
    with session_scope(live_server.db_url) as s:
        assert s.get(Case, cid).state == "claimed" and s.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0
    # "next case" skips a case someone else holds.
    other = seed_case(priority=1)
    assert ben.get("/console/next").headers["location"] == f"/console/cases/{other}"
    # Giving it back frees it for the others.
    page = ada.get(f"/console/cases/{cid}").text
    assert ada.post(f"/console/cases/{cid}/release", data={"csrf_token": csrf(page)}).status_code == 303
    assert ben.get("/console/next").headers["location"] == f"/console/cases/{cid}"


def test_preview_shows_the_statement_then_the_decision_leaves_the_queue(live_server, signed_in, seed_case, csrf):
    cid = seed_case(evidence=EVIDENCE, copies=[{"content_id": "post-1", "content_type": "text", "content_text": TEXT}])
    c = signed_in("ada")
    token = csrf(c.get(f"/console/cases/{cid}").text)
    c.post(f"/console/cases/{cid}/claim", data={"csrf_token": token})
    preview = c.post(f"/console/cases/{cid}/preview", data={"csrf_token": token, **DECISION})
    assert preview.status_code == 200
    assert "DECISION_VISIBILITY_CONTENT_REMOVED" in preview.text and "DECISION_GROUND_ILLEGAL_CONTENT" in preview.text
    assert '"automated_detection": "Yes"' in html.unescape(preview.text)
    with session_scope(live_server.db_url) as s:  # a preview decides nothing
        assert s.get(Case, cid).state == "claimed"
    bad = c.post(f"/console/cases/{cid}/preview", data={"csrf_token": token, **DECISION, "action": "disable"})
    assert bad.status_code == 422 and "territorial_scope" in bad.text
    r = c.post(f"/console/cases/{cid}/decision", data={"csrf_token": token, **DECISION})
    assert r.status_code == 303 and "decided" in c.get(r.headers["location"]).text
    assert cid not in case_ids_in_order(c.get("/console/queue").text)
    with session_scope(live_server.db_url) as s:
        d = s.scalars(sa.select(Decision)).one()
        assert (d.case_id, d.action, d.automated) == (cid, "remove", False)


def test_no_action_has_no_statement(live_server, signed_in, seed_case, csrf):
    cid = seed_case()
    c = signed_in("ada")
    token = csrf(c.get(f"/console/cases/{cid}").text)
    c.post(f"/console/cases/{cid}/claim", data={"csrf_token": token})
    r = c.post(f"/console/cases/{cid}/preview", data={"csrf_token": token, **DECISION, "action": "no_action"})
    assert r.status_code == 200 and "no statement of reasons is owed" in r.text


def decided_case(live_server, signed_in, seed_case, csrf, who="ada") -> tuple[int, int]:
    cid = seed_case(copies=[{"content_id": "post-7", "content_type": "text", "content_text": TEXT}])
    c = signed_in(who)
    token = csrf(c.get(f"/console/cases/{cid}").text)
    c.post(f"/console/cases/{cid}/claim", data={"csrf_token": token})
    c.post(f"/console/cases/{cid}/decision", data={"csrf_token": token, **DECISION})
    with session_scope(live_server.db_url) as s:
        return cid, s.scalar(sa.select(Decision.id).where(Decision.case_id == cid))


def test_appeal_goes_to_a_different_reviewer(live_server, signed_in, seed_case, csrf):
    cid, did = decided_case(live_server, signed_in, seed_case, csrf)
    sub = signed_in("sub")
    form = sub.get("/console/appeals/new")
    assert form.status_code == 200
    r = sub.post("/console/appeals", data={"csrf_token": csrf(form.text), "decision_id": str(did),
                                           "appellant": "uploader", "explanation": "This is news reporting."})
    assert r.status_code == 303 and "filed" in sub.get(r.headers["location"]).text
    r = sub.post("/console/appeals", data={"csrf_token": csrf(form.text), "decision_id": "99999",
                                           "appellant": "uploader", "explanation": "x"})
    assert r.status_code == 404 and "no decision with id 99999" in r.text
    with session_scope(live_server.db_url) as s:
        aid = s.scalar(sa.select(Appeal.id))
    ada, ben = signed_in("ada"), signed_in("ben")
    assert f'href="/console/appeals/{aid}"' not in ada.get("/console/appeals").text
    page = ada.get(f"/console/appeals/{aid}").text
    assert "a different reviewer must decide it" in page
    r = ada.post(f"/console/appeals/{aid}/decision", data={"csrf_token": csrf(page), "outcome": "reversed",
                                                           "outcome_explanation": "mine"})
    assert r.status_code == 403
    with session_scope(live_server.db_url) as s:
        assert s.get(Appeal, aid).state == "open"
    assert f'href="/console/appeals/{aid}"' in ben.get("/console/appeals").text
    page = ben.get(f"/console/appeals/{aid}").text
    r = ben.post(f"/console/appeals/{aid}/decision", data={"csrf_token": csrf(page), "outcome": "reversed",
                                                          "outcome_explanation": "Quoted in a news report."})
    assert r.status_code == 303
    with session_scope(live_server.db_url) as s:
        a = s.get(Appeal, aid)
        assert (a.state, a.decided_by) == ("reversed", 2)


def test_disclosure_needs_a_second_senior_person(live_server, signed_in, seed_case, csrf):
    cid = seed_case()
    sam, ada = signed_in("sam"), signed_in("ada")
    page = sam.get(f"/console/cases/{cid}").text
    r = sam.post(f"/console/cases/{cid}/disclosures", data={
        "csrf_token": csrf(page), "authority": "Europol", "legal_basis": "DSA Art. 18", "reason": "Threat to life"})
    assert r.status_code == 303
    with session_scope(live_server.db_url) as s:
        xid = s.scalar(sa.select(Disclosure.id))
    page = sam.get(f"/console/cases/{cid}").text
    assert "waiting for a senior reviewer other than you" in page
    assert ada.post(f"/console/disclosures/{xid}/approve", data={"csrf_token": csrf(ada.get(f"/console/cases/{cid}").text)}).status_code == 403
    r = sam.post(f"/console/disclosures/{xid}/approve", data={"csrf_token": csrf(page)})
    assert r.status_code == 403 and "different person" in r.text
    with session_scope(live_server.db_url) as s:
        assert s.get(Disclosure, xid).state == "requested"
        live_server.keys["sue"] = create_key(s, "sue", "senior_reviewer").key
    sue = signed_in("sue")
    page = sue.get(f"/console/cases/{cid}").text
    assert "Approve as second person" in page
    assert sue.post(f"/console/disclosures/{xid}/approve", data={"csrf_token": csrf(page)}).status_code == 303
    with session_scope(live_server.db_url) as s:
        x = s.get(Disclosure, xid)
        assert (x.state, x.requested_by, x.approved_by) == ("approved", 3, 7)
    assert "sue at" in sam.get(f"/console/cases/{cid}").text


def test_dashboard_figures(live_server, signed_in, seed_case, csrf):
    decided_case(live_server, signed_in, seed_case, csrf)
    seed_case(deadline_in=timedelta(minutes=-5))
    for who in ("ada", "aud", "adm"):
        page = signed_in(who).get("/console/dashboard")
        assert page.status_code == 200, who
    text = page.text
    assert "Automated decisions: <strong>0 %</strong> (0 of 1)" in text
    assert 'aria-label="Open cases against their deadlines now: overdue 1; due soon 0; later 0"' in text
    assert "No checkpoint has been published yet" in text
    assert signed_in("sub").get("/console/dashboard").status_code == 403


def test_reversing_no_action_needs_the_new_decision(live_server, signed_in, seed_case, csrf):
    cid = seed_case()
    ada = signed_in("ada")
    token = csrf(ada.get(f"/console/cases/{cid}").text)
    ada.post(f"/console/cases/{cid}/claim", data={"csrf_token": token})
    assert ada.post(f"/console/cases/{cid}/decision", data={"csrf_token": token, **DECISION,
                                                            "action": "no_action"}).status_code == 303
    sub = signed_in("sub")
    with session_scope(live_server.db_url) as s:
        did = s.scalar(sa.select(Decision.id))
    sub.post("/console/appeals", data={"csrf_token": csrf(sub.get("/console/appeals/new").text), "decision_id": str(did),
                                       "appellant": "notifier", "explanation": "It is recruitment."})
    with session_scope(live_server.db_url) as s:
        aid = s.scalar(sa.select(Appeal.id))
    ben = signed_in("ben")
    page = ben.get(f"/console/appeals/{aid}").text
    assert "The new decision, if you reverse" in page
    outcome = {"csrf_token": csrf(page), "outcome": "reversed", "outcome_explanation": "Coded recruitment."}
    r = ben.post(f"/console/appeals/{aid}/decision", data=outcome)
    assert r.status_code == 422 and "needs the new decision" in r.text
    with session_scope(live_server.db_url) as s:
        assert s.get(Appeal, aid).state == "open"
    r = ben.post(f"/console/appeals/{aid}/decision", data={**outcome, **DECISION})
    assert r.status_code == 303
    with session_scope(live_server.db_url) as s:
        new = s.scalars(sa.select(Decision).where(Decision.appeal_id == aid)).one()
        assert (new.action, new.reviewer_key_id, s.get(Appeal, aid).new_decision_id) == ("remove", 2, new.id)


def test_the_preview_page_keys_do_not_pick_a_hidden_action(live_server, signed_in, seed_case, csrf):
    cid = seed_case()
    c = signed_in("ada")
    token = csrf(c.get(f"/console/cases/{cid}").text)
    c.post(f"/console/cases/{cid}/claim", data={"csrf_token": token})
    case_page = c.get(f"/console/cases/{cid}").text
    assert 'data-shortcut="1"' in case_page and 'data-shortcut="5"' in case_page
    preview = c.post(f"/console/cases/{cid}/preview", data={"csrf_token": token, **DECISION}).text
    assert 'data-shortcut="1"' not in preview and 'data-shortcut="s"' in preview
