"""Send pending statements of reasons to the EU Transparency Database, at least once, in batches of 100.

The `statements` table is the outbox: a statement stays pending until the Database accepted it. The answers
handled are the Database's own (read from its controllers, vigil/transparency/data/tdb_rules.json):
- 201: every statement of the batch is stored.
- 422 with `errors` keyed `statement_<i>` (0-based, each a {field: [messages]} map): the Database refused the
  WHOLE batch and stored nothing. The statements named are marked failed with its words; the rest are sent
  again at once.
- 422 with `errors.existing_puids`: a puid is already held (or locked by another request). An earlier attempt
  may have got through with its answer lost, so each named puid is looked up (GET existing-puid: 302 found,
  404 not); found ones count as submitted and the rest are sent again. Not confirmed: retry later.
- 401/403, 429, 5xx and network errors: retry with exponential backoff.
Every request says `Accept: application/json`: without it the Database answers a validation error with a 302.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.clock import now as utc_now
from vigil.errors import InvalidInput
from vigil.store.db import Database, is_postgres
from vigil.store.statements import Statement
from vigil.transparency.sor import validate_statement

BATCH_PATH = "/api/v1/statements"
MAX_BATCH = 100  # the Database accepts 1..100 statements per request
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)
MAX_ATTEMPTS = 12  # about two days of retries at the capped backoff
STATEMENT_KEY = re.compile(r"^statement_(\d+)$")
EXISTING_PATH = "/api/v1/statement/existing-puid/"

logger = logging.getLogger("vigil.transparency")


class SubmitError(InvalidInput):
    """The endpoint or token is not usable; nothing was marked failed."""

    code = "statements_not_configured"


@dataclass
class SubmitResult:
    submitted: int = 0
    failed: int = 0
    retrying: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), MAX_RETRY)


def config(endpoint: str | None, token: str | None) -> tuple[str, str]:
    if not endpoint or not token:
        raise SubmitError("set the Transparency Database endpoint and token (VIGIL_TDB_URL, VIGIL_TDB_TOKEN)")
    return endpoint.rstrip("/"), token


def submit_pending(db: Database, endpoint: str, token: str, *, client: httpx.Client | None = None,
                   now: datetime | None = None, max_batches: int | None = None) -> SubmitResult:
    """Send every statement that is due, a batch (one transaction) at a time."""
    result = SubmitResult()
    own = client is None
    client = client or httpx.Client(timeout=30.0)
    try:
        batches = 0
        while max_batches is None or batches < max_batches:
            with db.session() as s:
                sent = _submit_batch(s, client, endpoint, token, now or utc_now(), result)
            batches += 1
            if not sent:
                break
    finally:
        if own:
            client.close()
    return result


def _due(session: Session, now: datetime) -> list[Statement]:
    query = (sa.select(Statement).where(Statement.state == "pending", Statement.next_attempt_at <= now)
             .order_by(Statement.id).limit(MAX_BATCH))
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)  # several submitters never send one statement twice at once
    return list(session.scalars(query))


def _submit_batch(session: Session, client: httpx.Client, endpoint: str, token: str, now: datetime,
                  result: SubmitResult) -> int:
    """One batch; returns how many statements it settled or rescheduled (0 = nothing was due)."""
    batch = _due(session, now)
    if not batch:
        return 0
    ready = []
    for st in batch:
        problems = validate_statement(st.body)
        if problems:
            _fail(st, "; ".join(problems), result)
        else:
            ready.append(st)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    while ready:
        try:
            response = client.post(endpoint + BATCH_PATH, json={"statements": [st.body for st in ready]}, headers=headers)
        except httpx.HTTPError as exc:
            _retry_all(ready, now, f"{type(exc).__name__}: {exc}", result)
            break
        if response.status_code in (200, 201):
            for st in ready:
                _done(st, now, result)
            break
        if response.status_code == 422:
            body = _json(response)
            errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
            if "existing_puids" in errors:
                ready = _settle_duplicates(client, endpoint, headers, ready, errors, now, result)
            else:
                ready = _settle_rejected(ready, errors, body, now, result)
            continue
        if response.status_code in (401, 403):
            _retry_all(ready, now, f"the Transparency Database refused the token (HTTP {response.status_code})", result)
            break
        _retry_all(ready, now, f"HTTP {response.status_code}: {response.text[:200]}", result)
        break
    return len(batch)


def _settle_rejected(ready: list[Statement], errors: dict, body: dict, now: datetime,
                     result: SubmitResult) -> list[Statement]:
    """Fail the statements a whole-batch refusal names (`statement_<i>`); return the others, to send again."""
    per_statement: dict[int, list[str]] = {}
    for key, fields in errors.items():
        m = STATEMENT_KEY.match(str(key))
        if m and int(m.group(1)) < len(ready):
            items = fields.items() if isinstance(fields, dict) else [("statement", fields)]
            for field, messages in items:
                texts = messages if isinstance(messages, list) else [messages]
                per_statement.setdefault(int(m.group(1)), []).extend(f"{field}: {t}" for t in texts)
    if not per_statement:  # a 422 we cannot attribute (the envelope itself): do not loop on it
        _retry_all(ready, now, f"HTTP 422 naming no statement: {body.get('message', '')} {errors}"[:500], result)
        return []
    remaining = []
    for i, st in enumerate(ready):
        if i in per_statement:
            _fail(st, "; ".join(per_statement[i]), result)
        else:
            remaining.append(st)
    return remaining


def _settle_duplicates(client: httpx.Client, endpoint: str, headers: dict, ready: list[Statement], errors: dict,
                       now: datetime, result: SubmitResult) -> list[Statement]:
    """A duplicate-puid refusal: statements the Database holds count as submitted; the rest are sent again."""
    named = {str(p) for p in errors.get("existing_puids") or []}
    held = []
    for st in ready:
        if st.puid in named:
            found = _stored(client, endpoint, headers, st.puid)
            if found is None:  # cannot tell now (another request holds its lock, or the lookup failed)
                _retry_all(ready, now, f"puid {st.puid} is held by another request or could not be looked up", result)
                return []
            if found:
                held.append(st)
    if not held:
        _retry_all(ready, now, f"duplicate puids the Database does not hold: {sorted(named)}"[:500], result)
        return []
    for st in held:
        _done(st, now, result)  # an earlier attempt got through; its answer was lost
    return [st for st in ready if st not in held]


def _stored(client: httpx.Client, endpoint: str, headers: dict, puid: str) -> bool | None:
    """Whether the Database holds `puid` (its existing-puid route: 302 found, 404 not); None when it cannot tell."""
    try:
        r = client.get(endpoint + EXISTING_PATH + puid, headers=headers, follow_redirects=False)
    except httpx.HTTPError:
        return None
    return True if r.status_code == 302 else False if r.status_code == 404 else None


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _done(st: Statement, now: datetime, result: SubmitResult) -> None:
    st.state, st.submitted_at, st.last_error = "submitted", now, None
    st.attempts += 1
    result.submitted += 1


def _fail(st: Statement, error: str, result: SubmitResult) -> None:
    st.state, st.last_error = "failed", error[:5000]
    st.attempts += 1
    result.failed += 1
    result.errors.append(f"{st.puid}: {error}")


def _retry_all(statements: list[Statement], now: datetime, error: str, result: SubmitResult) -> None:
    for st in statements:
        st.attempts += 1
        st.last_error = error[:5000]
        if st.attempts >= MAX_ATTEMPTS:
            st.state = "failed"
            result.failed += 1
            result.errors.append(f"{st.puid}: gave up after {st.attempts} attempts: {error}")
        else:
            st.next_attempt_at = now + backoff(st.attempts)
            result.retrying += 1


class Submission:
    """The submission loop's work: one round per call (vigil.runtime runs it every STATEMENTS_INTERVAL seconds)."""

    def __init__(self, db: Database, endpoint: str, token: str) -> None:
        self.db, (self.endpoint, self.token) = db, config(endpoint, token)
        self.client = httpx.Client(timeout=30.0)

    def __call__(self) -> bool:
        result = submit_pending(self.db, self.endpoint, self.token, client=self.client)
        if result.submitted or result.failed or result.retrying:
            logger.info("statements: %d submitted, %d failed, %d to retry", result.submitted, result.failed,
                        result.retrying)
        for error in result.errors:
            logger.warning("statement failed: %s", error)
        return False

    def close(self) -> None:
        self.client.close()


STATEMENTS_INTERVAL = 30.0
"""Seconds between submission rounds in the service."""
