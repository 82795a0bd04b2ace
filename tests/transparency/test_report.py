"""Transparency reports: the figures as pure functions, the three formats, and the whole flow from notices
through decisions and appeals to a report that names its ledger checkpoint."""

import csv
import io
import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.transparency.report import (AppealRec, DecisionRec, NoticeRec, StatementRec, figures, render)

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


NOTICES = [
    NoticeRec(1, 1, "authority_order", "terrorist_content", at(0)),
    NoticeRec(2, 2, "authority_order", "terrorist_content", at(0)),
    NoticeRec(3, 3, "user", "terrorist_content", at(0)),
    NoticeRec(4, 3, "user", None, at(30)),
    NoticeRec(5, 4, "trusted_flagger", "violent_extremism", at(0)),
    NoticeRec(6, 5, "user", None, datetime(2026, 4, 2, tzinfo=timezone.utc)),  # outside the period
]
DECISIONS = [
    DecisionRec(1, 1, "remove", False, ("c1",), at(40)),           # order acted on in 40 min
    DecisionRec(2, 2, "remove", False, ("c2", "c2b"), at(90)),     # order acted on in 90 min: late
    DecisionRec(3, 3, "label", False, ("c3",), at(120)),           # two notices: waits of 120 and 90 min
    DecisionRec(4, 4, "no_action", False, ("c4",), at(10)),
    DecisionRec(5, 1, "remove", True, ("c1-copy", "c1-copy2"), at(300)),  # re-upload blocked by a bank
    DecisionRec(6, 4, "remove", False, ("c4",), at(2000), appeal_id=1),   # after the appeal: not a time to act
]
APPEALS = [AppealRec(1, 4, "reversed", at(100), at(2000)), AppealRec(2, 1, "upheld", at(60), at(60 + 240)),
           AppealRec(3, 3, "open", at(200), None)]
STATEMENTS = [StatementRec("submitted", date(2026, 3, 10))] * 3 + [StatementRec("failed", date(2026, 3, 10)),
                                                                   StatementRec("pending", date(2026, 3, 31)),
                                                                   StatementRec("submitted", date(2026, 4, 1))]


@pytest.fixture
def march():
    return figures(date(2026, 3, 1), date(2026, 3, 31), NOTICES, DECISIONS, APPEALS, STATEMENTS, 42, "ab" * 32)


def test_notices_by_source_and_category(march):
    assert march.notices == {"authority_order": {"terrorist_content": 2}, "user": {"terrorist_content": 1, "unspecified": 1},
                             "trusted_flagger": {"violent_extremism": 1}}


def test_time_to_act_and_the_one_hour_rule(march):
    t = march.time_to_act
    # waits in minutes: 40, 90, 120, 90, 10 -> median 90
    assert t["notices_acted_on"] == 5 and t["median_seconds"] == 90 * 60
    assert t["authority_orders"] == 2 and t["authority_orders_median_seconds"] == 65 * 60
    assert t["authority_orders_within_one_hour"] == 1 and t["authority_orders_within_one_hour_share"] == 0.5


def test_decisions_appeals_removals_statements(march):
    assert march.decisions == {"total": 6, "automated": 1, "human": 5, "action_remove": 4, "action_label": 1,
                               "action_no_action": 1}
    assert march.appeals == {"received": 3, "decided": 2, "upheld": 1, "reversed": 1,
                             "median_seconds_to_decide": (1900 * 60 + 240 * 60) / 2}
    assert march.removals == {"items_removed_or_disabled": 6, "items_removed_after_review": 4,
                              "reuploads_blocked_by_banks": 2, "reinstated_after_appeal": 1}
    assert march.statements == {"submitted": 3, "pending": 1, "failed": 1, "total": 5}


def test_an_empty_period_has_no_medians():
    f = figures(date(2020, 1, 1), date(2020, 1, 2), NOTICES, DECISIONS, APPEALS, STATEMENTS, 0, "")
    assert f.time_to_act["median_seconds"] is None and f.time_to_act["authority_orders_within_one_hour_share"] is None
    assert f.decisions["total"] == 0 and f.appeals["median_seconds_to_decide"] is None


