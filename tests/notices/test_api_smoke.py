from .conftest import auth, notice


def test_notice_case_decision_roundtrip(client, role_keys):
    r = client.post("/v1/notices", json=notice("c1"), headers=auth(role_keys, "submitter"))
    assert r.status_code == 202, r.text
    body = r.json()
    assert set(body) >= {"notice_id", "case_id", "receipt"}
    r = client.get("/v1/cases", headers=auth(role_keys, "reviewer"))
    assert r.status_code == 200, r.text
    assert [c["id"] for c in r.json()] == [body["case_id"]]
    r = client.post(f"/v1/cases/{body['case_id']}/decision", headers=auth(role_keys, "reviewer"), json={
        "action": "remove", "territorial_scope": [], "ground": {"type": "legal", "reference": "TCO Art. 2(7)"},
        "explanation": "Glorifies an attack."})
    assert r.status_code == 201, r.text
    assert r.json()["id"] > 0
