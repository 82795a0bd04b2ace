"""A local stand-in for Meta's ThreatExchange Graph API (how GIFCT's hash-sharing database is reached), on loopback.

Written from the ThreatExchange documentation (developers.facebook.com/docs/threat-exchange: reference/apis
threat-updates, threat-descriptor(s), threat-indicator, threat-privacy-group; reference/reacting,
submitting, editing, deleting; the Graph API guides on paging and errors), from Meta's own curl examples
(facebook/ThreatExchange api-reference-examples/curl/te-tag-query/README.md) and from what
python-threatexchange's client (threatexchange/exchanges/clients/fb_threatexchange/api.py) sends and reads.

Routes (an optional `/vNN.N` version prefix and trailing slashes are accepted; the token is the
`access_token` parameter, "<app-id>|<app-secret>", or an `Authorization: Bearer|OAuth` header):

- `GET /{app-id}/threat_privacy_groups_member`, `.../threat_privacy_groups_owner`: `{"data": [group...]}`.
- `GET /{privacy-group}/threat_updates?start_time&stop_time&types&limit&fields`: the group's indicators in
  update order, start_time inclusive and stop_time exclusive (unix seconds); an entry is an indicator
  (`id, indicator, type`) plus `should_delete` and `last_updated` (unix seconds) and, while it has
  descriptors in the group, `descriptors{...}`. Deletion events are kept `tombstone_ttl` (90 days).
  A group without threat_updates enabled answers 500, as documented.
- `GET /{id}` (descriptor, indicator, privacy group, tag), `GET /?ids=a,b` or `ids=[a,b]`,
  `GET /{indicator}/descriptors`, `GET /threat_descriptors` (search), `GET /threat_tags?text=` (prefix),
  `GET /{tag}/tagged_objects`; every list is cursor-paged: `{"data", "paging": {"cursors": {"before",
  "after"}, "next"?}}` with `next` absent on the last page.
- `POST /threat_descriptors` (create), `POST /{descriptor}` (edit by the owner, or `reactions=` /
  `reactions_to_remove=` by another app) answers `{"success": true[, "id"]}`; `DELETE /{descriptor}`.
- Errors take the Graph API's shape `{"error": {"message", "type", "code", "error_subcode"?, "fbtrace_id"}}`:
  no token 400/104, bad token 400/190, expired token 400/190 subcode 463, no such object or no access
  400/100 subcode 33, unknown field 400/100, not permitted 400/10.

`fields` takes Graph's nested syntax, e.g. `descriptors{id,owner{id},tags,status,reactions}`. Reactions
read as `[{"key": "HELPFUL", "value": "<app-id>,<app-id>"}]`, tags as `{"data": [{"id", "text"}]}`.
Descriptors whose `expired_on` has passed stop being visible, and their indicators get an update.

    python tools/standins/threatexchange.py --port 8789 --load te.json
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

if __name__ == "__main__" and not __package__:  # run as a script: make `tools.standins` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    __package__ = "tools.standins"

from . import Request, Response, StandinServer, json_response, serve_until_interrupted

REACTIONS = ("HELPFUL", "NOT_HELPFUL", "OUTDATED", "SAW_THIS_TOO", "WANT_MORE_INFO", "DISAGREE_WITH_TAGS",
             "INGESTED", "IN_REVIEW", "ALREADY_KNOWN", "REVIEWED", "NON_MALICIOUS")
STATUSES = ("MALICIOUS", "NON_MALICIOUS", "SUSPICIOUS", "UNKNOWN")
DEFAULT_LIMIT, MAX_LIMIT = 25, 1000
NINETY_DAYS = 90 * 24 * 3600


def iso(ts: float) -> str:
    """Graph API datetimes: 2019-11-09T02:58:41+0000."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_time(value: Any) -> float | None:
    if value in (None, "", "0", 0):
        return None
    if isinstance(value, (int, float)) or str(value).lstrip("-").isdigit():
        return float(value)
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    dt = datetime.fromisoformat(text)
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def parse_fields(spec: str | None) -> dict[str, Any] | None:
    """'a,b{c,d{e}}' -> {'a': None, 'b': {'c': None, 'd': {'e': None}}}; a `.limit(n)` modifier is dropped."""
    if spec is None or spec == "":
        return None
    pos = 0

    def level() -> dict[str, Any]:
        nonlocal pos
        out: dict[str, Any] = {}
        name = ""
        while pos < len(spec):
            ch = spec[pos]
            pos += 1
            if ch == ",":
                if name.strip():
                    out.setdefault(_bare(name), None)
                name = ""
            elif ch == "{":
                out[_bare(name)] = level()
                name = ""
            elif ch == "}":
                break
            else:
                name += ch
        if name.strip():
            out.setdefault(_bare(name), None)
        return out

    return level()


