"""Tech Against Terrorism hash list JSON (the TCAP hash-list API's page shape).

Read: a page `{"count", "next", "previous", "checkpoint", "results": [...]}`, a bare list of entries,
or JSON Lines. Each entry has `hash_digest`, `algorithm` (PDQ, MD5, or SHA256), `ideology`,
`file_type`, `deleted` and timestamps; `deleted: true` removes the entry from the bank. Ideology is
kept as a label, the TAT id, file type and timestamps as metadata, "tat" as the source.
Write: one page holding every entry.
"""

from __future__ import annotations

import json
from typing import Iterable, Iterator

from vigil.banks.io import Record, Rejection, read_json

ALGORITHMS = {"PDQ": "pdq", "MD5": "md5", "SHA256": "sha256", "SHA-256": "sha256"}
TO_ALGORITHM = {"pdq": "PDQ", "md5": "MD5", "sha256": "SHA256"}
SOURCE = "tat"


def _record(line: int, item) -> Record | Rejection:
    if not isinstance(item, dict):
        return Rejection(line, f"expected an object with hash_digest and algorithm, got {type(item).__name__}")
    digest, algorithm = item.get("hash_digest"), item.get("algorithm")
    if not isinstance(digest, str) or not digest.strip():
        return Rejection(line, "missing hash_digest")
    if not isinstance(algorithm, str) or algorithm.strip().upper() not in ALGORITHMS:
        return Rejection(line, f"algorithm {str(algorithm)[:40]!r} is not one of {', '.join(ALGORITHMS)}")
    deleted = item.get("deleted", False)
    if not isinstance(deleted, bool):
        return Rejection(line, f"deleted must be true or false, got {str(deleted)[:40]!r}")
    ideology = item.get("ideology")
    labels = {"ideology": ideology} if isinstance(ideology, str) and ideology else {}
    metadata = {k: item[k] for k in ("id", "file_type", "created_on", "updated_on") if item.get(k) not in (None, "")}
    if "id" in metadata:
        metadata["tat_id"] = metadata.pop("id")
    return Record(
        line=line, signal_type=ALGORITHMS[algorithm.strip().upper()], value=digest.strip(),
        labels=labels, source=SOURCE, metadata=metadata, deleted=deleted,
    )


def read(data: bytes) -> Iterator[Record | Rejection]:
    return read_json(data, "results", lambda line, item: [_record(line, item)])


def write(bank: str, records: Iterable[Record]) -> bytes:
    results = []
    for r in records:
        if r.signal_type not in TO_ALGORITHM:
            continue
        results.append({
            "id": r.metadata.get("tat_id"),
            "hash_digest": r.value,
            "algorithm": TO_ALGORITHM[r.signal_type],
            "ideology": r.labels.get("ideology", ""),
            "file_type": r.metadata.get("file_type", ""),
            "deleted": False,
            "created_on": r.metadata.get("created_on"),
            "updated_on": r.metadata.get("updated_on"),
        })
    page = {"count": len(results), "next": None, "previous": None, "checkpoint": "", "results": results}
    return (json.dumps(page, ensure_ascii=False, indent=1) + "\n").encode()
