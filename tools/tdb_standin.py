"""A local stand-in for the EU DSA Transparency Database API, for tests and demos on loopback.

It follows the documented API (transparency.dsa.ec.europa.eu/page/api-documentation):
`POST /api/v1/statement` (one statement) and `POST /api/v1/statements` ({"statements": [1..100]}),
Bearer token, 201 on success, 422 with {"message", "errors": {field: [messages]}} on failure
(in a batch the fields are prefixed `statements.<n>.` and nothing is stored), and a puid that must
be unique per platform. Validation is written here from the documentation, independently of Vigil's
own, so that a mistake in one shows up against the other.

    python tools/tdb_standin.py --port 8787 --token secret
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import uuid
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUIRED = ["decision_ground", "content_type", "category", "content_date", "application_date", "decision_facts",
            "source_type", "automated_detection", "automated_decision", "puid"]
ENUMS = {
    "decision_ground": {"DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"},
    "source_type": {"SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER", "SOURCE_TYPE_OTHER_NOTIFICATION", "SOURCE_VOLUNTARY"},
    "automated_detection": {"Yes", "No"},
    "automated_decision": {"AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED"},
    "decision_account": {"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"},
}
LIST_ENUMS = {
    "content_type": {"CONTENT_TYPE_TEXT", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_VIDEO", "CONTENT_TYPE_AUDIO",
                     "CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_APP", "CONTENT_TYPE_PRODUCT", "CONTENT_TYPE_OTHER"},
    "decision_visibility": {"DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED",
                            "DECISION_VISIBILITY_CONTENT_DEMOTED", "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
                            "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED", "DECISION_VISIBILITY_CONTENT_LABELLED",
                            "DECISION_VISIBILITY_OTHER"},
}
DECISIONS = ["decision_visibility", "decision_monetary", "decision_provision", "decision_account"]
PUID = re.compile(r"^[a-zA-Z0-9\-_]+$")
MAX_BATCH = 100


def is_day(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def check(s: object) -> dict[str, list[str]]:
    """Field -> messages for one statement, as the Database reports them."""
    if not isinstance(s, dict):
        return {"statement": ["The statement must be an object."]}
    errors: dict[str, list[str]] = {}

    def err(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for name in REQUIRED:
        if s.get(name) in (None, "", []):
            err(name, f"The {name.replace('_', ' ')} field is required.")
    for name, allowed in ENUMS.items():
        if name in s and not (isinstance(s[name], str) and s[name] in allowed):
            err(name, f"The selected {name.replace('_', ' ')} is invalid.")
    for name, allowed in LIST_ENUMS.items():
        value = s.get(name)
        if name in s and (not isinstance(value, list) or not value
                          or not all(isinstance(v, str) and v in allowed for v in value)):
            err(name, f"The selected {name.replace('_', ' ')} is invalid.")
    if "category" in s and not (isinstance(s["category"], str) and s["category"].startswith("STATEMENT_CATEGORY_")):
        err("category", "The selected category is invalid.")
    for name in ("content_date", "application_date"):
        value = s.get(name)
        if value not in (None, "") and not is_day(value):
            err(name, f"The {name.replace('_', ' ')} does not match the format Y-m-d.")
    if is_day(s.get("content_date")) and s["content_date"] < "2000-01-01":
        err("content_date", "The content date must be a date after or equal to 2000-01-01.")
    for name in ("decision_facts", "illegal_content_legal_ground", "illegal_content_explanation",
                 "incompatible_content_ground", "incompatible_content_explanation"):
        if s.get(name) not in (None, "") and not isinstance(s[name], str):
            err(name, f"The {name.replace('_', ' ')} must be a string.")
    if isinstance(s.get("decision_facts"), str) and len(s["decision_facts"]) > 5000:
        err("decision_facts", "The decision facts must not be greater than 5000 characters.")
    puid = s.get("puid")
    if puid not in (None, "") and not (isinstance(puid, str) and len(puid) <= 500 and PUID.match(puid)):
        err("puid", "The puid format is invalid.")
    if not any(s.get(name) for name in DECISIONS):
        err("decision_visibility", "At least one of decision_visibility, decision_monetary, decision_provision "
            "or decision_account is required.")
    if s.get("decision_ground") == "DECISION_GROUND_ILLEGAL_CONTENT":
        for name in ("illegal_content_legal_ground", "illegal_content_explanation"):
            if not s.get(name):
                err(name, f"The {name.replace('_', ' ')} field is required when decision ground is illegal content.")
    if s.get("decision_ground") == "DECISION_GROUND_INCOMPATIBLE_CONTENT":
        for name in ("incompatible_content_ground", "incompatible_content_explanation"):
            if not s.get(name):
                err(name, f"The {name.replace('_', ' ')} field is required when decision ground is incompatible content.")
    scope = s.get("territorial_scope")
    if scope is not None and not (isinstance(scope, list) and all(isinstance(c, str) and re.fullmatch(r"[A-Z]{2}", c) for c in scope)):
        err("territorial_scope", "The selected territorial scope is invalid.")
    return errors


DUPLICATE = "The identifier given is not unique within this platform."


class Database:
    """The stored statements of one platform (the token's owner)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statements: dict[str, dict] = {}
        self.requests = 0

    def store(self, batch: list) -> tuple[int, dict]:
        errors: dict[str, list[str]] = {}
        with self.lock:
            seen: set[str] = set()
            for i, s in enumerate(batch):
                found = check(s)
                puid = s.get("puid") if isinstance(s, dict) else None
                if isinstance(puid, str) and (puid in self.statements or puid in seen):
                    found.setdefault("puid", []).append(DUPLICATE)
                if isinstance(puid, str):
                    seen.add(puid)
                for name, messages in found.items():
                    errors[f"statements.{i}.{name}"] = messages
            if errors:
                first = next(iter(errors.values()))[0]
                more = sum(len(m) for m in errors.values()) - 1
                return 422, {"message": first + (f" (and {more} more errors)" if more else ""), "errors": errors}
            created = []
            for s in batch:
                stored = {**s, "uuid": str(uuid.uuid4()), "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")}
                self.statements[s["puid"]] = stored
                created.append(stored)
        return 201, {"statements": created}