def _bare(name: str) -> str:
    return name.strip().split(".", 1)[0]


class GraphError(Exception):
    def __init__(self, status: int, code: int, message: str, subcode: int | None = None,
                 type_: str = "OAuthException") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.subcode, self.type = status, code, message, subcode, type_

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        err["fbtrace_id"] = base64.urlsafe_b64encode(secrets.token_bytes(8)).decode().rstrip("=")
        return {"error": err}


def _no_object(ident: str) -> GraphError:
    return GraphError(400, 100, f"Unsupported get request. Object with ID '{ident}' does not exist, cannot be "
                      "loaded due to missing permissions, or does not support this operation.", 33, "GraphMethodException")


@dataclass
class App:
    id: int
    secret: str
    name: str
    email: str = ""

    @property
    def token(self) -> str:
        return f"{self.id}|{self.secret}"


@dataclass
class PrivacyGroup:
    id: int
    name: str
    description: str
    owner: int
    members: set[int]
    members_can_see: bool = True
    members_can_use: bool = True
    threat_updates_enabled: bool = True
    added_on: float = 0.0
    last_updated: float = 0.0


@dataclass
class Indicator:
    id: int
    indicator: str
    type: str
    creation_time: float


@dataclass
class Tag:
    id: int
    text: str


@dataclass
class Descriptor:
    id: int
    indicator: int
    owner: int
    status: str
    tags: list[int]
    privacy_groups: set[int]
    added_on: float
    last_updated: float
    description: str = ""
    confidence: int = 50
    share_level: str = "AMBER"
    privacy_type: str = "HAS_PRIVACY_GROUP"
    review_status: str = "REVIEWED_MANUALLY"
    severity: str = "INFO"
    expired_on: float | None = None
    first_active: float | None = None
    last_active: float | None = None
    reactions: dict[str, set[int]] = field(default_factory=dict)
    whitelist: set[int] = field(default_factory=set)  # privacy_type HAS_WHITELIST: apps that may see it
    deleted: bool = False
    expired_seen: bool = False  # its expiry already produced an update


@dataclass
class _Update:
    seq: int
    time: int
    indicator: int


