"""A local stand-in for the EU DSA Transparency Database API, for tests and demos on loopback.

It answers as the Database does, and only from the facts in src/vigil/transparency/data/tdb_rules.json
(read from the Database's own source: its validation rules, enums, middleware and controllers). This file is
an interpreter of that data: the Laravel validator's semantics, the two statement endpoints, the puid
reservation. It is written independently of Vigil's own validator (vigil.transparency.sor), so that a
mistake in one shows up against the other.

    POST /api/v1/statement            one statement; 201 with the statement, 422 {"message", "errors": {field: [..]}}
    POST /api/v1/statements           {"statements": [1..100]}; 201 {"statements": [..]};
                                      422 {"errors": {"statement_<i>": {field: [..]}}} and nothing stored
    GET  /api/v1/statement/existing-puid/<puid>     302 found / 404 not found
    GET  /_standin/statements         (stand-in only, no token) what was stored, for tests and demos

A puid is unique per platform across both endpoints: a repeat gets the Database's duplicate answer
(single: {"message", "errors": {"puid"}, "existing": {"puid"}}; batch: {"message", "errors": {"puid",
"existing_puids"}}). One token is one platform.

    python tools/tdb_standin.py --port 8787 --token secret
"""

from __future__ import annotations

import argparse
import calendar
import json
import re
import threading
import unicodedata
import uuid
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

RULES_PATH = Path(__file__).resolve().parents[1] / "src" / "vigil" / "transparency" / "data" / "tdb_rules.json"
IMPLICIT = {"required", "required_if", "required_without_all"}
EXCLUDING = {"exclude", "exclude_unless"}
SIZE_RULES = {"max", "between"}
MISSING = object()


def load_rules(path: Path | str = RULES_PATH) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


# --- PHP values: the JSON body as PHP sees it after json_decode(..., true) ---------------------------------

def is_array(v: object) -> bool:
    return isinstance(v, (dict, list))


def items(v: dict | list) -> list:
    return list(v.values()) if isinstance(v, dict) else list(v)


def php_string(v: object) -> str:
    """(string) $v for a scalar."""
    if v is None or v is False:
        return ""
    if v is True:
        return "1"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        text = repr(v)
        if "e" in text:
            mantissa, exp = text.split("e")
            mantissa = mantissa[:-2] if mantissa.endswith(".0") else mantissa
            text = f"{mantissa if '.' in mantissa else mantissa + '.0'}E{'+' if not exp.startswith('-') else ''}{exp}"
        return text
    return str(v)


def is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def php_array_key(s: object) -> object:
    """A value used as a PHP array key: a string of decimal digits (no leading zero) becomes an int."""
    if isinstance(s, str) and re.fullmatch(r"-?[1-9][0-9]*|0", s) and -2**63 <= int(s) < 2**63:
        return int(s)
    return s


# --- middleware: TrimStrings, then ConvertEmptyStringsToNull -----------------------------------------------

class Middleware:
    def __init__(self, facts: dict) -> None:
        invisible = {chr(int(c[2:], 16)) for c in facts["TrimStrings"]["invisible_characters"]}
        self.strip = invisible | set(" \n\r\t\v\f\0")
        self.except_keys = set(facts["TrimStrings"]["except_keys"])

    def _trimmable(self, ch: str) -> bool:
        return ch in self.strip or unicodedata.category(ch).startswith("Z")

    def trim(self, s: str) -> str:
        start, end = 0, len(s)
        while start < end and self._trimmable(s[start]):
            start += 1
        while end > start and self._trimmable(s[end - 1]):
            end -= 1
        return s[start:end]

    def clean(self, value: object, key: str = "") -> object:
        if isinstance(value, dict):
            return {k: self.clean(v, f"{key}{k}.") for k, v in value.items()}
        if isinstance(value, list):
            return [self.clean(v, f"{key}{i}.") for i, v in enumerate(value)]
        if isinstance(value, str):
            if key[:-1] not in self.except_keys:
                value = self.trim(value)
            return None if value == "" else value
        return value


