"""A local stand-in for Tech Against Terrorism's TCAP content hash list (the "TAT" exchange), on loopback.

Written from TAT's documentation (terrorismanalytics.org/docs/hash-list-v2,
docs.terrorismanalytics.org/docs/api-services/content-hash-list and .../hash-feedback) and from what
python-threatexchange's client (threatexchange/exchanges/clients/techagainstterrorism/api.py) sends
and reads:

- `POST /token-auth/tcap/` with `username` and `password` (JSON, as the docs show, or a form, as pytx
  sends) answers `{"token": <JWT>, "user": {...}}`; bad credentials answer 400.
- `GET /hash-list/v2/<ideology>` and `GET /api/hash-list/v2/<ideology>` (pytx's path) with
  `Authorization: Bearer <token>`; ideology is `all`, `islamist` or `far-right`. Query parameters:
  `order` (asc|desc), `after` (a checkpoint "updated_on,id": only entries past it), `limit` (default and
  maximum 1000), `offset`. The answer is Django-REST-style offset paging plus the checkpoint:
  `{"count", "next", "previous", "checkpoint", "results": [entry...]}` where `next`/`previous` are
  absolute URLs or null, `checkpoint` is "<updated_on>,<id>" of the last entry of the page, and each
  entry has exactly `hash_digest, algorithm, ideology, file_type, deleted, updated_on, created_on, id`
  (pytx builds its dataclass with `TATHashListEntry(**entry)`, so an extra field would break it).
- A missing or bad token answers 401 `{"detail": ...}`; an expired one 401 `{"detail": "Signature has expired."}`.

The list is ordered by (updated_on, id); an update (say, `deleted` set) gives the entry a new
updated_on, so it moves to the end, where a client tailing by checkpoint sees it. Storage is
columnar and append-only (about 40 bytes an entry), and `add_synthetic(n)` adds n entries that are
generated on demand from their id, so 10,000,000 entries cost almost nothing. Pages are built from the
requested offset and streamed.

    python tools/standins/tat.py --port 8788 --load hashes.jsonl --user vigil:secret
    python tools/standins/tat.py --port 0 --synthetic 1000000      # prints its URL first

`--load` reads JSON lines (or one JSON array) of entries with the fields above; every field but
`hash_digest` and `algorithm` has a default, and ids and timestamps are assigned when absent.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
from array import array
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

if __name__ == "__main__" and not __package__:  # run as a script: make `tools.standins` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    __package__ = "tools.standins"

from . import Request, Response, StandinServer, json_response, serve_until_interrupted

ALGORITHMS = ("PDQ", "MD5", "SHA256", "SHA512")
IDEOLOGIES = ("Islamist", "Far-Right")
DEFAULT_FILE_TYPES = ("mp4", "jpg", "png", "gif", "webm", "pdf")
_SYNTH_HASH = {"PDQ": hashlib.sha256, "MD5": hashlib.md5, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
MAX_LIMIT = 1000


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_checkpoint(value: str | None) -> tuple[float, int] | None:
    """'1724856487.709035,10594' -> (1724856487.709035, 10594); a bare timestamp means id 0."""
    if not value:
        return None
    ts, _, ident = value.partition(",")
    try:
        return float(ts), int(ident or 0)
    except ValueError:
        return None


def format_checkpoint(updated_on: float, ident: int) -> str:
    return f"{updated_on!r},{ident}"


class _Table:
    """Interned strings -> small codes, with their JSON encodings cached."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values: list[str] = []
        self.json: list[str] = []
        self.codes: dict[str, int] = {}
        for v in values:
            self.code(v)

    def code(self, value: str) -> int:
        c = self.codes.get(value)
        if c is None:
            c = len(self.values)
            if c > 65535:
                raise ValueError("too many distinct values")
            self.codes[value] = c
            self.values.append(value)
            self.json.append(json.dumps(value))
        return c


