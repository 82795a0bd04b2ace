"""Hasher-Matcher-Actioner (HMA 2.0 / OpenMediaMatch) bank content.

HMA keeps bank content as items `{"id", "signals": {signal_type: value, ...}, "metadata": {"content_id",
"content_uri", "json"}}` (its curation API's add/get shape). Read: `{"bank": ..., "content": [...]}`, a
bare list of items, or JSON Lines; each signal of an item becomes one Vigil entry. Vigil's labels, note
and metadata ride in metadata.json so they come back on import; an item with `"enabled": false` or a
future `disable_until_ts` is imported with its signals (Vigil keeps enabling local).
Write: one item per entry.
"""

from __future__ import annotations

import json
from typing import Iterable, Iterator

from vigil.banks.io import Record, Rejection, read_json

TO_VIGIL = {"pdq": "pdq", "video_md5": "md5", "md5": "md5", "video_sha256": "sha256", "sha256": "sha256", "vpdq": "vpdq", "video_pdq": "vpdq"}
FROM_VIGIL = {"pdq": "pdq", "md5": "video_md5", "sha256": "video_sha256", "vpdq": "vpdq"}


def _records(line: int, item) -> Iterator[Record | Rejection]:
    if not isinstance(item, dict) or not isinstance(item.get("signals"), dict) or not item["signals"]:
        yield Rejection(line, "expected a bank content object with a non-empty \"signals\" map")
        return
    meta = item.get("metadata") or {}
    if not isinstance(meta, dict):
        yield Rejection(line, "metadata must be an object")
        return
    extra = meta.get("json") if isinstance(meta.get("json"), dict) else {}
    labels = extra.get("labels") if isinstance(extra.get("labels"), dict) else {}
    metadata = dict(extra.get("metadata")) if isinstance(extra.get("metadata"), dict) else {}
    for key in ("content_id", "content_uri"):
        if isinstance(meta.get(key), str) and meta[key]:
            metadata.setdefault(f"hma_{key}", meta[key])
    if item.get("id") is not None:
        metadata.setdefault("hma_id", item["id"])
    for signal_type, value in item["signals"].items():
        vigil_type = TO_VIGIL.get(str(signal_type).lower())
        if vigil_type is None:
            yield Rejection(line, f"signal type {str(signal_type)[:40]!r} is not one Vigil matches (use one of: {', '.join(sorted(TO_VIGIL))})")
            continue
        if not isinstance(value, str):
            yield Rejection(line, f"{signal_type} value must be text, got {type(value).__name__}")
            continue
        yield Record(
            line=line, signal_type=vigil_type, value=value, labels=labels,
            source=str(extra.get("source", "")), note=str(extra.get("note", "")), metadata=metadata,
        )


def read(data: bytes) -> Iterator[Record | Rejection]:
    return read_json(data, "content", _records)


def write(bank: str, records: Iterable[Record]) -> bytes:
    content = [
        {
            "signals": {FROM_VIGIL.get(r.signal_type, r.signal_type): r.value},
            "metadata": {"json": {"labels": r.labels, "source": r.source, "note": r.note, "metadata": r.metadata}},
        }
        for r in records
    ]
    return (json.dumps({"bank": {"name": bank}, "content": content}, ensure_ascii=False, indent=1) + "\n").encode()
