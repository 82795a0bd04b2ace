"""Context around a match: protected speech that lowers a score, and extremist markers that raise it.

Why: the same words are used by recruiters and by the journalist, the imam, the researcher, the
novelist and the activist who quotes a recruiter to warn others. What separates them is around
the words: who is said to have said them, whether they are quoted, and what the text does with
them (reports, condemns, studies, prays, tells a story). Each cue list is general vocabulary of
that kind of speech, in English and Chinese, not phrases taken from any test set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vigil.text.lexicon import cue_key
from vigil.text.normalize import normalize
from vigil.text.phrases import PhraseMatcher, TextView

# Kinds of protected speech and how much each multiplies a score by (several multiply together).
PROTECTED_FACTORS: dict[str, float] = {
    "quotation": 0.3,
    "attribution": 0.4,
    "reporting": 0.45,
    "counter-speech": 0.4,
    "scholarship": 0.4,
    "fiction": 0.45,
    "sport": 0.45,
    "worship": 0.8,
}
# Code words are often put in scare quotes by the people using them ("the 'wedding' is close"), so
# around a code word quotation marks alone say much less than around an explicit phrase.
CODE_WORD_QUOTATION = 0.7
# Sport talk borrows the language of violence ("kill them on the pitch") but is also a favourite
# source of code words, so it protects only against the threat grammar, never a lexicon match.
THREAT_ONLY = ("sport",)

PROTECTED_CUES: dict[str, tuple[str, ...]] = {
    "reporting": (
        "police", "officials", "official said", "authorities", "prosecutor", "prosecutors", "court", "convicted",
        "charged", "charges", "arrested", "arrest", "investigators", "investigation", "suspect", "defendant",
        "accused", "trial", "sentenced", "according to", "reported", "local media", "news agency", "press conference",
        "spokesman", "spokesperson", "ministry", "justice department", "claimed responsibility", "security forces",
        "was questioned", "released", "his lawyer", "taken down", "removed", "transparency report", "un report",
        "警方", "官方", "据报道", "據報導", "报道", "檢方", "检方", "法院", "被告", "判处", "调查人员", "调查",
        "媒体", "新闻", "发布会", "官员", "宣称对", "负责", "涉案", "下架", "获释", "被捕", "起诉", "定罪", "指出",
    ),
    "counter-speech": (
        "terrorism", "terrorist", "terrorists", "extremist", "extremists", "extremism", "radicalisation",
        "radicalization", "recruiter", "recruiters", "propaganda", "condemn", "condemns", "cowards", "coward",
        "betraying", "betrays", "betrayal", "report it", "report them", "please report", "walk away",
        "nothing heroic", "no cause justifies", "lost their humanity", "it's murder", "call to murder",
        "not religion", "don't amplify", "remove them", "bait", "prey on", "manipulate", "manipulates",
        "brainwash", "brainwashed", "lies", "victims", "survivors", "families they destroyed", "counsellor",
        "counselor", "reach out", "helpline", "get help", "check in on", "saved his life", "saved her life",
        "thrown away", "dead or in prison", "hateful", "bigot", "bigoted", "moderators", "stop calling", "so-called",
        "恐怖主义", "恐怖分子", "极端", "极端分子", "极端组织", "招募者", "举报", "谴责", "懦夫", "背叛", "煽动",
        "哄骗", "骗去", "戳穿", "苦难", "受害者", "没有任何英雄", "拒绝", "不要互动", "求助", "社工", "平民",
        "杀害", "坐牢", "洗脑", "诱骗", "不是宗教", "仇恨言论", "可悲", "狭隘",
    ),
    "scholarship": (
        "researchers", "research", "study", "studies", "paper", "analyses", "analysis", "literature", "thesis",
        "historian", "historians", "seminar", "jurists", "scholars", "scholarship", "interviews", "returnees",
        "pamphlet", "academic", "journal", "professor", "documented", "evolution of", "framed", "fatf",
        "研究", "论文", "本文", "分析", "访谈", "学家", "学者", "文献", "小册子", "文本", "研讨", "史学",
    ),
    "fiction": (
        "film", "movie", "novel", "chapter", "season", "episode", "series", "drama", "game", "video game",
        "boss", "raid", "d&d", "villain", "character", "counter-strike", "respawn", "level", "story", "fiction",
        "plot", "电影", "小说", "章", "剧", "谍战剧", "游戏", "团本", "副本", "反派", "角色", "武侠", "编剧", "情节",
    ),
    "sport": (
        "the pitch", "second half", "first half", "the match", "tournament", "fans", "league", "derby", "scored",
        "下半场", "上半场", "比赛", "球场", "联赛", "进球",
    ),
    "worship": (
        "mosque", "prayer", "khutbah", "sermon", "homily", "church", "psalm", "the lord", "rabbi", "shabbat",
        "quran", "bible", "surah", "zakat", "hajj", "eid", "ramadan", "mubarak", "sutra", "monks", "inner jihad",
        "greater jihad", "spiritual",
        "清真寺", "斋月", "伊玛目", "教会", "礼拜", "祈祷", "祈福", "古兰经", "圣经", "拉比", "法师", "朝觐", "主麻",
        "讲道", "开斋", "大吉哈德", "心经",
    ),
}

# Someone else's words being reported: a match after one of these, in the same sentence, is a mention.
ATTRIBUTION_CUES: tuple[str, ...] = (
    "telling you to", "tells you to", "told you to", "urged", "urging", "urges", "calling it", "called it",
    "calls for", "calling for", "call for", "saying", "promising", "slogan", "slogans", "described", "describes",
    "posts telling", "asking for", "tempted to", "anyone telling",
    "所谓", "所謂", "被称为", "称之为", "称为", "口号", "扬言", "声称", "宣称", "叫你", "叫年轻人", "定性为", "要你",
)

# General extremist vocabulary: in-group address, enemies, martyrdom, leadership. Near a code word
# these are strong evidence that it is being used as code.
VE_MARKERS: tuple[str, ...] = (
    "kuffar", "kafir", "kafirs", "kuffr", "infidel", "infidels", "crusader", "crusaders", "apostate", "apostates",
    "taghut", "murtad", "martyr", "martyrs", "martyrdom", "shaheed", "shahid", "paradise", "jannah", "houris",
    "mujahid", "mujahideen", "caliphate", "khilafah", "emir", "amir", "shaykh", "dawlah", "the enemy", "enemies",
    "hawala", "safe house", "the cause", "ummah",
    "烈士", "天堂", "异教徒", "卡菲尔", "十字军", "叛教者", "圣战", "哈里发", "埃米尔", "敌人", "殉道", "长老", "安全屋",
    "真主的敌人", "圣战者",
)

# Covert-operation habits and in-group address. Either alone is ordinary (a teacher bans phones in
# an exam; a bride has brothers); together, around a code word, they mark it as code.
TRADECRAFT: tuple[str, ...] = (
    "no phones", "no phone", "leave your phone", "leave your phones", "without phones", "wait for the signal",
    "small groups", "burner", "delete this", "delete after reading", "tell no one", "don't tell anyone",
    "usual wallet", "usual transfer", "the usual way", "safe house", "hawala",
    "不准带手机", "别带手机", "不要带手机", "等信号", "分批", "安全屋", "删掉", "阅后即焚", "别告诉任何人", "老钱包", "老样子转账",
)
IN_GROUP: tuple[str, ...] = ("brothers", "brother", "akhi", "akhawat", "ikhwan", "ummah", "兄弟", "弟兄")

# Brothers in the family sense ("my brothers and I", "the bride's brothers", 兄弟俩) are kin, not the
# in-group address of a recruiter: a cue found inside one of these does not count. "Our brothers"
# is left alone, since it is how a movement speaks of its members.
_KINSHIP = re.compile(
    r"\b(?:my|his|her|your|their|[a-z]+'s)\s+(?:(?:older|younger|big|little|two|three|twin|own)\s+)?brothers?\b"
    r"|\bbrothers? and (?:i|me|sisters?)\b|\b(?:i|me|sisters?) and (?:my )?brothers?\b"
    r"|兄弟(?:俩|倆|几个|两个|三个|姐妹)|(?:亲|表|堂)兄弟"
)


def kinship_spans(text: str) -> list[tuple[int, int]]:
    """Spans of normalised text where "brother(s)" / 兄弟 means family members."""
    return [m.span() for m in _KINSHIP.finditer(text)] if ("brother" in text or "兄弟" in text) else []


_QUOTE_PAIRS = {"“": "”", "「": "」", "『": "』", "‘": "’", '"': '"', "《": "》", "«": "»"}
_CLOSERS = set(_QUOTE_PAIRS.values()) | {"“"}  # some writers close with an opening mark
_SENTENCE_END = re.compile(r"[.!?;。！？；\n]+")


@dataclass(frozen=True, slots=True)
class ContextScan:
    """Cues found in one message: protected kinds with their normalised spans, and markers."""

    protected: dict[str, list[tuple[str, int, int]]]
    attribution: list[tuple[str, int, int]]
    markers: list[tuple[str, int, int]]
    tradecraft: list[tuple[str, int, int]]
    in_group: list[tuple[str, int, int]]


class ContextMatcher:
    """Compiled cue lists; scan() runs them over a message's shared TextView."""

    def __init__(self) -> None:
        phrases: list[tuple[str, tuple[str, str]]] = []
        for kind, cues in PROTECTED_CUES.items():
            phrases.extend((normalize(c).text, (kind, c)) for c in cues)
        phrases.extend((normalize(c).text, ("attribution", c)) for c in ATTRIBUTION_CUES)
        phrases.extend((normalize(c).text, ("marker", c)) for c in VE_MARKERS)
        phrases.extend((normalize(c).text, ("tradecraft", c)) for c in TRADECRAFT)
        phrases.extend((normalize(c).text, ("in_group", c)) for c in IN_GROUP)
        self._matcher = PhraseMatcher(phrases)

    def scan(self, view: TextView) -> ContextScan:
        protected: dict[str, list[tuple[str, int, int]]] = {}
        found: dict[str, list[tuple[str, int, int]]] = {"attribution": [], "marker": [], "tradecraft": [], "in_group": []}
        for h in self._matcher.find(view):
            kind, cue = h.label
            (found[kind] if kind in found else protected.setdefault(kind, [])).append((cue, h.start, h.end))
        return ContextScan(protected, found["attribution"], found["marker"], found["tradecraft"], found["in_group"])


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Spans of text inside quotation marks (straight, curly, CJK corner brackets, single quotes)."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        closer = _QUOTE_PAIRS.get(c)
        if c == "'" and (i == 0 or not text[i - 1].isalnum()):
            closer = "'"
        if closer is None:
            i += 1
            continue
        j = i + 1
        while j < n:
            d = text[j]
            if d == closer or (closer != "'" and d in _CLOSERS and d != "'"):
                if closer != "'" or j + 1 >= n or not text[j + 1].isalnum():
                    break
            j += 1
        if j < n:
            spans.append((i + 1, j))
            i = j + 1
        else:
            i += 1
    return spans