class _Columns:
    """Materialised entries, one row each, in append order."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.updated = array("d")
        self.created = array("d")
        self.algo = array("H")
        self.ideology = array("H")
        self.ftype = array("H")
        self.deleted = array("B")
        self.raw = array("B")  # 1: digest stored as UTF-8 text (not lowercase hex)
        self.dig_end = array("Q")
        self.digests = bytearray()

    def __len__(self) -> int:
        return len(self.ids)

    def key(self, i: int) -> tuple[float, int]:
        return self.updated[i], self.ids[i]

    def append(self, ident: int, updated: float, created: float, algo: int, ideology: int, ftype: int,
               deleted: bool, digest: str) -> None:
        try:
            blob, raw = (bytes.fromhex(digest), 0) if digest == digest.lower() and len(digest) % 2 == 0 else (b"", 1)
        except ValueError:
            blob, raw = b"", 1
        if raw:
            blob = digest.encode()
        self.ids.append(ident)
        self.updated.append(updated)
        self.created.append(created)
        self.algo.append(algo)
        self.ideology.append(ideology)
        self.ftype.append(ftype)
        self.deleted.append(1 if deleted else 0)
        self.raw.append(raw)
        self.digests += blob
        self.dig_end.append(len(self.digests))

    def digest(self, i: int) -> str:
        start = self.dig_end[i - 1] if i else 0
        blob = bytes(self.digests[start:self.dig_end[i]])
        return blob.decode() if self.raw[i] else blob.hex()

    def fields(self, i: int, store: TATStore) -> tuple:
        return (self.ids[i], self.updated[i], self.created[i], store.algorithms.values[self.algo[i]],
                store.ideologies.values[self.ideology[i]], store.file_types.values[self.ftype[i]],
                bool(self.deleted[i]), self.digest(i))

    def json(self, i: int, store: TATStore) -> bytes:
        digest = self.digest(i)
        return (
            '{"hash_digest": %s, "algorithm": %s, "ideology": %s, "file_type": %s, "deleted": %s, '
            '"updated_on": %r, "created_on": "%s", "id": %d}'
            % (json.dumps(digest) if self.raw[i] else '"%s"' % digest,
               store.algorithms.json[self.algo[i]], store.ideologies.json[self.ideology[i]],
               store.file_types.json[self.ftype[i]], "true" if self.deleted[i] else "false",
               self.updated[i], _iso(self.created[i]), self.ids[i])
        ).encode()

    def index_of_id(self, ident: int) -> int | None:
        try:
            return self.ids.index(ident)  # a C-level scan: ~10 ms for 10M rows
        except ValueError:
            return None


class _Synthetic:
    """n entries generated on demand from their position: ids first_id.., updated_on t0 + i*step."""

    def __init__(self, n: int, first_id: int, t0: float, step: float, seed: str,
                 algorithms: tuple[str, ...], ideologies: tuple[str, ...], file_types: tuple[str, ...],
                 deleted_every: int = 0) -> None:
        self.n, self.first_id, self.t0, self.step, self.seed = n, first_id, t0, step, seed
        self.algorithms, self.ideologies, self.file_types = algorithms, ideologies, file_types
        self.deleted_every = deleted_every
        self._js = {v: json.dumps(v) for v in (*algorithms, *ideologies, *file_types)}

    def __len__(self) -> int:
        return self.n

    def key(self, i: int) -> tuple[float, int]:
        return self.t0 + i * self.step, self.first_id + i

    def fields(self, i: int, store: TATStore = None) -> tuple:
        ident = self.first_id + i
        algo = self.algorithms[i % len(self.algorithms)]
        digest = _SYNTH_HASH[algo](f"{self.seed}:{ident}".encode()).hexdigest()
        deleted = bool(self.deleted_every) and ident % self.deleted_every == 0
        return (ident, self.t0 + i * self.step, self.t0 + i * self.step,
                algo, self.ideologies[(i // 3) % len(self.ideologies)],
                self.file_types[(i // 2) % len(self.file_types)], deleted, digest)

    def json(self, i: int, store: TATStore = None) -> bytes:
        ident, upd, created, algo, ideo, ftype, deleted, digest = self.fields(i)
        return (
            '{"hash_digest": "%s", "algorithm": %s, "ideology": %s, "file_type": %s, "deleted": %s, '
            '"updated_on": %r, "created_on": "%s", "id": %d}'
            % (digest, self._js[algo], self._js[ideo], self._js[ftype], "true" if deleted else "false",
               upd, _iso(created), ident)
        ).encode()

    def index_of_id(self, ident: int) -> int | None:
        i = ident - self.first_id
        return i if 0 <= i < self.n else None


def synthetic_entry(seed: str, first_id: int, t0: float, step: float, i: int,
                    algorithms=ALGORITHMS, ideologies=IDEOLOGIES, file_types=DEFAULT_FILE_TYPES,
                    deleted_every: int = 0) -> dict[str, Any]:
    """What `add_synthetic(...)` serves at position i, for a benchmark to check what it fetched."""
    seg = _Synthetic(i + 1, first_id, t0, step, seed, tuple(algorithms), tuple(ideologies), tuple(file_types),
                     deleted_every)
    return json.loads(seg.json(i))


class TATStore:
    """The hash list: segments of entries in (updated_on, id) order, and which rows a later version replaced."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.segments: list[_Columns | _Synthetic] = []
        self.starts: list[int] = []  # global row index where each segment begins
        self.n = 0
        self.superseded: list[int] = []  # sorted global rows replaced by a later version
        self.current: dict[int, int] = {}  # id -> live global row, for ids that were ever updated
        self.next_id = 1
        self.last_key: tuple[float, int] = (float("-inf"), -1)
        self.algorithms = _Table(ALGORITHMS)
        self.ideologies = _Table(IDEOLOGIES)
        self.file_types = _Table(DEFAULT_FILE_TYPES)
        self.clock = time.time

    # -- writing --
    def _tail(self) -> _Columns:
        if not self.segments or not isinstance(self.segments[-1], _Columns):
            self.segments.append(_Columns())
            self.starts.append(self.n)
        return self.segments[-1]  # type: ignore[return-value]

    def _next_time(self, updated_on: float | None, ident: int) -> float:
        if updated_on is None:
            updated_on = max(self.clock(), self.last_key[0])
            if (updated_on, ident) <= self.last_key:
                updated_on = self.last_key[0] + 1e-6
        if (updated_on, ident) <= self.last_key:
            raise ValueError(f"(updated_on, id) = {(updated_on, ident)} does not follow {self.last_key}: "
                             "the list only grows at its end")
        return updated_on

    def add(self, hash_digest: str, algorithm: str = "PDQ", ideology: str = "Islamist", file_type: str = "mp4",
            deleted: bool = False, updated_on: float | None = None, created_on: Any = None,
            id: int | None = None) -> int:
        """Add one entry at the end of the list; returns its id."""
        with self.lock:
            ident = self.next_id if id is None else int(id)
            if ident < self.next_id and (ident in self.current or self._find(ident) is not None):
                raise ValueError(f"id {ident} is already in the list (use update)")
            upd = self._next_time(updated_on, ident)
            created = _to_epoch(created_on) if created_on is not None else upd
            self._tail().append(ident, upd, created, self.algorithms.code(algorithm),
                                self.ideologies.code(ideology), self.file_types.code(file_type), deleted, hash_digest)
            self.n += 1
            self.last_key = (upd, ident)
            self.next_id = max(self.next_id, ident + 1)
            return ident

    def add_many(self, entries: Iterable[dict[str, Any]]) -> int:
        count = 0
        for e in entries:
            self.add(**{k: e[k] for k in ("hash_digest", "algorithm", "ideology", "file_type", "deleted",
                                          "updated_on", "created_on", "id") if k in e})
            count += 1
        return count

    def add_synthetic(self, n: int, *, t0: float | None = None, step: float = 0.001, seed: str = "tat",
                      algorithms: Iterable[str] = ALGORITHMS, ideologies: Iterable[str] = IDEOLOGIES,
                      file_types: Iterable[str] = DEFAULT_FILE_TYPES, deleted_every: int = 0) -> dict[str, Any]:
        """Add n generated entries (O(1) memory); returns the parameters `synthetic_entry` needs."""
        with self.lock:
            first_id = self.next_id
            if t0 is None:
                t0 = max(self.clock() - n * step, self.last_key[0] + step)
            if (t0, first_id) <= self.last_key:
                raise ValueError("synthetic entries must follow the existing ones")
            seg = _Synthetic(n, first_id, t0, step, seed, tuple(algorithms), tuple(ideologies), tuple(file_types),
                             deleted_every)
            self.segments.append(seg)
            self.starts.append(self.n)
            self.n += n
            self.next_id = first_id + n
            self.last_key = seg.key(n - 1) if n else self.last_key
            return {"seed": seed, "first_id": first_id, "t0": t0, "step": step, "n": n,
                    "algorithms": list(seg.algorithms), "ideologies": list(seg.ideologies),
                    "file_types": list(seg.file_types), "deleted_every": deleted_every}

    def _find(self, ident: int) -> int | None:
        """The live global row of an id, or None."""
        row = self.current.get(ident)
        if row is not None:
            return row
        for start, seg in zip(self.starts, self.segments):
            i = seg.index_of_id(ident)
            if i is not None:
                return start + i
        return None

    def get(self, ident: int) -> dict[str, Any] | None:
        with self.lock:
            row = self._find(ident)
            return None if row is None else json.loads(self._json(row))

    def update(self, ident: int, updated_on: float | None = None, **changes: Any) -> dict[str, Any]:
        """Change an entry: it gets a new updated_on and moves to the end of the list."""
        unknown = set(changes) - {"hash_digest", "algorithm", "ideology", "file_type", "deleted"}
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}")
        with self.lock:
            row = self._find(ident)
            if row is None:
                raise KeyError(ident)
            _, _, created, algo, ideo, ftype, deleted, digest = self._fields(row)
            new = dict(hash_digest=digest, algorithm=algo, ideology=ideo, file_type=ftype, deleted=deleted)
            new.update(changes)
            upd = self._next_time(updated_on, ident)
            self._tail().append(ident, upd, created, self.algorithms.code(new["algorithm"]),
                                self.ideologies.code(new["ideology"]), self.file_types.code(new["file_type"]),
                                bool(new["deleted"]), new["hash_digest"])
            bisect.insort(self.superseded, row)
            self.current[ident] = self.n
            self.n += 1
            self.last_key = (upd, ident)
            return json.loads(self._json(self.n - 1))

    def delete(self, ident: int, updated_on: float | None = None) -> dict[str, Any]:
        """TAT keeps a deleted entry in the list with `deleted: true` (pytx turns it into a removal)."""
        return self.update(ident, updated_on=updated_on, deleted=True)

    # -- reading --
    def _seg(self, row: int) -> tuple[_Columns | _Synthetic, int]:
        s = bisect.bisect_right(self.starts, row) - 1
        return self.segments[s], row - self.starts[s]

    def _key(self, row: int) -> tuple[float, int]:
        seg, i = self._seg(row)
        return seg.key(i)

    def _fields(self, row: int) -> tuple:
        seg, i = self._seg(row)
        return seg.fields(i, self)

    def _json(self, row: int) -> bytes:
        seg, i = self._seg(row)
        return seg.json(i, self)

    def _first_after(self, after: tuple[float, int] | None) -> int:
        """The first global row whose key is greater than `after`."""
        if after is None:
            return 0
        lo, hi = 0, self.n
        while lo < hi:
            mid = (lo + hi) // 2
            if self._key(mid) <= after:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _live_before(self, row: int) -> int:
        return row - bisect.bisect_left(self.superseded, row)

    def _nth_live(self, rank: int) -> int:
        """The global row of the live entry with 0-based rank `rank` (self.n if none)."""
        lo, hi = rank, self.n
        while lo < hi:
            mid = (lo + hi) // 2
            if mid + 1 - bisect.bisect_right(self.superseded, mid) >= rank + 1:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _is_live(self, row: int) -> bool:
        i = bisect.bisect_left(self.superseded, row)
        return not (i < len(self.superseded) and self.superseded[i] == row)

    def page(self, *, after: tuple[float, int] | None, order: str, offset: int, limit: int,
             ideology: str | None) -> tuple[int, list[bytes], tuple[float, int] | None]:
        """(count, the page's entries as JSON, the key of the page's last entry)."""
        with self.lock:
            p0 = self._first_after(after)
            if ideology is None:
                return self._page_all(p0, order, offset, limit)
            return self._page_filtered(p0, order, offset, limit, ideology)

    def _page_all(self, p0: int, order: str, offset: int, limit: int):
        live_from = self._live_before(p0)
        count = (self.n - len(self.superseded)) - live_from
        if offset >= count:
            return count, [], None
        rows: list[int] = []
        if order == "desc":
            row = self._nth_live(live_from + count - 1 - offset)
            while row >= p0 and len(rows) < limit:
                if self._is_live(row):
                    rows.append(row)
                row -= 1
        else:
            row = self._nth_live(live_from + offset)
            while row < self.n and len(rows) < limit:
                if self._is_live(row):
                    rows.append(row)
                row += 1
        return count, [self._json(r) for r in rows], self._key(rows[-1])

    def _page_filtered(self, p0: int, order: str, offset: int, limit: int, ideology: str):
        want = ideology.lower()
        rows = [r for r in range(p0, self.n) if self._is_live(r) and self._fields(r)[4].lower() == want]
        if order == "desc":
            rows.reverse()
        page = rows[offset:offset + limit]
        return len(rows), [self._json(r) for r in page], (self._key(page[-1]) if page else None)

    def live_count(self) -> int:
        return self.n - len(self.superseded)

    def iter_live(self) -> Iterator[dict[str, Any]]:
        """Every live entry in list order (for checks in tests; slow for millions)."""
        for row in range(self.n):
            if self._is_live(row):
                yield json.loads(self._json(row))


