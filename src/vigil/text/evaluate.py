"""Evaluation of text detection on labelled cases: precision, recall, false positives per kind.

Why per kind: an aggregate score hides the failures that matter here (HateCheck's lesson). A
detector can have fine precision overall while flagging every news report or every sermon, so
the flag rate is reported for each kind of case and each language.

Reads the vigil cases format (JSON lines, see shared/eval/README.md) and the HateCheck and
Multilingual HateCheck CSVs. In HateCheck only the threat functionalities count as violating and
only `*_nh` as benign; other hateful functionalities (hate speech outside Vigil's scope) are
reported per functionality but left out of the overall figures.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from vigil.text.detect import Detector, TextVerdict

LABELS = ("violating", "benign")
HATECHECK_VIOLATING = ("threat_dir_h", "threat_norm_h")
WORST = 10
BATCH = 256


class CasesError(ValueError):
    """A cases file that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    text: str
    lang: str
    label: str | None  # None: reported per kind, left out of the overall figures
    kind: str
    category: str | None = None
    lexicon_ids: tuple[str, ...] = ()


def load_cases(path: str | Path) -> list[Case]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise CasesError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CasesError(f"{p}: not UTF-8 text (byte {exc.start})") from exc
    if p.suffix.lower() == ".csv":
        return _hatecheck(text, p)
    return _jsonl(text, p)


def _jsonl(text: str, p: Path) -> list[Case]:
    cases: list[Case] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CasesError(f"{p}: line {n}: invalid JSON: {exc.msg}") from exc
        if not isinstance(d, dict):
            raise CasesError(f"{p}: line {n}: expected a JSON object")
        for name in ("text", "label", "kind"):
            if not isinstance(d.get(name), str):
                raise CasesError(f"{p}: line {n}: field '{name}' must be a string")
        if d["label"] not in LABELS:
            raise CasesError(f"{p}: line {n}: field 'label' must be 'violating' or 'benign', got {d['label']!r}")
        cases.append(Case(
            id=str(d.get("id", n)), text=d["text"], lang=str(d.get("lang") or "und"), label=d["label"],
            kind=d["kind"], category=d.get("category"), lexicon_ids=tuple(d.get("lexicon_ids") or ()),
        ))
    return cases


def _hatecheck(text: str, p: Path) -> list[Case]:
    reader = csv.DictReader(io.StringIO(text))
    fields = set(reader.fieldnames or ())
    if not {"functionality", "test_case"} <= fields:
        raise CasesError(f"{p}: not a HateCheck CSV: needs columns 'functionality' and 'test_case'")
    lang = "zh" if "mhc_case_id" in fields else "en"
    cases: list[Case] = []
    for n, row in enumerate(reader, 2):
        fn = row["functionality"] or ""
        label = "violating" if fn in HATECHECK_VIOLATING else "benign" if fn.endswith("_nh") else None
        cid = row.get("mhc_case_id") or row.get("case_id") or str(n)
        cases.append(Case(id=cid, text=(row["test_case"] or "").strip(), lang=lang, label=label, kind=fn))
    return cases


@dataclass(slots=True)
class Report:
    overall: dict
    by_kind: dict
    by_lang: dict
    worst_misses: list[dict] = field(default_factory=list)
    worst_false_positives: list[dict] = field(default_factory=list)
    semantic: str = "not_needed"

    def to_dict(self) -> dict:
        return {
            "overall": self.overall, "by_kind": self.by_kind, "by_lang": self.by_lang,
            "worst_misses": self.worst_misses, "worst_false_positives": self.worst_false_positives,
            "semantic": self.semantic,
        }


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def evaluate(
    detector: Detector, cases: Sequence[Case], progress: Callable[[int], None] | None = None,
) -> Report:
    verdicts: list[TextVerdict] = []
    for i in range(0, len(cases), BATCH):
        chunk = cases[i:i + BATCH]
        verdicts.extend(detector.check_many([c.text for c in chunk]))
        if progress:
            progress(len(chunk))
    tp = fp = tn = fn = 0
    by_kind: dict[str, dict] = {}
    by_lang: dict[str, dict] = {}
    misses, false_pos = [], []
    for c, v in zip(cases, verdicts):
        for table, key in ((by_kind, c.kind), (by_lang, c.lang)):
            row = table.setdefault(key, {"n": 0, "flagged": 0, "rate": 0.0})
            row["n"] += 1
            row["flagged"] += v.flagged
        if c.label == "violating":
            tp += v.flagged
            fn += not v.flagged
            if not v.flagged:
                misses.append(_example(c, v))
        elif c.label == "benign":
            fp += v.flagged
            tn += not v.flagged
            if v.flagged:
                false_pos.append(_example(c, v))
    for table in (by_kind, by_lang):
        for row in table.values():
            row["rate"] = _ratio(row["flagged"], row["n"])
    overall = {
        "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn), "fpr": _ratio(fp, fp + tn),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
    }
    misses.sort(key=lambda d: d["score"])
    false_pos.sort(key=lambda d: -d["score"])
    semantic = "used" if any(v.semantic == "used" for v in verdicts) else (
        "unavailable" if any(v.semantic == "unavailable" for v in verdicts) else "not_needed")
    return Report(overall, dict(sorted(by_kind.items())), dict(sorted(by_lang.items())), misses[:WORST], false_pos[:WORST], semantic)


def _example(c: Case, v: TextVerdict) -> dict:
    return {"id": c.id, "kind": c.kind, "lang": c.lang, "text": c.text, "verdict": v.verdict,
            "score": v.score, "reason": v.reason}