def sentence_of(text: str, index: int) -> tuple[int, int]:
    """The [start, end) of the sentence of text that contains index."""
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() <= index:
            start = m.end()
        elif m.start() >= index:
            return start, m.start()
    return start, len(text)


def inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(s <= span[0] and span[1] <= e for s, e in spans)


def protected_for(
    scan: ContextScan, text: str, hit_start: int, hit_end: int, quotes: list[tuple[int, int]],
    own_cues: frozenset[str] = frozenset(), *, threat: bool = False,
) -> list[tuple[str, str]]:
    """The protected-speech kinds that apply to a match at [hit_start, hit_end) of normalised text.

    own_cues are the entry's own context cues: a cue the lexicon lists as suspicious never also
    counts as protective (a football code word is not protected by football words).
    """
    found: list[tuple[str, str]] = []
    if inside((hit_start, hit_end), quotes):
        found.append(("quotation", text[hit_start:hit_end]))
    s_start, _ = sentence_of(text, hit_start)
    for cue, s, _e in scan.attribution:
        if s_start <= s < hit_start:
            found.append(("attribution", cue))
            break
    for kind, items in scan.protected.items():
        if kind in THREAT_ONLY and not threat:
            continue
        for cue, s, e in items:
            # A lexicon match never protects itself; a threat's span is its whole clause, whose words may.
            if cue_key(cue) in own_cues or (not threat and hit_start <= s and e <= hit_end):
                continue
            found.append((kind, cue))
            break
    return found


def factor(kinds: list[tuple[str, str]], *, code_word: bool = False) -> float:
    f = 1.0
    for kind in dict.fromkeys(k for k, _ in kinds):
        f *= CODE_WORD_QUOTATION if code_word and kind == "quotation" else PROTECTED_FACTORS[kind]
    return f