def _to_epoch(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    text = str(value).replace("Z", "+00:00")
    dt = datetime.fromisoformat(text)
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


class TATStandin(StandinServer):
    """The TCAP hash list on loopback. `.store` holds the list; `.users` the accounts that may log in."""

    TOKEN_ROUTE = ("/token-auth/tcap/", "/token-auth/tcap", "/api/token-auth/tcap/", "/api/token-auth/tcap")
    IDEOLOGY_PATHS = {"all": None, "islamist": "islamist", "far-right": "far-right"}

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, users: dict[str, str] | None = None,
                 token_lifetime: float = 3600.0, page_size: int = MAX_LIMIT, max_limit: int = MAX_LIMIT) -> None:
        super().__init__(host, port)
        self.store = TATStore()
        self.users = dict(users if users is not None else {"vigil": "vigil-password"})
        self.token_lifetime = token_lifetime
        self.page_size = page_size
        self.max_limit = max_limit
        self._secret = secrets.token_bytes(32)
        self.revoked: set[str] = set()

    # convenience pass-throughs
    def add(self, *a: Any, **kw: Any) -> int:
        return self.store.add(*a, **kw)

    def add_many(self, entries: Iterable[dict[str, Any]]) -> int:
        return self.store.add_many(entries)

    def add_synthetic(self, n: int, **kw: Any) -> dict[str, Any]:
        return self.store.add_synthetic(n, **kw)

    def update(self, ident: int, **kw: Any) -> dict[str, Any]:
        return self.store.update(ident, **kw)

    def delete(self, ident: int, **kw: Any) -> dict[str, Any]:
        return self.store.delete(ident, **kw)

    @property
    def base_url(self) -> str:
        """What pytx's `TATHashListAPI.BASE_URL` should be set to."""
        return self.url + "/"

    # -- tokens --
    def issue_token(self, username: str, lifetime: float | None = None) -> str:
        now = self.store.clock()
        payload = {"user_id": list(self.users).index(username) + 1 if username in self.users else 0,
                   "username": username, "exp": int(now + (self.token_lifetime if lifetime is None else lifetime)),
                   "orig_iat": int(now)}
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        sig = _b64(hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{sig}"

    def _check_token(self, req: Request) -> Response | None:
        auth = req.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if not token or scheme.lower() not in ("bearer", "jwt"):
            return json_response({"detail": "Authentication credentials were not provided."}, 401,
                                 headers={"WWW-Authenticate": 'Bearer realm="api"'})
        try:
            head, body, sig = token.split(".")
            good = _b64(hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
            if not hmac.compare_digest(good, sig) or token in self.revoked:
                raise ValueError
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return json_response({"detail": "Error decoding signature."}, 401)
        if req.expired_token or payload["exp"] <= self.store.clock():
            return json_response({"detail": "Signature has expired."}, 401)
        return None

    # -- HTTP --
    def route_of(self, req: Request) -> str:
        if req.path in self.TOKEN_ROUTE:
            return "token"
        if "/hash-list/v2/" in req.path:
            return "hash_list"
        return "other"

    def error_body(self, status: int) -> Any:
        return {"detail": f"Server error ({status})."}

    def handle_request_obj(self, req: Request) -> Response:
        if req.route == "token":
            if req.method != "POST":
                return json_response({"detail": f'Method "{req.method}" not allowed.'}, 405)
            return self._login(req)
        if req.route == "hash_list":
            if req.method != "GET":
                return json_response({"detail": f'Method "{req.method}" not allowed.'}, 405)
            denied = self._check_token(req)
            if denied:
                return denied
            return self._hash_list(req)
        return json_response({"detail": "Not found."}, 404)

    def _login(self, req: Request) -> Response:
        form = dict(req.form())
        user, password = form.get("username", ""), form.get("password", "")
        if not user or not password:
            missing = {k: ["This field is required."] for k in ("username", "password") if not form.get(k)}
            return json_response(missing, 400)
        if self.users.get(user) != password:
            return json_response({"non_field_errors": ["Unable to log in with provided credentials."]}, 400)
        token = self.issue_token(user)
        return json_response({"token": token, "user": {"id": list(self.users).index(user) + 1, "username": user}})

    def _hash_list(self, req: Request) -> Response:
        tail = req.path.split("/hash-list/v2/", 1)[1].strip("/").lower()
        if tail not in self.IDEOLOGY_PATHS:
            return json_response({"detail": "Not found."}, 404)
        ideology = self.IDEOLOGY_PATHS[tail] or req.param("ideology") or None
        if ideology and ideology.lower() == "all":
            ideology = None
        order = (req.param("order") or "asc").lower()
        if order not in ("asc", "desc"):
            return json_response({"order": [f'"{order}" is not a valid choice.']}, 400)
        after_raw = req.param("after") or ""
        after = parse_checkpoint(after_raw)
        if after_raw and after is None:
            return json_response({"after": ["Invalid checkpoint: expected '<updated_on>,<id>'."]}, 400)
        limit = _int(req.param("limit"), self.page_size)
        limit = max(1, min(limit, self.max_limit))
        offset = max(0, _int(req.param("offset"), 0))
        count, entries, last = self.store.page(after=after, order=order, offset=offset, limit=limit, ideology=ideology)

        def link(off: int) -> str:
            params = [("limit", limit)] + ([("offset", off)] if off else []) + [("order", order)]
            if after_raw:
                params.append(("after", after_raw))
            return f"{self.url}{req.path}?{urlencode(params)}"

        nxt = link(offset + limit) if offset + limit < count else None
        prev = link(max(0, offset - limit)) if offset > 0 else None
        checkpoint = format_checkpoint(*last) if last else after_raw

        def body() -> Iterator[bytes]:
            yield (b'{"count": %d, "next": %s, "previous": %s, "checkpoint": %s, "results": ['
                   % (count, json.dumps(nxt).encode(), json.dumps(prev).encode(), json.dumps(checkpoint).encode()))
            for i, e in enumerate(entries):
                yield (b", " + e) if i else e
            yield b"]}"

        def wrong_shape() -> bytes:  # an entry without `deleted`: a client that trusts the shape breaks
            first = json.loads(entries[0]) if entries else {"hash_digest": "00", "algorithm": "MD5"}
            first.pop("deleted", None)
            return json.dumps({"count": count, "next": nxt, "previous": prev, "checkpoint": checkpoint,
                               "results": [first]}).encode()

        return Response(200, body(), wrong_shape=wrong_shape)

    # -- admin (for a stand-in in another process) --
    def admin(self, req: Request) -> Response:
        try:
            if req.path == "/_standin/entries" and req.method == "POST":
                text = req.body.decode()
                data = json.loads(text) if text.lstrip().startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
                return json_response({"added": self.store.add_many(data), "live": self.store.live_count()})
            if req.path == "/_standin/synthetic" and req.method == "POST":
                return json_response(self.store.add_synthetic(**req.json()))
            if req.path == "/_standin/update" and req.method == "POST":
                spec = req.json()
                return json_response(self.store.update(int(spec.pop("id")), **spec))
            if req.path == "/_standin/delete" and req.method == "POST":
                return json_response(self.store.delete(int(req.json()["id"])))
            if req.path.startswith("/_standin/entry/"):
                found = self.store.get(int(req.path.rsplit("/", 1)[1]))
                return json_response(found if found else {"error": "no such id"}, 200 if found else 404)
            if req.path == "/_standin/config" and req.method == "POST":
                spec = req.json()
                for k in ("token_lifetime", "page_size", "max_limit"):
                    if k in spec:
                        setattr(self, k, spec[k])
                if "users" in spec:
                    self.users.update(spec["users"])
                return json_response({"ok": True})
        except (ValueError, KeyError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        return super().admin(req)

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "entries": self.store.n, "live": self.store.live_count(),
                "superseded": len(self.store.superseded), "segments": len(self.store.segments)}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def load_file(store: TATStore, path: str | os.PathLike) -> int:
    """Entries from JSON lines, or from one JSON array (or an object with `results`)."""
    with open(path, "r", encoding="utf-8") as f:
        head = f.read(1)
        while head.isspace():
            head = f.read(1)
        f.seek(0)
        if head in ("[", "{") and not _looks_like_jsonl(path):
            data = json.load(f)
            return store.add_many(data["results"] if isinstance(data, dict) else data)
        return store.add_many(json.loads(line) for line in f if line.strip())


def _looks_like_jsonl(path: str | os.PathLike) -> bool:
    with open(path, "r", encoding="utf-8") as f:
        first = f.readline()
    try:
        return isinstance(json.loads(first), dict) and "hash_digest" in json.loads(first)
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8788, help="0 picks a free port (the URL is printed first)")
    p.add_argument("--load", action="append", default=[], help="JSON lines / JSON array of entries")
    p.add_argument("--synthetic", type=int, default=0, help="add N generated entries")
    p.add_argument("--seed", default="tat")
    p.add_argument("--user", action="append", default=[], help="USER:PASSWORD (default vigil:vigil-password)")
    p.add_argument("--token-lifetime", type=float, default=3600.0)
    p.add_argument("--page-size", type=int, default=MAX_LIMIT)
    args = p.parse_args(argv)
    users = dict(u.split(":", 1) for u in args.user) or None
    server = TATStandin(args.host, args.port, users=users, token_lifetime=args.token_lifetime, page_size=args.page_size)
    for path in args.load:
        load_file(server.store, path)
    if args.synthetic:
        server.store.add_synthetic(args.synthetic, seed=args.seed)
    serve_until_interrupted(server, lambda url: print(url, flush=True))


if __name__ == "__main__":
    main()