def decode_body(raw: bytes, content_type: str | None) -> object:
    """json_decode($body, true) cast to array; a body that is not JSON is an empty input."""
    if not content_type or not ("/json" in content_type or "+json" in content_type):
        return {}
    try:
        data = json.loads(raw.decode("utf-8") or "[]")
    except (ValueError, UnicodeDecodeError):
        return {}
    if _has_lone_surrogate(data):
        return {}
    if data is None:
        return {}
    return data if is_array(data) else [data]


def _has_lone_surrogate(v: object) -> bool:
    if isinstance(v, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in v)
    if isinstance(v, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(x) for k, x in v.items())
    if isinstance(v, list):
        return any(_has_lone_surrogate(x) for x in v)
    return False


# --- dates as the validator reads them -----------------------------------------------------------------------

def strict_ymd(v: object) -> bool:
    """date_format:Y-m-d: the value reads back exactly as YYYY-MM-DD."""
    if not (isinstance(v, str) or is_number(v)):
        return False
    s = php_string(v) if is_number(v) else v
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", s):
        return False
    try:
        date.fromisoformat(s)
    except ValueError:
        return False
    return True


def loose_date(v: object) -> datetime | None:
    """The value as a point in time: Y-m-d as createFromFormat reads it, else a free-form date."""
    if not (isinstance(v, str) or is_number(v)):
        return None
    s = php_string(v) if is_number(v) else v
    m = re.fullmatch(r"([0-9]{1,4})-([0-9]{1,2})-([0-9]{1,2})", s)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        y += (mo - 1) // 12 if mo else -1
        mo = (mo - 1) % 12 + 1 if mo else 12
        if y < 1 or y > 9999:
            return None
        first = datetime(y, mo, 1)
        return first + timedelta(days=d - 1)
    try:
        parsed = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


# --- the validator ---------------------------------------------------------------------------------------------

