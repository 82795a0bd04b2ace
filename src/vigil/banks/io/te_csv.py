"""ThreatExchange / python-threatexchange CSV: what `threatexchange dataset -P --csv` prints and file exchanges hold.

Read: the CSV with header `signal_type,signal_str,collab,category,tags` (tags space-separated), or the
file exchange's plain lines `<signal_type> <signal>`. Vigil's GIFCT labels travel as `key:value` tags
(value URL-quoted so spaces survive); other tags are kept in labels["tags"]; the opinion category
(POSITIVE_CLASS, NEGATIVE_CLASS, INVESTIGATION_SEED) goes to metadata["category"]; collab is the source.
Write: the CSV with that header. An entry's note has no column in this format and is not exported.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator
from urllib.parse import quote, unquote

from vigil.banks.io import Record, Rejection, decode_text

HEADER = ("signal_type", "signal_str", "collab", "category", "tags")
# pytx signal type names -> Vigil's. pytx names md5/sha256 of files "video_*"; Vigil hashes any file.
TO_VIGIL = {"pdq": "pdq", "video_md5": "md5", "md5": "md5", "video_sha256": "sha256", "sha256": "sha256", "vpdq": "vpdq", "video_pdq": "vpdq"}
FROM_VIGIL = {"pdq": "pdq", "md5": "video_md5", "sha256": "video_sha256", "vpdq": "vpdq"}
CATEGORIES = ("POSITIVE_CLASS", "NEGATIVE_CLASS", "INVESTIGATION_SEED", "DISPUTED")
_LABEL_TAGS = ("entity", "behaviour", "content_type")
_FIELD_LIMIT = csv.field_size_limit()


def _labels_from_tags(tags: str) -> dict:
    labels: dict = {}
    free = []
    for tag in tags.split():
        key, sep, value = tag.partition(":")
        if sep and key in _LABEL_TAGS and value:
            labels[key] = unquote(value)
        else:
            free.append(unquote(tag))
    if free:
        labels["tags"] = free
    return labels


def _record(line: int, signal_type: str, value: str, collab: str = "", category: str = "", tags: str = "") -> Record | Rejection:
    vigil_type = TO_VIGIL.get(signal_type.strip().lower())
    if vigil_type is None:
        return Rejection(line, f"signal type {signal_type[:40]!r} is not one Vigil matches (use one of: {', '.join(sorted(TO_VIGIL))})")
    category = category.strip().upper()
    if category and category not in CATEGORIES:
        return Rejection(line, f"category {category[:40]!r} is not a ThreatExchange opinion ({', '.join(CATEGORIES)})")
    return Record(
        line=line, signal_type=vigil_type, value=value.strip(), labels=_labels_from_tags(tags),
        source=collab.strip(), metadata={"category": category} if category else {},
    )


def _row(line: str) -> list[str] | None:
    """One CSV line as cells (hash lists never need quoted newlines), or None if it is not CSV."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return None


def read(data: bytes) -> Iterator[Record | Rejection]:
    text, bad = decode_text(data)
    if bad is not None:
        yield bad
        return
    lines = text.splitlines()
    first = next((i for i, l in enumerate(lines) if l.strip()), None)
    if first is None:
        return
    head = [h.strip().lower() for h in _row(lines[first]) or []]
    if "signal_type" in head and "signal_str" in head:
        col = {name: head.index(name) for name in HEADER if name in head}
        for number, line in enumerate(lines[first + 1 :], first + 2):
            row = _row(line)
            if row is None:
                yield Rejection(number, f"not a CSV row (or a field over {_FIELD_LIMIT} characters)")
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(head):
                yield Rejection(number, f"expected {len(head)} columns like the header, got {len(row)}")
                continue
            yield _record(number, *(row[col[name]] if name in col else "" for name in HEADER))
        return
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        signal_type, _, value = raw.strip().partition(" ")
        if not value.strip():
            yield Rejection(number, "expected `<signal_type> <signal>` (file exchange) or a CSV with a signal_type,signal_str header")
            continue
        yield _record(number, signal_type, value)


def _tags(labels: dict) -> str:
    tags = [f"{key}:{quote(str(labels[key]), safe='')}" for key in _LABEL_TAGS if isinstance(labels.get(key), str)]
    tags += [quote(t, safe="") for t in labels.get("tags", []) if isinstance(t, str)]
    return " ".join(tags)


def write(bank: str, records: Iterable[Record]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in records:
        writer.writerow(
            (FROM_VIGIL.get(r.signal_type, r.signal_type), r.value, r.source or bank, r.metadata.get("category", "POSITIVE_CLASS"), _tags(r.labels))
        )
    return out.getvalue().encode()