def test_formats(march):
    data = json.loads(render(march, "json"))
    assert data["ledger_checkpoint"] == {"tree_size": 42, "root_hash": "ab" * 32}
    assert data["time_to_act"]["authority_orders_within_one_hour"] == 1
    rows = list(csv.reader(io.StringIO(render(march, "csv"))))
    assert rows[0] == ["section", "measure", "value"]
    assert ["ledger", "checkpoint_tree_size", "42"] in rows and ["notices", "user/unspecified", "1"] in rows
    page = render(march, "html")
    assert page.count("<svg") == 4 and "tree size 42" in page and "ab" * 32 in page
    assert not re.search(r"(src|href)=\"https?://", page) and "<script" not in page  # nothing loaded from the network
    with pytest.raises(ValueError):
        render(march, "pdf")


def test_the_whole_flow_into_a_report(db_url, tmp_path, monkeypatch, runtime):
    """Notices in, decisions and an appeal through the review code, then `vigil report transparency`."""
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    from vigil.cases.notice import NoticeIn
    from vigil.review.notices import receive
    from vigil.policy.cases import CasePolicy
    from vigil.review import appeals, decisions
    from vigil.store.db import session_scope

    policy = CasePolicy()
    received = datetime.now(timezone.utc) - timedelta(hours=3)
    with session_scope(db_url) as s:
        receipts = receive(s, [NoticeIn(source="authority_order", authority="BKA", order_reference="TCO-1", category="terrorist_content",
                                       explanation="Removal order", content={"id": "post-1", "text": "propaganda one"}),
                              NoticeIn(source="user", explanation="Glorifies an attack", good_faith=True, category="terrorist_content",
                                       content={"id": "post-2", "text": "something else entirely"})],
                           policy=policy, now=received, near_index=runtime.near_index, matcher=runtime.matcher,
                           detector=runtime.detector)
    order_case, user_case = receipts[0].case_id, receipts[1].case_id
    with session_scope(db_url) as s:
        decisions.decide(s, order_case, decisions.DecisionIn("remove", "legal", "TCO Art. 3", "Terrorist content."), 1,
                         policy=policy, at=received + timedelta(minutes=20))
        first = decisions.decide(s, user_case, decisions.DecisionIn("remove", "contractual", "ToS 4.2", "Glorification."), 1,
                                 policy=policy, at=received + timedelta(minutes=100))
        s.flush()
        appeal = appeals.lodge(s, first.id, "uploader", "It is news reporting.", at=received + timedelta(minutes=110))
        s.flush()
        appeals.decide_appeal(s, appeal.id, "reversed", "Reporting context.", 2, policy=policy, at=received + timedelta(minutes=170))
    day = received.date().isoformat()
    out = tmp_path / "report.json"
    r = CliRunner().invoke(app, ["report", "transparency", "--from", day, "--to", (received + timedelta(hours=3)).date().isoformat(),
                                 "--format", "json", "-o", str(out), "--db", db_url])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data["notices_by_source_and_category"] == {"authority_order": {"terrorist_content": 1}, "user": {"terrorist_content": 1}}
    assert data["time_to_act"]["authority_orders_within_one_hour"] == 1
    assert data["time_to_act"]["median_seconds"] == 60 * 60  # 20 and 100 minutes
    assert data["decisions"]["human"] == 2 and data["appeals"]["reversed"] == 1
    assert data["appeals"]["median_seconds_to_decide"] == 60 * 60
    assert data["statements_of_reasons"]["total"] == 2
    # the report names the checkpoint it was computed from, and that checkpoint verifies
    assert data["ledger_checkpoint"]["tree_size"] >= 3
    verified = CliRunner().invoke(app, ["ledger", "verify", "--db", db_url])
    assert verified.exit_code == 0, verified.output
    assert data["ledger_checkpoint"]["root_hash"] in verified.output


@pytest.mark.parametrize("args,message", [
    (["--from", "2026-13-01", "--to", "2026-12-31"], "dates must be YYYY-MM-DD"),
    (["--from", "2026-02-01", "--to", "2026-01-01"], "is before"),
    (["--from", "2026-01-01", "--to", "2026-01-31", "--format", "pdf"], "unknown format"),
])
def test_report_usage_errors(db_url, args, message):
    r = CliRunner().invoke(app, ["report", "transparency", "--db", db_url, *args])
    assert r.exit_code == 2 and message in r.output