class ThreatExchangeStandin(StandinServer):
    """ThreatExchange on loopback. Put data in with add_app / add_privacy_group / add_descriptor.

    `clock` gives the time (set `standin.now = <unix seconds>` to freeze it, None to follow time.time).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tombstone_ttl: float = NINETY_DAYS) -> None:
        super().__init__(host, port)
        self.lock = threading.RLock()
        self._ids = itertools.count(1_000_000_000_000_001)
        self.apps: dict[int, App] = {}
        self.expired_tokens: set[str] = set()
        self.groups: dict[int, PrivacyGroup] = {}
        self.indicators: dict[int, Indicator] = {}
        self.indicator_by_value: dict[tuple[str, str], int] = {}
        self.descriptors: dict[int, Descriptor] = {}
        self.tags: dict[int, Tag] = {}
        self.tag_by_text: dict[str, int] = {}
        self.tombstone_ttl = tombstone_ttl
        self.now: float | None = None
        # per privacy group: update log (in seq order) and each indicator's live update
        self._log: dict[int, list[_Update]] = {}
        self._current: dict[int, dict[int, _Update]] = {}
        self._deleted_in: dict[int, set[int]] = {}  # group -> indicators whose last event is a deletion
        self._seq = itertools.count(1)
        self._last_time = 0

    # -- time --
    def clock(self) -> float:
        return time.time() if self.now is None else self.now

    def _new_id(self) -> int:
        return next(self._ids)

    # -- putting data in --
    def add_app(self, name: str = "Test app", app_id: int | None = None, secret: str | None = None,
                email: str = "") -> App:
        with self.lock:
            app = App(app_id or self._new_id(), secret or secrets.token_hex(16), name, email or f"{name.lower().replace(' ', '.')}@example.com")
            self.apps[app.id] = app
            return app

    def add_privacy_group(self, name: str, owner: int, members: Iterable[int] = (), *, description: str = "",
                          group_id: int | None = None, threat_updates_enabled: bool = True,
                          members_can_see: bool = True, members_can_use: bool = True) -> PrivacyGroup:
        with self.lock:
            now = self.clock()
            pg = PrivacyGroup(group_id or self._new_id(), name, description, owner, {owner, *members},
                              members_can_see, members_can_use, threat_updates_enabled, now, now)
            self.groups[pg.id] = pg
            self._log[pg.id], self._current[pg.id], self._deleted_in[pg.id] = [], {}, set()
            return pg

    def _tag_id(self, text: str) -> int:
        tid = self.tag_by_text.get(text)
        if tid is None:
            tid = self._new_id()
            self.tags[tid] = Tag(tid, text)
            self.tag_by_text[text] = tid
        return tid

    def _indicator_id(self, value: str, type_: str) -> int:
        iid = self.indicator_by_value.get((type_, value))
        if iid is None:
            iid = self._new_id()
            self.indicators[iid] = Indicator(iid, value, type_, self.clock())
            self.indicator_by_value[(type_, value)] = iid
        return iid

    def add_descriptor(self, owner: int, indicator: str, type: str, *, privacy_groups: Iterable[int],
                       status: str = "MALICIOUS", tags: Iterable[str] = (), expired_on: float | None = None,
                       description: str = "", **extra: Any) -> Descriptor:
        """An app's opinion on an indicator, shared with privacy groups; touches the indicator in each group."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self.lock:
            now = self.clock()
            d = Descriptor(self._new_id(), self._indicator_id(indicator, type), owner, status,
                           [self._tag_id(t) for t in tags], set(privacy_groups), now, now, description,
                           expired_on=expired_on, **extra)
            self.descriptors[d.id] = d
            self._touch(d.indicator, d.privacy_groups)
            return d

    def update_descriptor(self, descriptor_id: int, **changes: Any) -> Descriptor:
        """Edit fields (status, tags, privacy_groups, expired_on, description, ...); the indicator gets an update."""
        with self.lock:
            d = self._descriptor(descriptor_id)
            before = set(d.privacy_groups)
            if "tags" in changes:
                changes["tags"] = [self._tag_id(t) for t in changes["tags"]]
                if d.reactions.get("DISAGREE_WITH_TAGS"):  # documented: changing tags drops this reaction
                    d.reactions.pop("DISAGREE_WITH_TAGS")
            if "privacy_groups" in changes:
                changes["privacy_groups"] = set(changes["privacy_groups"])
            for k, v in changes.items():
                if not hasattr(d, k) or k in ("id", "indicator", "owner"):
                    raise ValueError(f"cannot change {k}")
                setattr(d, k, v)
            d.last_updated = self.clock()
            d.expired_seen = False
            self._touch(d.indicator, before | d.privacy_groups)
            return d

    def delete_descriptor(self, descriptor_id: int) -> None:
        with self.lock:
            d = self._descriptor(descriptor_id)
            d.deleted = True
            self._touch(d.indicator, d.privacy_groups)

    def react(self, descriptor_id: int, app_id: int, reaction: str, remove: bool = False) -> None:
        if reaction not in REACTIONS:
            raise ValueError(f"reaction must be one of {REACTIONS}")
        with self.lock:
            d = self._descriptor(descriptor_id)
            apps = d.reactions.setdefault(reaction, set())
            (apps.discard if remove else apps.add)(app_id)
            if not apps:
                d.reactions.pop(reaction)
            self._touch(d.indicator, d.privacy_groups)

    def expire_token(self, token: str) -> None:
        self.expired_tokens.add(token)

    def _descriptor(self, descriptor_id: int) -> Descriptor:
        d = self.descriptors.get(int(descriptor_id))
        if d is None or d.deleted:
            raise KeyError(descriptor_id)
        return d

    # -- the threat_updates projection --
    def _visible(self, d: Descriptor, now: float | None = None) -> bool:
        now = self.clock() if now is None else now
        return not d.deleted and (d.expired_on is None or d.expired_on > now)

    def _live_descriptors(self, indicator: int, group: int) -> list[Descriptor]:
        return [d for d in self.descriptors.values()
                if d.indicator == indicator and group in d.privacy_groups and self._visible(d)]

    def _touch(self, indicator: int, groups: Iterable[int]) -> None:
        """Move the indicator to the end of each group's update list (a deletion when nothing is left)."""
        t = max(int(self.clock()), self._last_time)
        self._last_time = t
        for g in groups:
            if g not in self.groups:
                continue
            live = bool(self._live_descriptors(indicator, g))
            if not live and indicator not in self._current[g]:
                continue  # never visible in this group: nothing to tell
            upd = _Update(next(self._seq), t, indicator)
            self._log[g].append(upd)
            self._current[g][indicator] = upd
            (self._deleted_in[g].discard if live else self._deleted_in[g].add)(indicator)

    def _sweep_expired(self) -> None:
        now = self.clock()
        for d in self.descriptors.values():
            if not d.deleted and not d.expired_seen and d.expired_on is not None and d.expired_on <= now:
                d.expired_seen = True
                self._touch(d.indicator, d.privacy_groups)

    # -- HTTP plumbing --
    def route_of(self, req: Request) -> str:
        parts = self._parts(req.path)
        if len(parts) == 2 and parts[1] == "threat_updates":
            return "threat_updates"
        if len(parts) == 2 and parts[1].startswith("threat_privacy_groups"):
            return "privacy_groups"
        if req.method != "GET":
            return "write"
        return "read"

    @staticmethod
    def _parts(path: str) -> list[str]:
        parts = [p for p in path.split("/") if p]
        if parts and parts[0][:1] == "v" and parts[0][1:].replace(".", "").isdigit():
            parts = parts[1:]
        return parts

    def error_body(self, status: int) -> Any:
        return GraphError(status, 2, "An unexpected error has occurred. Please retry your request later.",
                          type_="OAuthException").body()

    def handle_request_obj(self, req: Request) -> Response:
        try:
            with self.lock:
                self._sweep_expired()
                params = dict(req.query)
                params.update(dict(req.form()))
                app = self._auth(req, params)
                return self._route(req, params, app)
        except GraphError as e:
            return json_response(e.body(), e.status)

    def _auth(self, req: Request, params: dict[str, str]) -> App:
        token = params.get("access_token")
        if not token:
            scheme, _, value = req.headers.get("authorization", "").partition(" ")
            token = value if scheme.lower() in ("bearer", "oauth") else None
        if not token:
            raise GraphError(400, 104, "An access token is required to request this resource.")
        app_id, _, secret = token.partition("|")
        app = self.apps.get(int(app_id)) if app_id.isdigit() else None
        if app is None or not secret or not secrets.compare_digest(app.secret, secret):
            raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if req.expired_token or token in self.expired_tokens:
            raise GraphError(400, 190, "Error validating access token: Session has expired.", 463)
        return app

    def _route(self, req: Request, params: dict[str, str], app: App) -> Response:
        parts = self._parts(req.path)
        fields = parse_fields(params.get("fields"))
        if req.method == "GET":
            if not parts:
                if "ids" not in params:
                    raise GraphError(400, 100, "(#100) Missing required parameter: ids", type_="GraphMethodException")
                ids = [i for i in params["ids"].strip("[]").replace(" ", "").split(",") if i]
                return json_response({i: self._node(i, app, fields) for i in ids})
            if parts == ["threat_descriptors"]:
                return self._search_descriptors(req, params, app, fields)
            if parts == ["threat_tags"]:
                prefix = params.get("text", "")
                rows = [{"id": str(t.id), "text": t.text} for t in self.tags.values() if t.text.startswith(prefix)]
                return self._paged(req, params, rows)
            if len(parts) == 1:
                return json_response(self._node(parts[0], app, fields))
            if len(parts) == 2:
                return self._edge(req, params, app, parts[0], parts[1], fields)
        if req.method == "POST":
            if parts == ["threat_descriptors"]:
                return self._create(params, app)
            if len(parts) == 1:
                return self._post_descriptor(parts[0], params, app)
        if req.method == "DELETE" and len(parts) == 1:
            d = self._own_descriptor(parts[0], app)
            self.delete_descriptor(d.id)
            return json_response({"success": True})
        raise GraphError(400, 100, f"Unsupported {req.method} request.", type_="GraphMethodException")

    # -- pagination: cursors are base64 of the position (or the update seq) --
    def _paged(self, req: Request, params: dict[str, str], rows: list[Any], key: Callable[[int, Any], int] | None = None) -> Response:
        limit = _limit(params)
        key = key or (lambda i, _row: i)
        after = _cursor(params.get("after"))
        keyed = [(key(i, r), r) for i, r in enumerate(rows)]
        if after is not None:
            keyed = [(k, r) for k, r in keyed if k > after]
        page, more = keyed[:limit], len(keyed) > limit
        out: dict[str, Any] = {"data": [r for _, r in page]}
        if page:
            out["paging"] = {"cursors": {"before": _enc(page[0][0] - 1 if page[0][0] else 0), "after": _enc(page[-1][0])}}
            if more:
                nxt = {k: v for k, v in params.items() if k not in ("after", "before")}
                nxt.update(limit=str(limit), after=_enc(page[-1][0]))
                out["paging"]["next"] = f"{self.url}{req.path}?{urlencode(nxt)}"
        return json_response(out)

    # -- reads --
    def _node(self, ident: str, app: App, fields: dict[str, Any] | None) -> dict[str, Any]:
        if not ident.isdigit():
            raise _no_object(ident)
        i = int(ident)
        if i in self.descriptors:
            d = self.descriptors[i]
            if not self._can_see(d, app):
                raise _no_object(ident)
            return self._descriptor_json(d, app, fields)
        if i in self.indicators:
            return _select(self._indicator_json(self.indicators[i]), fields, ("id", "indicator", "type"))
        if i in self.groups:
            pg = self.groups[i]
            if app.id not in pg.members and not pg.members_can_see:
                raise _no_object(ident)
            return _select(self._group_json(pg), fields, ("id", "name", "description"))
        if i in self.tags:
            return _select({"id": ident, "text": self.tags[i].text}, fields, ("id", "text"))
        if i in self.apps:
            a = self.apps[i]
            return _select({"id": ident, "name": a.name, "email": a.email}, fields, ("id", "name"))
        raise _no_object(ident)

    def _edge(self, req: Request, params: dict[str, str], app: App, ident: str, edge: str,
              fields: dict[str, Any] | None) -> Response:
        if edge in ("threat_privacy_groups_member", "threat_privacy_groups_owner"):
            if ident != str(app.id):
                raise _no_object(ident)
            groups = [g for g in self.groups.values()
                      if (app.id in g.members if edge.endswith("member") else g.owner == app.id)]
            default = ("id", "name", "description", "members_can_see", "members_can_use")
            return json_response({"data": [_select(self._group_json(g), fields, default) for g in groups]})
        if not ident.isdigit():
            raise _no_object(ident)
        i = int(ident)
        if edge == "threat_updates":
            return self._threat_updates(req, params, app, i, fields)
        if edge == "descriptors" and i in self.indicators:
            rows = [self._descriptor_json(d, app, fields) for d in self.descriptors.values()
                    if d.indicator == i and self._can_see(d, app)]
            return self._paged(req, params, rows)
        if edge == "tagged_objects" and i in self.tags:
            rows = [{"id": str(d.id), "type": "THREAT_DESCRIPTOR", "name": self.indicators[d.indicator].indicator}
                    for d in self.descriptors.values() if i in d.tags and self._can_see(d, app)]
            return self._paged(req, params, rows)
        if edge == "members" and i in self.groups:
            pg = self.groups[i]
            if app.id not in pg.members or not pg.members_can_see:
                raise _no_object(ident)
            return self._paged(req, params, [{"id": str(m), "name": self.apps[m].name, "email": self.apps[m].email}
                                             for m in sorted(pg.members) if m in self.apps])
        if i in self.descriptors or i in self.indicators or i in self.groups or i in self.tags:
            raise GraphError(400, 100, f"(#100) Tried accessing nonexisting field ({edge})", type_="OAuthException")
        raise _no_object(ident)

    def _can_see(self, d: Descriptor, app: App, include_expired: bool = False) -> bool:
        if d.deleted or (not include_expired and not self._visible(d)):
            return False
        return (d.owner == app.id or app.id in d.whitelist
                or any(app.id in self.groups[g].members for g in d.privacy_groups if g in self.groups))

    def _threat_updates(self, req: Request, params: dict[str, str], app: App, group: int,
                        fields: dict[str, Any] | None) -> Response:
        pg = self.groups.get(group)
        if pg is None or app.id not in pg.members:
            raise _no_object(str(group))
        if not pg.threat_updates_enabled:
            raise GraphError(500, 1, "An unknown error occurred", type_="OAuthException")
        start = _int_param(params, "start_time")
        stop = _int_param(params, "stop_time")
        types = {t for t in params.get("types", "").split(",") if t}
        fields = fields or {"id": None, "indicator": None, "type": None, "last_updated": None, "should_delete": None}
        after = _cursor(params.get("after")) or 0
        cutoff = self.clock() - self.tombstone_ttl
        limit = _limit(params)
        page: list[tuple[_Update, bool]] = []
        more = False
        current = self._current[group]
        for upd in self._log[group]:
            if upd.seq <= after or current.get(upd.indicator) is not upd:
                continue
            if (start is not None and upd.time < start) or (stop is not None and upd.time >= stop):
                continue
            ind = self.indicators[upd.indicator]
            if types and ind.type not in types:
                continue
            deleted = upd.indicator in self._deleted_in[group]
            if deleted and upd.time < cutoff:
                continue  # deletion events are only kept so long
            if len(page) == limit:
                more = True
                break
            page.append((upd, deleted))
        data = [self._update_json(group, upd, deleted, app, fields) for upd, deleted in page]
        out: dict[str, Any] = {"data": data}
        if page:
            out["paging"] = {"cursors": {"before": _enc(page[0][0].seq - 1), "after": _enc(page[-1][0].seq)}}
            if more:
                nxt = {k: v for k, v in params.items() if k not in ("after", "before")}
                nxt.update(limit=str(limit), after=_enc(page[-1][0].seq))
                out["paging"]["next"] = f"{self.url}{req.path}?{urlencode(nxt)}"

        def wrong_shape() -> bytes:
            return json.dumps({"data": {"unexpected": data[:1]}, "paging": out.get("paging", {})}).encode()

        resp = json_response(out)
        resp.wrong_shape = wrong_shape
        return resp

    def _update_json(self, group: int, upd: _Update, deleted: bool, app: App, fields: dict[str, Any]) -> dict[str, Any]:
        ind = self.indicators[upd.indicator]
        full: dict[str, Any] = {**self._indicator_json(ind), "should_delete": deleted, "last_updated": upd.time,
                                "creation_time": int(ind.creation_time)}
        live = [] if deleted else sorted(self._live_descriptors(ind.id, group), key=lambda d: d.id)
        if not deleted:
            full["tags"] = sorted({self.tags[t].text for d in live for t in d.tags})
            full["status"] = _rollup_status(d.status for d in live)
            full["applications_with_opinions"] = [str(o) for o in sorted({d.owner for d in live})]
        out: dict[str, Any] = {}
        for name, sub in fields.items():
            if name == "descriptors":
                if not deleted:
                    out["descriptors"] = {"data": [self._descriptor_json(d, app, sub) for d in live]}
            elif name in full:
                out[name] = full[name]
            elif name not in ("tags", "status", "applications_with_opinions"):
                raise GraphError(400, 100, f"(#100) Tried accessing nonexisting field ({name}) on node type (ThreatUpdate)")
        out.setdefault("id", str(ind.id))
        return out

    def _indicator_json(self, ind: Indicator) -> dict[str, Any]:
        return {"id": str(ind.id), "indicator": ind.indicator, "type": ind.type}

    def _group_json(self, pg: PrivacyGroup) -> dict[str, Any]:
        return {"id": str(pg.id), "name": pg.name, "description": pg.description,
                "members_can_see": pg.members_can_see, "members_can_use": pg.members_can_use,
                "threat_updates_enabled": pg.threat_updates_enabled,
                "added_on": iso(pg.added_on), "last_updated": iso(pg.last_updated)}

    def _descriptor_json(self, d: Descriptor, app: App, fields: dict[str, Any] | None) -> dict[str, Any]:
        ind = self.indicators[d.indicator]
        owner = self.apps.get(d.owner)
        full: dict[str, Any] = {
            "id": str(d.id),
            "indicator": self._indicator_json(ind),
            "raw_indicator": ind.indicator,
            "type": ind.type,
            "owner": {"id": str(d.owner), "email": owner.email if owner else "", "name": owner.name if owner else ""},
            "status": d.status,
            "tags": {"data": [{"id": str(t), "text": self.tags[t].text} for t in d.tags]},
            "added_on": iso(d.added_on),
            "last_updated": iso(d.last_updated),
            "description": d.description,
            "confidence": d.confidence,
            "share_level": d.share_level,
            "privacy_type": d.privacy_type,
            "privacy_members": [str(g) for g in sorted(d.privacy_groups or d.whitelist)],
            "review_status": d.review_status,
            "severity": d.severity,
            "reactions": [{"key": k, "value": ",".join(str(a) for a in sorted(v))} for k, v in sorted(d.reactions.items())],
            "my_reactions": sorted(k for k, v in d.reactions.items() if app.id in v),
        }
        for name, value in (("expired_on", d.expired_on), ("first_active", d.first_active), ("last_active", d.last_active)):
            if value is not None:
                full[name] = iso(value)
        if not d.tags:
            full.pop("tags")  # Graph leaves out an empty edge
        out = _select(full, fields, ("id", "indicator", "owner", "raw_indicator", "type", "status", "added_on",
                                     "last_updated", "description", "share_level", "privacy_type", "tags"))
        return out

    def _search_descriptors(self, req: Request, params: dict[str, str], app: App,
                            fields: dict[str, Any] | None) -> Response:
        include_expired = params.get("include_expired") == "true"
        groups = {int(g) for g in params.get("privacy_groups", "").split(",") if g.isdigit()}
        tags = [t for t in params.get("tags", "").split(",") if t]
        owners = {int(o) for o in params.get("owner", "").split(",") if o.isdigit()}
        text, type_, status = params.get("text"), params.get("type"), params.get("status")
        since, until = _int_param(params, "since"), _int_param(params, "until")
        rows = []
        for d in sorted(self.descriptors.values(), key=lambda d: d.id):
            if not self._can_see(d, app, include_expired):
                continue
            ind = self.indicators[d.indicator]
            dtags = {self.tags[t].text for t in d.tags}
            if groups and not groups & d.privacy_groups:
                continue
            if tags and (not set(tags) <= dtags if params.get("tags_are_anded") == "true" else not set(tags) & dtags):
                continue
            if (owners and d.owner not in owners) or (type_ and ind.type != type_) or (status and d.status != status):
                continue
            if text and (text != ind.indicator if params.get("strict_text") == "true" else text not in ind.indicator):
                continue
            if (since is not None and d.added_on < since) or (until is not None and d.added_on >= until):
                continue
            rows.append(self._descriptor_json(d, app, fields or {k: None for k in ("id", "raw_indicator", "type", "status", "tags")}))
        return self._paged(req, params, rows)

    # -- writes --
    def _own_descriptor(self, ident: str, app: App) -> Descriptor:
        d = self.descriptors.get(int(ident)) if ident.isdigit() else None
        if d is None or not self._can_see(d, app, include_expired=True):
            raise _no_object(ident)
        if d.owner != app.id:
            raise GraphError(400, 10, "(#10) Application does not have permission for this action")
        return d

    def _create(self, params: dict[str, str], app: App) -> Response:
        missing = [k for k in ("indicator", "type", "description", "share_level", "status", "privacy_type") if not params.get(k)]
        if missing:
            raise GraphError(400, 100, f"(#100) The parameter {missing[0]} is required", type_="OAuthException")
        groups = {int(g) for g in params.get("privacy_members", "").split(",") if g.strip().isdigit()}
        whitelist: set[int] = set()
        if params["privacy_type"] == "HAS_WHITELIST":  # privacy_members are apps; the owner is always one
            whitelist, groups = {g for g in groups if g in self.apps} | {app.id}, set()
        elif params["privacy_type"] == "HAS_PRIVACY_GROUP":
            bad = [g for g in groups if g not in self.groups or (app.id not in self.groups[g].members)]
            if not groups or bad:
                raise GraphError(400, 100, "(#100) privacy_members must name privacy groups you belong to")
        d = self.add_descriptor(app.id, params["indicator"], params["type"], privacy_groups=groups,
                                status=params["status"], tags=[t for t in params.get("tags", "").split(",") if t],
                                expired_on=parse_time(params.get("expired_on")), description=params["description"],
                                share_level=params["share_level"], privacy_type=params["privacy_type"],
                                whitelist=whitelist)
        return json_response({"success": True, "id": str(d.id)})

    def _post_descriptor(self, ident: str, params: dict[str, str], app: App) -> Response:
        d = self.descriptors.get(int(ident)) if ident.isdigit() else None
        if d is None or not self._can_see(d, app):
            raise _no_object(ident)
        add = [r for r in params.get("reactions", "").split(",") if r]
        remove = [r for r in params.get("reactions_to_remove", "").split(",") if r]
        if add or remove:
            if d.owner == app.id:
                raise GraphError(400, 100, "(#100) You cannot react to your own descriptor")
            unknown = [r for r in add + remove if r not in REACTIONS]
            if unknown:
                raise GraphError(400, 100, f"(#100) Invalid reaction type: {unknown[0]}")
            for r in add:
                self.react(d.id, app.id, r)
            for r in remove:
                self.react(d.id, app.id, r, remove=True)
            return json_response({"success": True})
        d = self._own_descriptor(ident, app)
        changes: dict[str, Any] = {}
        for k in ("status", "description", "share_level", "review_status", "severity", "privacy_type"):
            if k in params:
                changes[k] = params[k]
        if "confidence" in params:
            changes["confidence"] = int(params["confidence"])
        if "expired_on" in params:
            changes["expired_on"] = parse_time(params["expired_on"])
        tags = [self.tags[t].text for t in d.tags]
        if "tags" in params:
            tags = [t for t in params["tags"].split(",") if t]
        tags += [t for t in params.get("add_tags", "").split(",") if t and t not in tags]
        tags = [t for t in tags if t not in params.get("remove_tags", "").split(",")]
        if tags != [self.tags[t].text for t in d.tags]:
            changes["tags"] = tags
        if "privacy_members" in params:
            changes["privacy_groups"] = {int(g) for g in params["privacy_members"].split(",") if g.strip().isdigit()}
        if "status" in changes and changes["status"] not in STATUSES:
            raise GraphError(400, 100, f"(#100) Invalid status: {changes['status']}")
        self.update_descriptor(d.id, **changes)
        return json_response({"success": True})

    # -- admin (for a stand-in in another process) --
    def admin(self, req: Request) -> Response:
        try:
            with self.lock:
                if req.path == "/_standin/load" and req.method == "POST":
                    return json_response(self.load(req.json()))
                if req.path == "/_standin/clock" and req.method == "POST":
                    self.now = req.json().get("now")
                    return json_response({"now": self.clock()})
        except (ValueError, KeyError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        return super().admin(req)

    def load(self, spec: dict[str, Any]) -> dict[str, Any]:
        """{"apps": [{name, app_id?, secret?}], "privacy_groups": [{name, owner, members, group_id?}],
        "descriptors": [{owner, indicator, type, privacy_groups, status?, tags?, expired_on?}]}.
        `owner`/`members` name apps by index in "apps" (int) or by app id (str); groups by index or id."""
        apps = [self.add_app(**a) for a in spec.get("apps", [])]

        def app_ref(x: Any) -> int:
            return apps[x].id if isinstance(x, int) and x < len(apps) else int(x)

        groups = [self.add_privacy_group(g["name"], app_ref(g["owner"]), [app_ref(m) for m in g.get("members", [])],
                                         **{k: g[k] for k in ("description", "group_id", "threat_updates_enabled") if k in g})
                  for g in spec.get("privacy_groups", [])]

        def group_ref(x: Any) -> int:
            return groups[x].id if isinstance(x, int) and x < len(groups) else int(x)

        ds = [self.add_descriptor(app_ref(d["owner"]), d["indicator"], d["type"],
                                  privacy_groups=[group_ref(g) for g in d["privacy_groups"]],
                                  **{k: d[k] for k in ("status", "tags", "expired_on", "description") if k in d})
              for d in spec.get("descriptors", [])]
        return {"apps": [{"id": a.id, "token": a.token, "name": a.name} for a in apps],
                "privacy_groups": [g.id for g in groups], "descriptors": [d.id for d in ds]}

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "descriptors": len(self.descriptors), "indicators": len(self.indicators),
                "privacy_groups": len(self.groups)}