class Validator:
    """One validation run: Laravel's rule loop over a declarative rule list (see 'semantics' in the rules file)."""

    def __init__(self, facts: dict, rules: list, data: object, url_re: re.Pattern) -> None:
        self.facts = facts
        self.data = data if is_array(data) else {}
        self.rules = [(attr, [r for r in rule_list if self._active(r)]) for attr, rule_list in rules]
        self.url_re = url_re
        self.errors: dict[str, list[str]] = {}
        self.failed: dict[str, set[str]] = {}
        self.excluded: set[str] = set()

    # data access (dot paths)
    def get(self, path: str) -> object:
        node = self.data
        for part in path.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and re.fullmatch(r"[0-9]+", part) and int(part) < len(node):
                node = node[int(part)]
            else:
                return MISSING
        return node

    def value(self, path: str) -> object:
        v = self.get(path)
        return None if v is MISSING else v

    def _active(self, rule: dict) -> bool:
        return "when" not in rule or self._holds(rule["when"])

    def _holds(self, cond: dict) -> bool:
        if "not" in cond:
            return not self._holds(cond["not"])
        v = self.value(cond["field"])
        if is_array(v):
            seen = items(v)
        elif v is None:
            seen = []
        else:
            seen = [v] if cond.get("non_array_value") == "counts_as_one_item" else []
        return any(isinstance(x, str) and x == cond["contains"] for x in seen)

    def has_rule(self, attr: str, name: str) -> bool:
        return any(r["rule"] == name for a, rules in self.rules if a == attr for r in rules)

    def allowed(self, rule: dict) -> set[str]:
        return set(self.facts["enums"][rule["enum"]]["values"]) | set(rule.get("also", []))

    # the rules
    @staticmethod
    def required(v: object) -> bool:
        if v is None or v is MISSING:
            return False
        if isinstance(v, str) and v.strip(" \t\n\r\0\x0b") == "":
            return False
        if is_array(v) and len(v) == 0:
            return False
        return True

    def size(self, attr: str, v: object) -> int:
        return len(v) if is_array(v) else len(php_string(v))

    def other_matches(self, field: str, values: list[str]) -> bool:
        other = self.value(field)
        return isinstance(other, str) and other in values

    def passes(self, attr: str, rule: dict, v: object) -> bool:
        name = rule["rule"]
        if name == "required":
            return self.required(v)
        if name == "required_if":
            if self.get(rule["field"]) is MISSING:
                return True
            return self.required(v) if self.other_matches(rule["field"], rule["values"]) else True
        if name == "required_without_all":
            if all(not self.required(self.get(f)) for f in rule["fields"]):
                return self.required(v)
            return True
        if name == "nullable":
            return True
        if name == "exclude":
            return False
        if name == "exclude_unless":
            return self.other_matches(rule["field"], rule["values"])
        if name == "array":
            return is_array(v)
        if name == "string":
            return isinstance(v, str)
        if name == "in":
            allowed = self.allowed(rule)
            if is_array(v) and self.has_rule(attr, "array"):
                elements = items(v)
                if any(is_array(e) for e in elements):
                    return False
                return all(php_string(e) in allowed for e in elements)
            return not is_array(v) and php_string(v) in allowed
        if name == "max":
            return self.size(attr, v) <= rule["value"]
        if name == "between":
            return rule["min"] <= self.size(attr, v) <= rule["max"]
        if name == "regex":
            if not (isinstance(v, str) or is_number(v)):
                return False
            return re.fullmatch(rule["pattern"], php_string(v)) is not None
        if name == "url":
            return isinstance(v, str) and self.url_re.fullmatch(v) is not None
        if name == "date_format":
            return strict_ymd(v)
        if name in ("after_or_equal", "before_or_equal"):
            first = loose_date(v)
            if first is None:
                return False
            bound = datetime.fromisoformat(rule["date"])
            return first >= bound if name == "after_or_equal" else first <= bound
        raise ValueError(f"rule {name!r} is not known to the interpreter")

    def validatable(self, attr: str, rule: dict, v: object) -> bool:
        name = rule["rule"]
        if name in EXCLUDING:
            return True
        implicit = name in IMPLICIT
        if isinstance(v, str) and v.strip(" \t\n\r\0\x0b") == "":
            present = implicit
        else:
            present = v is not MISSING or implicit
        not_null = implicit or not self.has_rule(attr, "nullable") or v is not None
        return present and not_null

    # messages
    def display(self, attr: str) -> str:
        return self.facts.get("attribute_display", {}).get(attr, attr.replace("_", " "))

    def message(self, attr: str, rule: dict, custom: dict) -> str:
        name = rule["rule"]
        text = custom.get(f"{attr}.{name}")
        if text is None:
            text = self.facts["messages"]["default"][name]
            if name in SIZE_RULES:
                text = text["array" if self.has_rule(attr, "array") else "string"]
        text = text.replace(":attribute", self.display(attr))
        if name == "required_without_all":
            text = text.replace(":values", " / ".join(self.display(f) for f in rule["fields"]))
        if name == "required_if":
            text = text.replace(":other", self.display(rule["field"])).replace(":value", php_string(self.value(rule["field"])))
        for key in ("max", "min", "date", "format"):
            if key in rule:
                text = text.replace(f":{key}", str(rule[key]))
        if name == "max" and "value" in rule:
            text = text.replace(":max", str(rule["value"]))
        return text

    def run(self, custom: dict) -> dict[str, list[str]]:
        for attr, rules in self.rules:
            if attr in self.excluded:
                continue
            for rule in rules:
                v = self.get(attr)
                if self.validatable(attr, rule, v) and not self.passes(attr, rule, v):
                    if rule["rule"] in EXCLUDING:
                        self.excluded.add(attr)
                    else:
                        self.errors.setdefault(attr, []).append(self.message(attr, rule, custom))
                        self.failed.setdefault(attr, set()).add(rule["rule"])
                if attr in self.excluded:
                    break
                if any(r["rule"] in IMPLICIT for r in rules) and self.failed.get(attr, set()) & IMPLICIT:
                    break
        return self.errors

    def validated(self) -> dict:
        """The data that has rules and was not excluded (what $validator->validated() returns)."""
        out: dict = {}
        for attr, _ in self.rules:
            if attr in self.excluded or "." in attr:
                continue
            v = self.get(attr)
            if v is not MISSING:
                out[attr] = v
        # An array attribute with rules for its keys keeps only those keys (excludeUnvalidatedArrayKeys).
        if is_array(out.get("content_id")):
            del out["content_id"]
            ean = self.get("content_id.EAN-13")
            if ean is not MISSING and "content_id.EAN-13" not in self.excluded:
                out["content_id"] = {"EAN-13": ean}
        return out