def make_server(host: str = "127.0.0.1", port: int = 0, token: str = "standin-token") -> ThreadingHTTPServer:
    db = Database()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet: tests read the results, not the log
            pass

        def reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            db.requests += 1
            if self.headers.get("Authorization") != f"Bearer {token}":
                self.reply(401, {"message": "Unauthenticated."})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"null")
            except (ValueError, UnicodeDecodeError):
                self.reply(400, {"message": "The request body is not valid JSON."})
                return
            if self.path == "/api/v1/statement":
                status, body = db.store([payload])
                if status == 422:
                    body["errors"] = {k.split(".", 2)[2]: v for k, v in body["errors"].items()}
                else:
                    body = body["statements"][0]
                self.reply(status, body)
            elif self.path == "/api/v1/statements":
                batch = payload.get("statements") if isinstance(payload, dict) else None
                if not isinstance(batch, list) or not 1 <= len(batch) <= MAX_BATCH:
                    self.reply(422, {"message": f"The statements field must have between 1 and {MAX_BATCH} items.",
                                     "errors": {"statements": [f"The statements field must have between 1 and {MAX_BATCH} items."]}})
                    return
                self.reply(*db.store(batch))
            else:
                self.reply(404, {"message": "Not found."})

    server = ThreadingHTTPServer((host, port), Handler)
    server.db = db  # type: ignore[attr-defined]
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--token", default="standin-token")
    args = parser.parse_args()
    server = make_server(args.host, args.port, args.token)
    print(f"Transparency Database stand-in on http://{args.host}:{server.server_address[1]} (token {args.token})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