def _rollup_status(statuses: Iterable[str]) -> str:
    s = set(statuses)
    for status in ("MALICIOUS", "SUSPICIOUS", "NON_MALICIOUS"):
        if status in s:
            return status
    return "UNKNOWN"


def _select(full: dict[str, Any], fields: dict[str, Any] | None, default: Iterable[str]) -> dict[str, Any]:
    if fields is None:
        return {k: full[k] for k in default if k in full} | {"id": full["id"]}
    out: dict[str, Any] = {}
    for name, sub in fields.items():
        if name not in full:
            if name in ("tags", "expired_on", "first_active", "last_active"):
                continue  # present but empty: Graph leaves it out
            raise GraphError(400, 100, f"(#100) Tried accessing nonexisting field ({name})")
        value = full[name]
        if sub and isinstance(value, dict):
            if "data" in value and isinstance(value["data"], list):
                value = {"data": [{k: v for k, v in item.items() if k in sub} for item in value["data"]]}
            else:
                value = {k: v for k, v in value.items() if k in sub}
        out[name] = value
    out.setdefault("id", full["id"])
    return out


def _enc(n: int) -> str:
    return base64.urlsafe_b64encode(f"c:{n}".encode()).decode()


def _cursor(value: str | None) -> int | None:
    if not value:
        return None
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        if not text.startswith("c:"):
            raise ValueError
        return int(text[2:])
    except ValueError:
        raise GraphError(400, 100, "(#100) Invalid cursor", type_="OAuthException")


def _limit(params: dict[str, str]) -> int:
    try:
        return max(1, min(int(params.get("limit") or DEFAULT_LIMIT), MAX_LIMIT))
    except ValueError:
        raise GraphError(400, 100, "(#100) Param limit must be a number")


def _int_param(params: dict[str, str], name: str) -> int | None:
    value = params.get(name)
    if value in (None, "", "None"):
        return None
    try:
        return int(float(value)) if value.replace(".", "", 1).isdigit() else int(parse_time(value))
    except (TypeError, ValueError):
        raise GraphError(400, 100, f"(#100) Param {name} must be a unix timestamp")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8789, help="0 picks a free port (the URL is printed first)")
    p.add_argument("--load", help="JSON file: {apps, privacy_groups, descriptors} (see ThreatExchangeStandin.load)")
    args = p.parse_args(argv)
    server = ThreatExchangeStandin(args.host, args.port)
    loaded = server.load(json.loads(Path(args.load).read_text())) if args.load else None

    def announce(url: str) -> None:
        print(url, flush=True)
        if loaded:
            print(json.dumps(loaded), flush=True)

    serve_until_interrupted(server, announce)


if __name__ == "__main__":
    main()