def url_pattern(protocols: list[str]) -> re.Pattern:
    """Str::isUrl's shape (scheme list from the rules file), with Python's \\w standing in for \\pL\\pN."""
    scheme = "|".join(re.escape(p) for p in protocols)
    word = r"[^\W_]"
    unreserved = r"(?:[\w\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
    host = (rf"(?:(?:[\w\-]+\.)+(?:xn--[a-z0-9-]+|{word}+)|[a-z0-9\-_]+)\.?"
            r"|[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"
            r"|\[[0-9a-f:.]+\]")
    return re.compile(
        rf"(?:{scheme})://(?:(?:(?:[\w.\-]|%[0-9A-Fa-f]{{2}})+:)?(?:[\w.\-]|%[0-9A-Fa-f]{{2}})+@)?(?:{host})(?::[0-9]+)?"
        rf"(?:/{unreserved}*)*(?:\?(?:{unreserved}|[\[\]/?])*)?(?:\#(?:{unreserved}|[/?])*)?",
        re.IGNORECASE)


# --- the Database ----------------------------------------------------------------------------------------------

class Rulebook:
    """The facts of tdb_rules.json, ready to apply."""

    def __init__(self, facts: dict) -> None:
        self.facts = facts
        self.middleware = Middleware(facts["middleware"])
        self.url_re = url_pattern(facts["url_protocols"])
        self.custom = facts["messages"]["custom"]
        self.single = facts["endpoints"]["single"]
        self.multi = facts["endpoints"]["multi"]

    def validate(self, data: object, endpoint: str) -> tuple[dict[str, list[str]], dict]:
        v = Validator(self.facts, self.facts["statement_rules"][endpoint], data, self.url_re)
        errors = v.run(self.custom)
        return errors, v.validated()

    def validate_envelope(self, data: object) -> tuple[dict[str, list[str]], object]:
        v = Validator(self.facts, self.multi["envelope_rules"], data, self.url_re)
        return v.run(self.custom), v.value("statements")

    @staticmethod
    def summary(errors: dict[str, list[str]]) -> str:
        messages = [m for ms in errors.values() for m in ms]
        first, more = messages[0], len(messages) - 1
        if more:
            first += f" (and {more} more {'error' if more == 1 else 'errors'})"
        return first


def check(statement: object, endpoint: str = "multi", rulebook: Rulebook | None = None) -> dict[str, list[str]]:
    """The Database's errors for one statement (after its middleware), field -> messages; {} when accepted.

    endpoint "multi" gives the per-statement verdict of POST /api/v1/statements, "single" that of /api/v1/statement.
    """
    rulebook = rulebook or _default_rulebook()
    cleaned = rulebook.middleware.clean(statement)
    return rulebook.validate(cleaned, endpoint)[0]


_RULEBOOK: Rulebook | None = None


def _default_rulebook() -> Rulebook:
    global _RULEBOOK
    if _RULEBOOK is None:
        _RULEBOOK = Rulebook(load_rules())
    return _RULEBOOK


