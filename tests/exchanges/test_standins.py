"""The exchange stand-ins (tools/standins/) follow the services' documentation, and pytx's own clients fetch from them.

For each stand-in: (a) the documentation's own example requests get the documented shapes (the examples
are quoted below with where they come from); (b) python-threatexchange's (pytx) client classes, pointed
at the stand-in, fetch exactly the records put into it, with deletions, tags, checkpoints and
write-back; (c) injected faults reach the client as a real outage would, and what pytx then does is
pinned down here, since Vigil has to decide whether to wrap pytx's clients or write its own.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.clients.fb_threatexchange.api import ThreatExchangeAPI
from threatexchange.exchanges.clients.techagainstterrorism.api import TATHashListAPI
from threatexchange.exchanges.impl.fb_threatexchange_api import (
    FBThreatExchangeCheckpoint,
    FBThreatExchangeCollabConfig,
    FBThreatExchangeCredentials,
    FBThreatExchangeOpinion,
    FBThreatExchangeSignalExchangeAPI,
)
from threatexchange.exchanges.impl.techagainstterrorism_api import (
    TATCheckpoint,
    TATSignalExchangeAPI,
)
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal

from tools.standins.tat import TATStandin, format_checkpoint, synthetic_entry
from tools.standins.threatexchange import ThreatExchangeStandin

CAT = state.SignalOpinionCategory
PDQ_A = "f" * 64
PDQ_B = "e" * 64
MD5_A = "d" * 32


def pdq(i: int) -> str:
    return f"{i:064x}"


# ---------------------------------------------------------------------------------------------------
# Tech Against Terrorism (TCAP) hash list
# ---------------------------------------------------------------------------------------------------

# terrorismanalytics.org/docs/hash-list-v2, "Authentication":
#   POST https://beta.terrorismanalytics.org/token-auth/tcap/
#   { username: YOUR_TCAP_USERNAME, password: YOUR_TCAP_PASSWORD }
#   Response: token: String (a Bearer token for each request); user: User (your system user information)
DOCS_LOGIN = {"username": "YOUR_TCAP_USERNAME", "password": "YOUR_TCAP_PASSWORD"}

# The entries of pytx's own TAT client test (facebook/ThreatExchange,
# python-threatexchange/threatexchange/exchanges/clients/techagainstterrorism/tests/test_api.py, pytx 1.2.16),
# and the checkpoint format its docstring gives ("A timestamp and id of the last record in the current
# page eg: 1704085200,124") and its fixture uses ("1724856487.709035,10594").
PYTX_FIXTURE = [
    dict(hash_digest="123abc", algorithm="MD5", ideology="islamist", file_type="mp4", deleted=False,
         updated_on=1704901040.222779, created_on="2025-03-03T23:05:22.587000Z", id=2819),
    dict(hash_digest="456def", algorithm="MD5", ideology="far-right", file_type="mp4", deleted=False,
         updated_on=1704901040.24492, created_on="2025-03-03T23:05:22.587000Z", id=2820),
    dict(hash_digest="789ghi", algorithm="PDQ", ideology="islamist", file_type="gif", deleted=False,
         updated_on=1704901040.25555, created_on="2025-03-03T23:05:22.587000Z", id=2821),
]
ENTRY_FIELDS = {"hash_digest", "algorithm", "ideology", "file_type", "deleted", "updated_on", "created_on", "id"}


@pytest.fixture
def tat():
    with TATStandin(users={"YOUR_TCAP_USERNAME": "YOUR_TCAP_PASSWORD", "vigil": "pw"}) as server:
        yield server


@pytest.fixture
def pytx_tat(tat, monkeypatch):
    """pytx's TAT exchange pointed at the stand-in: only the client's BASE_URL constant is patched."""
    monkeypatch.setattr(TATHashListAPI, "BASE_URL", tat.base_url)
    return TATSignalExchangeAPI("vigil", "pw")


def tat_token(tat) -> dict[str, str]:
    r = requests.post(f"{tat.url}/token-auth/tcap/", json=DOCS_LOGIN, timeout=5)
    return {"Authorization": f"Bearer {r.json()['token']}"}


def fetch_all(api, checkpoint=None):
    """Run fetch_iter to the end: (merged updates, the deltas' checkpoints)."""
    merged: dict = {}
    checkpoints = []
    for delta in api.fetch_iter([PdqSignal, VideoMD5Signal], checkpoint):
        merged.update(delta.updates)
        checkpoints.append(delta.checkpoint)
    return merged, checkpoints


def test_tat_login_answers_the_documented_shape(tat):
    r = requests.post(f"{tat.url}/token-auth/tcap/", json=DOCS_LOGIN, timeout=5)  # as the docs show: JSON
    assert r.status_code == 200
    assert set(r.json()) == {"token", "user"}
    assert isinstance(r.json()["token"], str) and r.json()["token"].count(".") == 2  # a JWT
    form = requests.post(f"{tat.url}/token-auth/tcap/", data={**DOCS_LOGIN, "resend": False}, timeout=5)  # as pytx sends
    assert form.status_code == 200 and "token" in form.json()
    bad = requests.post(f"{tat.url}/token-auth/tcap/", json={**DOCS_LOGIN, "password": "wrong"}, timeout=5)
    assert bad.status_code == 400 and "token" not in bad.json()


def test_tat_hash_list_answers_the_documented_shape(tat):
    tat.add_many(PYTX_FIXTURE)
    headers = tat_token(tat)
    # The docs' path (GET /hash-list/v2/all) and pytx's (api/hash-list/v2/all) serve the same list.
    docs = requests.get(f"{tat.url}/hash-list/v2/all", headers=headers, timeout=5).json()
    via_pytx_path = requests.get(f"{tat.url}/api/hash-list/v2/all", headers=headers, timeout=5).json()
    assert docs == via_pytx_path
    assert set(docs) == {"count", "next", "previous", "checkpoint", "results"}
    assert docs["count"] == 3 and docs["next"] is None and docs["previous"] is None
    assert docs["results"] == PYTX_FIXTURE
    assert all(set(e) == ENTRY_FIELDS for e in docs["results"])
    assert docs["checkpoint"] == "1704901040.25555,2821"  # updated_on,id of the page's last entry
    assert re.fullmatch(r"\d+\.\d+,\d+", docs["checkpoint"])


def test_tat_pages_by_offset_with_absolute_next_and_previous_links(tat):
    ids = [tat.add(pdq(i), "PDQ", updated_on=1000.0 + i) for i in range(5)]
    headers = tat_token(tat)
    page1 = requests.get(f"{tat.url}/hash-list/v2/all?limit=2", headers=headers, timeout=5).json()
    assert [e["id"] for e in page1["results"]] == ids[:2] and page1["count"] == 5
    assert page1["next"] == f"{tat.url}/hash-list/v2/all?limit=2&offset=2&order=asc"
    page2 = requests.get(page1["next"], headers=headers, timeout=5).json()
    assert [e["id"] for e in page2["results"]] == ids[2:4]
    assert page2["previous"] == f"{tat.url}/hash-list/v2/all?limit=2&order=asc"
    page3 = requests.get(page2["next"], headers=headers, timeout=5).json()
    assert [e["id"] for e in page3["results"]] == ids[4:] and page3["next"] is None
    assert page3["checkpoint"] == format_checkpoint(1004.0, ids[4])
    # `after` keeps only entries past a checkpoint; `order=desc` reverses; the ideology path filters.
    after = requests.get(f"{tat.url}/hash-list/v2/all", params={"after": page1["checkpoint"], "order": "desc"},
                         headers=headers, timeout=5).json()
    assert [e["id"] for e in after["results"]] == ids[:1:-1] and after["count"] == 3
    tat.add(pdq(99), "PDQ", ideology="Far-Right")
    far_right = requests.get(f"{tat.url}/hash-list/v2/far-right", headers=headers, timeout=5).json()
    assert [e["hash_digest"] for e in far_right["results"]] == [pdq(99)]
    # Past the end: an empty page whose checkpoint is the one asked from (nothing to advance).
    empty = requests.get(f"{tat.url}/hash-list/v2/all", params={"after": format_checkpoint(9e9, 0)},
                         headers=headers, timeout=5).json()
    assert empty["results"] == [] and empty["count"] == 0 and empty["checkpoint"] == format_checkpoint(9e9, 0)


def test_tat_rejects_missing_bad_and_expired_tokens(tat):
    url = f"{tat.url}/hash-list/v2/all"
    assert requests.get(url, timeout=5).status_code == 401
    r = requests.get(url, headers={"Authorization": "Bearer not.a.token"}, timeout=5)
    assert r.status_code == 401 and "detail" in r.json()
    expired = tat.issue_token("vigil", lifetime=-1)
    r = requests.get(url, headers={"Authorization": f"Bearer {expired}"}, timeout=5)
    assert (r.status_code, r.json()) == (401, {"detail": "Signature has expired."})
    tat.faults.next("expired_token", route="hash_list")  # a fresh token, but the server says expired
    r = requests.get(url, headers=tat_token(tat), timeout=5)
    assert (r.status_code, r.json()) == (401, {"detail": "Signature has expired."})


def test_pytx_tat_fetches_every_entry_with_deletions_and_checkpoint(tat, pytx_tat):
    tat.page_size = 2
    kept_pdq = tat.add(PDQ_A, "PDQ", ideology="Islamist", file_type="jpg")
    video_md5 = tat.add(MD5_A, "MD5", ideology="Far-Right", file_type="mp4")
    tat.add("c" * 32, "MD5", file_type="jpg")  # an image MD5: pytx has no signal type for it
    tat.add("b" * 64, "SHA256", file_type="mp4")  # pytx maps only PDQ and MD5
    tat.add("a" * 128, "SHA512", file_type="pdf")
    gone = tat.add(PDQ_B, "PDQ")
    tat.delete(gone)
    last = tat.store.get(gone)

    merged, checkpoints = fetch_all(pytx_tat)

    assert merged == {
        ("pdq", PDQ_A): state.FetchedSignalMetadata(),
        ("video_md5", MD5_A): state.FetchedSignalMetadata(),
        ("pdq", PDQ_B): None,  # deleted: pytx turns `deleted: true` into a removal
    }
    assert all(isinstance(c, TATCheckpoint) for c in checkpoints)
    assert len(checkpoints) == 3  # 6 live entries, 2 a page
    assert checkpoints[-1].checkpoint == format_checkpoint(last["updated_on"], gone)
    assert checkpoints[-1].get_progress_timestamp() == int(last["updated_on"])
    # pytx logs in again for every page, and pages by offset from the same `after`.
    pages = tat.requests_to("hash_list")
    assert len(tat.requests_to("token")) == len(pages) == 3
    assert [dict(p.query).get("offset") for p in pages] == [None, "2", "4"]
    assert {dict(p.query)["after"] for p in pages} == {""} and kept_pdq and video_md5


def test_pytx_tat_resumes_from_its_checkpoint(tat, pytx_tat):
    first = [tat.add(pdq(i), "PDQ") for i in range(3)]
    merged, checkpoints = fetch_all(pytx_tat)
    assert set(merged) == {("pdq", pdq(i)) for i in range(3)}

    tat.add(PDQ_A, "PDQ")
    tat.delete(first[0])
    tat.update(first[1], file_type="png")  # still PDQ: comes again, unchanged for pytx
    again, later = fetch_all(pytx_tat, checkpoints[-1])

    assert again == {("pdq", PDQ_A): state.FetchedSignalMetadata(), ("pdq", pdq(0)): None,
                     ("pdq", pdq(1)): state.FetchedSignalMetadata()}
    assert dict(tat.requests_to("hash_list")[-1].query)["after"] == checkpoints[-1].checkpoint
    assert later[-1].get_progress_timestamp() >= checkpoints[-1].get_progress_timestamp()
    # Nothing new: pytx yields one empty delta and keeps the checkpoint it had.
    none, same = fetch_all(pytx_tat, later[-1])
    assert none == {} and same == [later[-1]]


def test_pytx_tat_offset_paging_skips_an_entry_that_moves_mid_fetch(tat, pytx_tat):
    """pytx pages by offset over a list that is ordered by updated_on: an entry updated during the
    fetch leaves its place, everything after it shifts down one, and the entry at the page boundary is
    never delivered; the final checkpoint is past it, so the next fetch does not get it either."""
    tat.page_size = 2
    ids = [tat.add(pdq(i), "PDQ", updated_on=100.0 + i) for i in range(6)]
    seen: dict = {}
    it = pytx_tat.fetch_iter([PdqSignal], None)
    seen.update(next(it).updates)  # entries 0, 1
    tat.update(ids[0], file_type="png")  # entry 0 moves to the end: 1, 2, 3, 4, 5, 0
    for delta in it:
        seen.update(delta.updates)
        checkpoint = delta.checkpoint
    assert ("pdq", pdq(2)) not in seen  # offset 2 now points at entry 3: entry 2 was skipped
    assert {("pdq", pdq(i)) for i in (0, 1, 3, 4, 5)} <= set(seen)
    resumed, _ = fetch_all(pytx_tat, checkpoint)
    assert ("pdq", pdq(2)) not in resumed  # and it is not recovered by tailing the checkpoint


def test_pytx_tat_retries_a_5xx_page(tat, pytx_tat):
    tat.page_size = 2
    for i in range(4):
        tat.add(pdq(i), "PDQ")
    tat.faults.add("status", on=2, status=503, route="hash_list")
    merged, _ = fetch_all(pytx_tat)
    assert set(merged) == {("pdq", pdq(i)) for i in range(4)}
    pages = tat.requests_to("hash_list")
    assert len(pages) == 3 and pages[1].query == pages[2].query  # the same request, retried by urllib3


def test_pytx_tat_gives_up_after_five_5xx_and_does_not_retry_a_failed_login(tat, pytx_tat):
    tat.add(PDQ_A, "PDQ")
    tat.faults.add("status", on=1, times=5, status=502, route="hash_list")
    with pytest.raises(requests.exceptions.RetryError):
        fetch_all(pytx_tat)
    assert len(tat.requests_to("hash_list")) == 5  # 1 + Retry(total=4)
    tat.faults.clear()
    tat.faults.reset_counts()
    tat.faults.add("status", on=1, status=503, route="token")
    with pytest.raises(requests.HTTPError):
        fetch_all(pytx_tat)  # a POST is not retried
    assert len(tat.requests_to("token")) == 2 and len(tat.requests_to("hash_list")) == 5


def test_pytx_tat_fails_when_the_token_expires_mid_fetch(tat, pytx_tat):
    tat.page_size = 1
    tat.add(PDQ_A, "PDQ")
    tat.add(PDQ_B, "PDQ")
    tat.faults.add("expired_token", on=2, route="hash_list")
    it = pytx_tat.fetch_iter([PdqSignal], None)
    first = next(it)
    assert first.updates == {("pdq", PDQ_A): state.FetchedSignalMetadata()}
    with pytest.raises(requests.HTTPError) as err:
        next(it)
    assert err.value.response.status_code == 401  # pytx does not log in again and retry


@pytest.mark.parametrize("mode,error", [("truncated", requests.exceptions.JSONDecodeError),
                                        ("not_json", requests.exceptions.JSONDecodeError),
                                        ("wrong_shape", TypeError)])
def test_pytx_tat_fails_on_a_malformed_page(tat, pytx_tat, mode, error):
    tat.page_size = 1
    tat.add(PDQ_A, "PDQ")
    tat.add(PDQ_B, "PDQ")
    tat.faults.add("malformed", on=2, mode=mode, route="hash_list")
    it = pytx_tat.fetch_iter([PdqSignal], None)
    next(it)
    with pytest.raises(error):
        next(it)


def test_delay_and_drop_faults_reach_a_client(tat):
    headers = tat_token(tat)
    tat.faults.add("delay", on=1, seconds=3, route="hash_list")
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{tat.url}/hash-list/v2/all", headers=headers, timeout=0.5)
    assert time.monotonic() - started < 2
    tat.faults.add("drop", on=2, route="hash_list")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{tat.url}/hash-list/v2/all", headers=headers, timeout=5)
    assert requests.get(f"{tat.url}/hash-list/v2/all", headers=headers, timeout=5).status_code == 200


def test_tat_serves_a_million_generated_entries_lazily(tat):
    started = time.monotonic()
    params = tat.add_synthetic(1_000_000, t0=1_600_000_000.0, step=0.25, seed="bench", deleted_every=97)
    assert time.monotonic() - started < 0.1  # nothing is materialised
    headers = tat_token(tat)
    page = requests.get(f"{tat.url}/hash-list/v2/all", params={"offset": 999_000}, headers=headers, timeout=10)
    assert page.headers.get("Transfer-Encoding") == "chunked"
    body = page.json()
    assert body["count"] == 1_000_000 and len(body["results"]) == 1000 and body["next"] is None
    gen = {k: params[k] for k in ("seed", "first_id", "t0", "step", "algorithms", "ideologies", "file_types",
                                  "deleted_every")}
    assert body["results"][0] == synthetic_entry(i=999_000, **gen)
    assert body["results"][-1] == synthetic_entry(i=999_999, **gen)
    # a checkpoint in the middle is found by bisection
    mid = synthetic_entry(i=500_000, **gen)
    after = requests.get(f"{tat.url}/hash-list/v2/all", headers=headers, timeout=10,
                         params={"after": format_checkpoint(mid["updated_on"], mid["id"]), "limit": 1}).json()
    assert after["count"] == 499_999 and after["results"] == [synthetic_entry(i=500_001, **gen)]
    # an update to a generated entry moves it to the end, like any other
    tat.delete(mid["id"])
    tail = requests.get(f"{tat.url}/hash-list/v2/all", params={"order": "desc", "limit": 1}, headers=headers,
                        timeout=10).json()
    assert tail["results"][0]["id"] == mid["id"] and tail["results"][0]["deleted"] is True
    assert tail["count"] == 1_000_000


def test_pytx_tat_fetches_a_generated_list_completely(tat, pytx_tat):
    params = tat.add_synthetic(5_000, seed="check", deleted_every=50)
    gen = {k: params[k] for k in ("seed", "first_id", "t0", "step", "algorithms", "ideologies", "file_types",
                                  "deleted_every")}
    merged, checkpoints = fetch_all(pytx_tat)
    expected = {}
    for i in range(5_000):
        e = synthetic_entry(i=i, **gen)
        if e["algorithm"] == "PDQ" or (e["algorithm"] == "MD5" and e["file_type"] in ("mov", "m4v", "mp4", "webm")):
            key = ("pdq" if e["algorithm"] == "PDQ" else "video_md5", e["hash_digest"])
            expected[key] = None if e["deleted"] else state.FetchedSignalMetadata()
    assert merged == expected and len(checkpoints) == 5
    assert any(v is None for v in merged.values())


def test_tat_admin_routes_load_entries_and_set_faults(tat):
    lines = "\n".join(json.dumps(e) for e in PYTX_FIXTURE)
    assert requests.post(f"{tat.url}/_standin/entries", data=lines, timeout=5).json()["added"] == 3
    assert requests.post(f"{tat.url}/_standin/faults", json={"kind": "status", "on": 1, "status": 500,
                                                             "route": "hash_list"}, timeout=5).ok
    headers = tat_token(tat)
    assert requests.get(f"{tat.url}/hash-list/v2/all", headers=headers, timeout=5).status_code == 500
    assert requests.get(f"{tat.url}/hash-list/v2/all", headers=headers, timeout=5).json()["count"] == 3
    updated = requests.post(f"{tat.url}/_standin/update", json={"id": 2820, "deleted": True}, timeout=5).json()
    assert updated["deleted"] is True and updated["id"] == 2820
    assert requests.get(f"{tat.url}/_standin/stats", timeout=5).json()["live"] == 3


def _start_cli(args: list[str]) -> tuple[subprocess.Popen, str, list[str]]:
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    lines = [proc.stdout.readline().strip()]
    assert lines[0].startswith("http://127.0.0.1:"), lines
    return proc, lines[0], lines


def test_tat_command_line_serves_a_loaded_file(tmp_path, monkeypatch):
    src = tmp_path / "hashes.jsonl"
    src.write_text("".join(json.dumps(e) + "\n" for e in PYTX_FIXTURE))
    proc, url, _ = _start_cli(["tools/standins/tat.py", "--port", "0", "--load", str(src), "--user", "u:p"])
    try:
        monkeypatch.setattr(TATHashListAPI, "BASE_URL", url + "/")
        merged, checkpoints = fetch_all(TATSignalExchangeAPI("u", "p"))
        assert merged == {("video_md5", "123abc"): state.FetchedSignalMetadata(),
                          ("video_md5", "456def"): state.FetchedSignalMetadata(),
                          ("pdq", "789ghi"): state.FetchedSignalMetadata()}
        assert checkpoints[-1].checkpoint == "1704901040.25555,2821"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pytx_tat_has_no_opinion_write_back():
    with pytest.raises(NotImplementedError):
        TATSignalExchangeAPI("u", "p").report_opinion(PdqSignal, PDQ_A, state.SignalOpinion(True, CAT.POSITIVE_CLASS, set()))


# ---------------------------------------------------------------------------------------------------
# Meta ThreatExchange (Graph API)
# ---------------------------------------------------------------------------------------------------

T0 = 1_700_000_000
GRAPH_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000")  # "added_on": "2019-11-09T02:58:41+0000"


@pytest.fixture
def te():
    with ThreatExchangeStandin() as server:
        server.now = T0
        server.me = server.add_app("Vigil Test App")
        server.other = server.add_app("GIFCT Member")
        server.group = server.add_privacy_group("GIFCT HSDB", owner=server.other.id, members=[server.me.id],
                                                description="hash-sharing test group")
        yield server


@pytest.fixture
def client(te):
    return ThreatExchangeAPI(te.me.token, endpoint_override=f"{te.url}/v26.0")


@pytest.fixture
def exchange(te, client):
    return FBThreatExchangeSignalExchangeAPI(client, FBThreatExchangeCollabConfig(name="GIFCT", privacy_group=te.group.id))


def graph(te, method, path, token=None, **params):
    if token is not False:
        params.setdefault("access_token", token or te.me.token)
    return requests.request(method, f"{te.url}{path}", params=params, timeout=5)


def test_te_submit_read_edit_delete_as_in_metas_curl_examples(te):
    """facebook/ThreatExchange api-reference-examples/curl/te-tag-query/README.md, "Submit a new threat
    descriptor" / "read-back" / "Edit an existing threat descriptor"; and reference/deleting."""
    r = graph(te, "POST", "/v4.0/threat_descriptors/", type="HASH_SHA1", description="API testing",
              share_level="AMBER", status="NON_MALICIOUS", privacy_type="HAS_WHITELIST",
              privacy_members=str(te.other.id), tags="testing_java_post",
              indicator="85fc2d2a3764089191e57cd55260127800005c46")
    assert r.status_code == 200 and r.json()["success"] is True and r.json()["id"].isdigit()  # {"success":true,"id":"3047058802049882"}
    new_id = r.json()["id"]
    fields = "raw_indicator,type,added_on,last_updated,confidence,owner,privacy_type,review_status,status,severity,share_level,tags,description"
    read = graph(te, "GET", "/v4.0/", ids=f"[{new_id}]", fields=fields).json()
    assert list(read) == [new_id]
    d = read[new_id]
    assert set(d) == set(fields.split(",")) | {"id"}
    assert d["raw_indicator"] == "85fc2d2a3764089191e57cd55260127800005c46" and d["type"] == "HASH_SHA1"
    assert d["status"] == "NON_MALICIOUS" and d["privacy_type"] == "HAS_WHITELIST" and d["share_level"] == "AMBER"
    assert set(d["owner"]) == {"id", "email", "name"} and d["owner"]["id"] == str(te.me.id)
    assert [t["text"] for t in d["tags"]["data"]] == ["testing_java_post"] and set(d["tags"]["data"][0]) == {"id", "text"}
    assert GRAPH_TIME.fullmatch(d["added_on"]) and GRAPH_TIME.fullmatch(d["last_updated"])
    # whitelisted: the other app sees it too
    assert graph(te, "GET", f"/{new_id}", token=te.other.token).status_code == 200

    te.now = T0 + 37
    assert graph(te, "POST", f"/v4.0/{new_id}/", description="Updating description").json() == {"success": True}
    again = graph(te, "GET", "/v4.0/", ids=f"[{new_id}]", fields=fields).json()[new_id]
    assert again["description"] == "Updating description" and again["last_updated"] != d["last_updated"]

    assert graph(te, "DELETE", f"/v4.0/{new_id}").json() == {"success": True}
    gone = graph(te, "GET", f"/v4.0/{new_id}")
    assert gone.status_code == 400 and gone.json()["error"]["code"] == 100


def test_te_reacting_as_documented(te):
    """reference/reacting: "POST to https://graph.facebook.com/v4.0/952030561511282?reactions=HELPFUL,SAW_THIS_TOO"
    then "GET ...?fields=id,my_reactions,reactions": my_reactions are yours, reactions map type to apps."""
    d = te.add_descriptor(te.other.id, PDQ_A, "HASH_PDQ", privacy_groups=[te.group.id])
    r = graph(te, "POST", f"/v6.0/{d.id}/", reactions="HELPFUL,SAW_THIS_TOO")
    assert r.json() == {"success": True}  # as in the curl README
    got = graph(te, "GET", f"/v4.0/{d.id}", fields="id,my_reactions,reactions").json()
    assert got == {"id": str(d.id), "my_reactions": ["HELPFUL", "SAW_THIS_TOO"],
                   "reactions": [{"key": "HELPFUL", "value": str(te.me.id)},
                                 {"key": "SAW_THIS_TOO", "value": str(te.me.id)}]}
    graph(te, "POST", f"/{d.id}", reactions_to_remove="SAW_THIS_TOO")
    assert graph(te, "GET", f"/{d.id}", fields="my_reactions").json()["my_reactions"] == ["HELPFUL"]
    own = graph(te, "POST", f"/{d.id}", token=te.other.token, reactions="HELPFUL")  # not on your own
    assert own.status_code == 400 and own.json()["error"]["code"] == 100


def test_te_tags_indicators_and_descriptors_edges_as_documented(te):
    """curl README "Step 1: tag text to tag ID" (prefix match, paging cursors) and "Step 2: tagged_objects";
    reference/apis/threat-indicator: GET /{id}/ -> {"indicator", "type", "id"} and /{id}/descriptors/."""
    d1 = te.add_descriptor(te.other.id, "ginuwine1551474919abc-2.evilevillabs.com", "DOMAIN",
                           privacy_groups=[te.group.id], tags=["pwny", "testing"])
    te.add_descriptor(te.other.id, "e8b19da37825a3056e84c522f05ee081", "HASH_MD5", privacy_groups=[te.group.id],
                      tags=["pwny2"])
    tags = graph(te, "GET", "/v4.0/threat_tags/", text="pwny", limit=10).json()
    assert sorted(t["text"] for t in tags["data"]) == ["pwny", "pwny2"]
    assert set(tags["paging"]["cursors"]) == {"before", "after"} and "next" not in tags["paging"]
    pwny = next(t["id"] for t in tags["data"] if t["text"] == "pwny")
    tagged = graph(te, "GET", f"/v4.0/{pwny}/tagged_objects/", limit=100).json()
    assert tagged["data"] == [{"id": str(d1.id), "type": "THREAT_DESCRIPTOR",
                               "name": "ginuwine1551474919abc-2.evilevillabs.com"}]
    ind = graph(te, "GET", f"/v24.0/{d1.indicator}/").json()
    assert ind == {"indicator": "ginuwine1551474919abc-2.evilevillabs.com", "type": "DOMAIN", "id": str(d1.indicator)}
    descs = graph(te, "GET", f"/v24.0/{d1.indicator}/descriptors/").json()["data"]
    assert [x["id"] for x in descs] == [str(d1.id)]
    assert descs[0]["indicator"] == ind and descs[0]["owner"]["id"] == str(te.other.id)


def test_te_errors_have_the_graph_api_shape(te):
    """graph-api/guides/error-handling: {"error": {"message", "type": "OAuthException", "code": 190,
    "error_subcode": 460, "error_user_title", "error_user_msg", "fbtrace_id"}}."""
    bad = graph(te, "GET", f"/{te.me.id}/threat_privacy_groups_member", token=f"{te.me.id}|wrong-secret-000000000")
    assert bad.status_code == 400
    err = bad.json()["error"]
    assert err["type"] == "OAuthException" and err["code"] == 190 and err["fbtrace_id"] and err["message"]
    missing = graph(te, "GET", f"/{te.me.id}/threat_privacy_groups_member", token=False)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == 104
    te.expire_token(te.me.token)
    expired = graph(te, "GET", f"/{te.me.id}/threat_privacy_groups_member").json()["error"]
    assert (expired["code"], expired["error_subcode"]) == (190, 463)
    nothing = graph(te, "GET", "/123456789", token=te.other.token).json()["error"]
    assert (nothing["code"], nothing["error_subcode"]) == (100, 33)
    field = graph(te, "GET", f"/{te.group.id}", token=te.other.token, fields="id,no_such_field").json()["error"]
    assert field["code"] == 100 and "no_such_field" in field["message"]


def test_te_threat_updates_pages_with_cursors_and_keeps_deletions(te):
    """reference/apis/threat-updates ("should_delete" false: created or updated; true: removed from the
    group or deleted; ordered by update time; 500 for a group without /threat_updates) and
    graph-api/results ("paging": {"cursors": {"after", "before"}, "next"}; no `next` on the last page)."""
    ds = [te.add_descriptor(te.other.id, pdq(i), "HASH_PDQ", privacy_groups=[te.group.id]) for i in range(5)]
    te.now = T0 + 10
    te.delete_descriptor(ds[0].id)
    url = f"/v26.0/{te.group.id}/threat_updates"
    page = graph(te, "GET", url, limit=2, fields="id,indicator,type,last_updated,should_delete").json()
    assert [u["indicator"] for u in page["data"]] == [pdq(1), pdq(2)]
    assert set(page["paging"]["cursors"]) == {"before", "after"} and page["paging"]["next"].startswith(te.url)
    seen = list(page["data"])
    while "next" in page.get("paging", {}):
        page = requests.get(page["paging"]["next"], timeout=5).json()
        seen += page["data"]
    assert [u["indicator"] for u in seen] == [pdq(1), pdq(2), pdq(3), pdq(4), pdq(0)]
    assert [u["should_delete"] for u in seen] == [False] * 4 + [True]
    assert [u["last_updated"] for u in seen] == [T0] * 4 + [T0 + 10]
    assert set(seen[0]) == {"id", "indicator", "type", "last_updated", "should_delete"}
    # start_time inclusive, stop_time exclusive
    window = graph(te, "GET", url, start_time=T0 + 10, fields="indicator").json()["data"]
    assert [u["indicator"] for u in window] == [pdq(0)]
    assert graph(te, "GET", url, stop_time=T0 + 10, fields="indicator").json()["data"][-1]["indicator"] == pdq(4)
    # deletion events are kept 90 days
    te.now = T0 + 10 + 91 * 24 * 3600
    assert pdq(0) not in [u["indicator"] for u in graph(te, "GET", url, fields="indicator").json()["data"]]
    # a group without /threat_updates enabled: 500
    off = te.add_privacy_group("off", owner=te.other.id, members=[te.me.id], threat_updates_enabled=False)
    assert graph(te, "GET", f"/{off.id}/threat_updates").status_code == 500
    # not a member: no such object
    private = te.add_privacy_group("private", owner=te.other.id)
    assert graph(te, "GET", f"/{private.id}/threat_updates").json()["error"]["code"] == 100


def test_pytx_te_lists_the_groups_the_app_is_a_member_of(te, client):
    te.add_privacy_group("not mine", owner=te.other.id)
    groups = client.get_threat_privacy_groups_member()
    assert [(g.id, g.name, g.threat_updates_enabled) for g in groups] == [(str(te.group.id), "GIFCT HSDB", True)]
    assert client.get_privacy_group(te.group.id).description == "hash-sharing test group"
    assert client.get_threat_privacy_groups_owner() == []


def _put_te_records(te):
    """A privacy group's worth of records with every case pytx handles."""
    other, me, g = te.other.id, te.me.id, te.group.id
    third = te.add_app("Third Member")
    te.group.members.add(third.id)
    plain = [te.add_descriptor(other, pdq(i), "HASH_PDQ", privacy_groups=[g], tags=["tvec"]) for i in range(230)]
    video = te.add_descriptor(other, MD5_A, "HASH_MD5", privacy_groups=[g], tags=["media_type_video", "tvec"])
    video2 = te.add_descriptor(third.id, "c" * 32, "HASH_VIDEO_MD5", privacy_groups=[g], status="SUSPICIOUS")
    disputed = te.add_descriptor(other, PDQ_A, "HASH_PDQ", privacy_groups=[g], tags=["tvec"])
    mine = te.add_descriptor(me, PDQ_A, "HASH_PDQ", privacy_groups=[g], status="NON_MALICIOUS")
    helpful = te.add_descriptor(other, PDQ_B, "HASH_PDQ", privacy_groups=[g])
    te.react(helpful.id, third.id, "HELPFUL")
    te.react(helpful.id, me, "DISAGREE_WITH_TAGS")
    expiring = te.add_descriptor(other, "9" * 64, "HASH_PDQ", privacy_groups=[g], expired_on=T0 + 5)
    deleted = te.add_descriptor(other, "8" * 64, "HASH_PDQ", privacy_groups=[g])
    te.delete_descriptor(deleted.id)
    elsewhere = te.add_privacy_group("elsewhere", owner=other)
    te.add_descriptor(other, "7" * 64, "HASH_PDQ", privacy_groups=[elsewhere.id])
    return locals()


def test_pytx_te_fetches_every_record_with_opinions_tags_and_deletions(te, exchange):
    r = _put_te_records(te)
    te.now = T0 + 60  # the expiring descriptor has expired
    deltas = list(exchange.fetch_iter([PdqSignal, VideoMD5Signal], None))

    assert [len(d.updates) for d in deltas] == [100, 100, 36]  # 236 indicators; pytx asks for 100 a page
    merged: dict = {}
    for d in deltas:
        merged.update(d.updates)
    assert len(merged) == 236 and ("HASH_PDQ", "7" * 64) not in merged  # not shared with this group
    assert deltas[-1].checkpoint.update_time == T0 + 60  # the expiry is the last update
    assert isinstance(deltas[-1].checkpoint, FBThreatExchangeCheckpoint)
    assert merged[("HASH_PDQ", "9" * 64)] is None  # expired -> should_delete
    assert merged[("HASH_PDQ", "8" * 64)] is None  # deleted -> should_delete

    def opinions(key):
        return {(o.owner_app_id, o.is_mine, o.category, frozenset(o.tags), o.descriptor_id)
                for o in merged[key].get_as_opinions()}

    other, me, third = te.other.id, te.me.id, r["third"].id
    for d in r["plain"]:
        assert opinions(("HASH_PDQ", d.indicator and te.indicators[d.indicator].indicator)) == {
            (other, False, CAT.POSITIVE_CLASS, frozenset({"tvec"}), d.id)}
    assert opinions(("HASH_MD5", MD5_A)) == {(other, False, CAT.POSITIVE_CLASS, frozenset({"media_type_video", "tvec"}), r["video"].id)}
    assert opinions(("HASH_VIDEO_MD5", "c" * 32)) == {(third, False, CAT.INVESTIGATION_SEED, frozenset(), r["video2"].id)}
    assert opinions(("HASH_PDQ", PDQ_A)) == {(other, False, CAT.POSITIVE_CLASS, frozenset({"tvec"}), r["disputed"].id),
                                             (me, True, CAT.NEGATIVE_CLASS, frozenset(), r["mine"].id)}
    assert merged[("HASH_PDQ", PDQ_A)].get_as_aggregate_opinion().category == state.AggregateSignalOpinionCategory.DISPUTED
    rx = FBThreatExchangeOpinion.REACTION_DESCRIPTOR_ID
    assert opinions(("HASH_PDQ", PDQ_B)) == {(other, False, CAT.POSITIVE_CLASS, frozenset(), r["helpful"].id),
                                             (third, False, CAT.POSITIVE_CLASS, frozenset(), rx),
                                             (me, True, CAT.NEGATIVE_CLASS, frozenset(), rx)}

    by_type = FBThreatExchangeSignalExchangeAPI.naive_convert_to_signal_type([PdqSignal, VideoMD5Signal], exchange.collab, merged)
    assert set(by_type[VideoMD5Signal]) == {MD5_A, "c" * 32}  # HASH_MD5 counts as video only with media_type_video
    assert len(by_type[PdqSignal]) == 232

    sent = dict(te.requests_to("threat_updates")[0].query)
    assert sent["limit"] == "100" and "start_time" not in sent
    # fetch_iter asks with ThreatUpdateJSON's fields (SimpleDescriptorRollup's), which leave out the
    # descriptors' `id`: pytx relies on Graph returning `id` on every node unasked, as the stand-in does.
    assert sent["fields"] == ("id,indicator,type,last_updated,should_delete,"
                              "descriptors{reactions,my_reactions,owner{id},tags,status,added_on}")


def test_pytx_te_tails_from_its_checkpoint(te, exchange):
    r = _put_te_records(te)
    te.now = T0 + 60
    checkpoint = list(exchange.fetch_iter([PdqSignal], None))[-1].checkpoint

    te.now = T0 + 120
    te.update_descriptor(r["plain"][0].id, tags=["tvec", "livestream"])
    te.delete_descriptor(r["plain"][1].id)
    te.update_descriptor(r["plain"][2].id, privacy_groups=[])  # removed from the group
    te.add_descriptor(te.other.id, "6" * 64, "HASH_PDQ", privacy_groups=[te.group.id])
    deltas = list(exchange.fetch_iter([PdqSignal], checkpoint))

    merged = {k: v for d in deltas for k, v in d.updates.items()}
    # start_time is the checkpoint itself (inclusive): the expiry event of that same second comes again
    assert set(merged) == {("HASH_PDQ", pdq(0)), ("HASH_PDQ", pdq(1)), ("HASH_PDQ", pdq(2)), ("HASH_PDQ", "6" * 64),
                           ("HASH_PDQ", "9" * 64)}
    assert merged[("HASH_PDQ", "9" * 64)] is None
    assert merged[("HASH_PDQ", pdq(1))] is None and merged[("HASH_PDQ", pdq(2))] is None
    assert merged[("HASH_PDQ", pdq(0))].opinions[0].tags == {"tvec", "livestream"}
    assert deltas[-1].checkpoint.update_time == T0 + 120
    assert dict(te.requests_to("threat_updates")[-1].query)["start_time"] == str(T0 + 60)


def test_pytx_te_fetch_with_nothing_new_fails_its_own_assertion(te, exchange):
    """With no update since the checkpoint the API answers {"data": []}; pytx's fetch_iter then trips
    `assert batch, "empty update?"` instead of ending. Who wraps pytx must catch this."""
    te.add_descriptor(te.other.id, PDQ_A, "HASH_PDQ", privacy_groups=[te.group.id])
    with pytest.raises(AssertionError, match="empty update"):
        list(exchange.fetch_iter([PdqSignal], FBThreatExchangeCheckpoint(T0 + 1)))


def test_pytx_te_for_collab_reaches_the_standin_through_its_base_url(te, monkeypatch):
    te.add_descriptor(te.other.id, PDQ_A, "HASH_PDQ", privacy_groups=[te.group.id])
    monkeypatch.setattr(ThreatExchangeAPI, "_TE_BASE_URL", f"{te.url}/v26.0")
    with FBThreatExchangeCredentials.set_default(FBThreatExchangeCredentials(te.me.token), "test"):
        api = FBThreatExchangeSignalExchangeAPI.for_collab(
            FBThreatExchangeCollabConfig(name="GIFCT", privacy_group=te.group.id))
    assert set(next(api.fetch_iter([PdqSignal], None)).updates) == {("HASH_PDQ", PDQ_A)}


def test_pytx_te_reactions_are_written_back_and_read_as_my_opinions(te, client, exchange):
    d = te.add_descriptor(te.other.id, PDQ_A, "HASH_PDQ", privacy_groups=[te.group.id])
    d2 = te.add_descriptor(te.other.id, PDQ_B, "HASH_PDQ", privacy_groups=[te.group.id])
    assert client.react_upvote_threat_descriptor(d.id) == [None, None, {"success": True}]
    assert client.react_matched_threat_descriptor(d.id)[2] == {"success": True}
    assert client.react_to_threat_descriptor(d2.id, "DISAGREE_WITH_TAGS")[2] == {"success": True}
    assert te.descriptors[d.id].reactions == {"HELPFUL": {te.me.id}, "SAW_THIS_TOO": {te.me.id}}
    post = te.requests_to("write")[0]
    assert post.method == "POST" and dict(post.query)["reactions"] == "HELPFUL" and post.body == b"reactions=HELPFUL"

    te.now = T0 + 1
    merged = {k: v for delta in exchange.fetch_iter([PdqSignal], None) for k, v in delta.updates.items()}
    mine = {k: [o for o in v.opinions if o.is_mine] for k, v in merged.items()}
    assert [(o.category, o.descriptor_id) for o in mine[("HASH_PDQ", PDQ_A)]] == [(CAT.POSITIVE_CLASS, -1)]
    assert [(o.category, o.descriptor_id) for o in mine[("HASH_PDQ", PDQ_B)]] == [(CAT.NEGATIVE_CLASS, -1)]

    assert client.remove_reaction_from_threat_descriptor(d.id, "HELPFUL")[2] == {"success": True}
    assert te.descriptors[d.id].reactions == {"SAW_THIS_TOO": {te.me.id}}
    refused = client.react_upvote_threat_descriptor(te.add_descriptor(te.me.id, "5" * 64, "HASH_PDQ",
                                                                      privacy_groups=[te.group.id]).id)
    assert refused[2]["error"]["code"] == 100  # pytx hands back the error body; it does not raise
    # pytx 1.2.17's exchange API has no opinion write-back: report_opinion is the base's NotImplementedError
    with pytest.raises(NotImplementedError):
        exchange.report_opinion(PdqSignal, PDQ_A, state.SignalOpinion(True, CAT.POSITIVE_CLASS, set()))


def test_pytx_te_does_not_retry_a_5xx_page(te, exchange):
    for i in range(150):
        te.add_descriptor(te.other.id, pdq(i), "HASH_PDQ", privacy_groups=[te.group.id])
    te.faults.add("status", on=2, status=503, route="threat_updates")
    it = exchange.fetch_iter([PdqSignal], None)
    assert len(next(it).updates) == 100
    with pytest.raises(requests.HTTPError) as err:
        next(it)
    assert err.value.response.status_code == 503
    assert err.value.response.json()["error"]["code"] == 2
    assert len(te.requests_to("threat_updates")) == 2  # get_json_from_url uses bare requests.get: no retry


def test_pytx_te_fails_on_an_expired_token_and_on_malformed_pages(te, exchange):
    for i in range(150):
        te.add_descriptor(te.other.id, pdq(i), "HASH_PDQ", privacy_groups=[te.group.id])
    te.faults.add("expired_token", on=2, route="threat_updates")
    it = exchange.fetch_iter([PdqSignal], None)
    next(it)
    with pytest.raises(requests.HTTPError) as err:
        next(it)
    assert err.value.response.status_code == 400
    assert (err.value.response.json()["error"]["code"], err.value.response.json()["error"]["error_subcode"]) == (190, 463)

    for mode, error in (("truncated", requests.exceptions.JSONDecodeError), ("wrong_shape", (AttributeError, TypeError))):
        te.faults.clear()
        te.faults.reset_counts()
        te.faults.add("malformed", on=2, mode=mode, route="threat_updates")
        it = exchange.fetch_iter([PdqSignal], None)
        next(it)
        with pytest.raises(error):
            next(it)


def test_te_command_line_serves_a_loaded_file(tmp_path):
    spec = {"apps": [{"name": "Vigil"}, {"name": "Member"}],
            "privacy_groups": [{"name": "HSDB", "owner": 1, "members": [0]}],
            "descriptors": [{"owner": 1, "indicator": PDQ_A, "type": "HASH_PDQ", "privacy_groups": [0], "tags": ["tvec"]}]}
    src = tmp_path / "te.json"
    src.write_text(json.dumps(spec))
    proc = subprocess.Popen([sys.executable, "tools/standins/threatexchange.py", "--port", "0", "--load", str(src)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        url = proc.stdout.readline().strip()
        loaded = json.loads(proc.stdout.readline())
        client = ThreatExchangeAPI(loaded["apps"][0]["token"], endpoint_override=url)
        api = FBThreatExchangeSignalExchangeAPI(client, FBThreatExchangeCollabConfig(name="H", privacy_group=loaded["privacy_groups"][0]))
        updates = next(api.fetch_iter([PdqSignal], None)).updates
        assert [o.tags for o in updates[("HASH_PDQ", PDQ_A)].opinions] == [{"tvec"}]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