class Database:
    """The stored statements of one platform (the token's owner)."""

    def __init__(self, rulebook: Rulebook, platform_name: str = "Vigil stand-in platform", app_url: str = "") -> None:
        self.rulebook = rulebook
        self.platform_name = platform_name
        self.app_url = app_url
        self.lock = threading.Lock()
        self.statements: dict[str, dict] = {}  # puid (as a string) -> the statement as answered
        self.requests = 0
        self.answers: list[tuple[str, int]] = []  # (path, status), in order
        self._next_id = 1

    def _stamp(self, statement: dict, with_id: bool) -> dict:
        sid = str(uuid.uuid4())
        statement["uuid"] = sid
        statement["created_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        if with_id:
            statement["id"] = self._next_id
            self._next_id += 1
        statement["platform_name"] = self.platform_name
        statement["permalink"] = f"{self.app_url}/statement/{sid}"
        statement["self"] = f"{self.app_url}/api/v1/statement/{sid}"
        return statement

    def _countries(self, scope: object) -> list:
        allowed = self.rulebook.facts["enums"]["EUROPEAN_COUNTRY_CODES"]["values"]
        codes = {c for c in items(scope) if isinstance(c, str) and c in allowed} if is_array(scope) else set()
        return sorted(codes)

    def store_one(self, data: object, wants_json: bool) -> tuple[int, dict | None]:
        errors, valid = self.rulebook.validate(data, "single")
        if errors:
            if not wants_json:
                return 302, None
            return 422, {"message": self.rulebook.summary(errors), "errors": errors}
        with self.lock:
            key = php_string(valid["puid"])
            if key in self.statements:
                shape = self.rulebook.single["duplicate_puid"]["shape"]
                return 422, {"message": shape["message"], "errors": {"puid": list(shape["errors"]["puid"])},
                             "existing": {"puid": valid["puid"]}}
            out = dict(valid)
            for name in ("content_date", "application_date", "end_date_monetary_restriction", "end_date_visibility_restriction",
                         "end_date_account_restriction", "end_date_service_restriction"):
                out.setdefault(name, None)
            out["territorial_scope"] = self._countries(out.get("territorial_scope"))
            for name in ("content_type", "decision_visibility", "category_specification"):
                if is_array(out.get(name)):
                    out[name] = sorted({php_string(x) for x in items(out[name])})
            for name in ("decision_visibility", "category_specification", "category_addition"):
                if name in out and out[name] is None:
                    out[name] = []  # the model reads these back as lists
            if is_array(out.get("category_addition")):
                out["category_addition"] = [c for c in items(out["category_addition"]) if c != out.get("category")]
            if out.get("content_id_ean") is None and isinstance(out.get("content_id"), dict) and "EAN-13" in out["content_id"]:
                out["content_id_ean"] = out["content_id"]["EAN-13"]
            self._stamp(out, with_id=True)
            out["puid"] = valid["puid"]
            self.statements[key] = out
        return 201, out

    def store_batch(self, data: object, wants_json: bool) -> tuple[int, dict | None]:
        envelope_errors, batch = self.rulebook.validate_envelope(data)
        if envelope_errors:
            if not wants_json:
                return 302, None
            return 422, {"message": self.rulebook.summary(envelope_errors), "errors": envelope_errors}
        indexed = list(batch.items()) if isinstance(batch, dict) else list(enumerate(batch))
        if any(not is_array(s) for _, s in indexed):
            return 500, dict(self.rulebook.multi["non_object_statement"]["body"])
        errors: dict[str, dict] = {}
        valid: list[dict] = []
        for index, statement in indexed:
            found, ok = self.rulebook.validate(statement, "multi")
            if found:
                errors[f"statement_{index}"] = found
            valid.append(ok)
        if errors:
            return 422, {"errors": errors}
        shape = self.rulebook.multi["duplicate_puid"]["shape"]
        puids = [s["puid"] for s in valid]
        with self.lock:
            counts: dict[str, int] = {}
            for p in puids:
                counts[php_string(p)] = counts.get(php_string(p), 0) + 1
            repeated = [php_array_key(p) for p, n in counts.items() if n > 1]
            used = [] if repeated else [p for p in puids if php_string(p) in self.statements]
            if repeated or used:
                return 422, {"message": shape["message"],
                             "errors": {"puid": list(shape["errors"]["puid"]), "existing_puids": repeated or used}}
            success = self.rulebook.multi["success"]
            created = []
            for s in valid:
                out = dict(s)
                out["territorial_scope"] = self._countries(out.get("territorial_scope"))
                content_id = out.pop("content_id", None)
                out["content_id_ean"] = content_id.get("EAN-13") if isinstance(content_id, dict) else None
                for name in success["array_fields_default_empty"]:
                    if out.get(name) is None:
                        out[name] = []
                for name in success["fields_default_null"]:
                    out.setdefault(name, None)
                self._stamp(out, with_id=False)
                created.append(out)
            for out in created:
                self.statements[php_string(out["puid"])] = out
        return 201, {"statements": created}


# --- HTTP ---------------------------------------------------------------------------------------------------------

def bearer_token(header: str) -> str | None:
    position = header.lower().rfind("bearer ")
    if position < 0:
        return None
    token = header[position + 7:]
    return token.split(",", 1)[0]


def wants_json(headers) -> bool:
    accept = headers.get("Accept") or ""
    types = []
    for i, part in enumerate(p for p in accept.split(",") if p.strip()):
        fields = [f.strip() for f in part.split(";")]
        q = 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    pass
        types.append((-q, i, fields[0].lower()))
    types.sort()
    if types and ("/json" in types[0][2] or "+json" in types[0][2]):
        return True
    ajax = (headers.get("X-Requested-With") or "") == "XMLHttpRequest"
    return ajax and (not types or types[0][2] in ("*/*", "*"))


def make_server(host: str = "127.0.0.1", port: int = 0, token: str = "standin-token", *,
                rules: dict | None = None, platform_name: str = "Vigil stand-in platform") -> ThreadingHTTPServer:
    rulebook = Rulebook(rules or load_rules())
    db = Database(rulebook, platform_name)
    endpoints = rulebook.facts["endpoints"]
    routes = {"/api/v1/statement": "POST", "/api/v1/statements": "POST"}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet: tests read the results, not the log
            pass

        def reply(self, status: int, body: dict | None, location: str | None = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            db.answers.append((urlsplit(self.path).path, status))

        def authenticated(self) -> bool:
            if bearer_token(self.headers.get("Authorization") or "") == token:
                return True
            self.reply(endpoints["auth"]["unauthenticated"]["status"], dict(endpoints["auth"]["unauthenticated"]["body"]))
            return False

        def not_found(self, path: str, method: str) -> None:
            allowed = routes.get(path)
            if allowed and allowed != method:
                self.reply(405, {"message": f"The {method} method is not supported for route {path.lstrip('/')}. "
                                            f"Supported methods: {allowed}."})
            else:
                self.reply(404, {"message": f"The route {path.lstrip('/')} could not be found."})

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/_standin/statements":
                with db.lock:
                    self.reply(200, {"statements": list(db.statements.values())})
                return
            prefix = "/api/v1/statement/existing-puid/"
            if path.startswith(prefix) and len(path) > len(prefix):
                if not self.authenticated():
                    return
                puid = unquote(path[len(prefix):])
                spec = endpoints["existing_puid"]
                found = puid in db.statements
                answer = spec["found"] if found else spec["not_found"]
                self.reply(answer["status"], {"message": answer["body"]["message"], "puid": puid})
                return
            self.not_found(path, "GET")

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            if path not in routes:
                self.not_found(path, "POST")
                return
            db.requests += 1
            if not self.authenticated():
                return
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            data = rulebook.middleware.clean(decode_body(raw, self.headers.get("Content-Type")))
            json_wanted = wants_json(self.headers)
            if path == "/api/v1/statement":
                status, body = db.store_one(data, json_wanted)
            else:
                status, body = db.store_batch(data, json_wanted)
            self.reply(status, body, location=(db.app_url + "/") if status == 302 else None)

    server = ThreadingHTTPServer((host, port), Handler)
    db.app_url = f"http://{host}:{server.server_address[1]}"
    server.db = db  # type: ignore[attr-defined]
    server.rulebook = rulebook  # type: ignore[attr-defined]
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--token", default="standin-token")
    parser.add_argument("--rules", default=str(RULES_PATH), help="the facts file (default: Vigil's tdb_rules.json)")
    args = parser.parse_args()
    server = make_server(args.host, args.port, args.token, rules=load_rules(args.rules))
    print(f"Transparency Database stand-in on http://{args.host}:{server.server_address[1]} (token {args.token})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
