"""A small grammar of threats and incitement to violence against a group, in English and Chinese.

Why a grammar and not a list: "kill all …", "… should all be shot", "我想杀死所有…" come in
endless wordings. A sentence is a threat against a group when it has all three parts:
  - violence: a violent act or outcome (kill, shoot, exterminate, "better off without", 杀死, 灭绝);
  - a group target: people named by a protected characteristic or a religious out-group label
    (women, Muslims, immigrants, infidels, 异教徒), or "anyone who …";
  - a frame that makes it a threat, wish or call rather than a report: first-person intent
    ("I will", "we are going to", 我要), a call ("let's", a sentence-initial imperative, "death to"),
    or a norm or wish ("should", "deserve to", "if only", 应该, 就好了).
It is not a threat when negated ("no … deserves to die", 我永远不会伤害), attributed to someone
else in order to condemn it ("saying …", "threatening to …", 扬言), or quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EN_IDENTITY = (
    r"women|woman|girls|females?|trans(?:gender)?(?: (?:people|persons?|women|men|folks?|kids))?|gays?"
    r"|gay (?:people|persons?|men|women|folks?)|lesbians?|homosexuals?|queers?|bisexuals?"
    r"|blacks?|black (?:people|persons?|men|women|folks?)|whites?|white (?:people|persons?|men|women|folks?)"
    r"|jews?|jewish(?: people)?|muslims?|moslems?|christians?|hindus?|sikhs?|buddhists?|catholics?|atheists?"
    r"|immigrants?|migrants?|refugees?|foreigners?|asylum seekers?|disabled(?: people| persons?)?|cripples?"
    r"|arabs?|asians?|africans?|mexicans?|latinos?|hispanics?|roma|gypsies|uyghurs?|tibetans?|kurds?"
    r"|infidels?|kuffar|kafirs?|kaffirs?|unbelievers?|non-?believers?|apostates?|crusaders?|polytheists?"
    r"|shia|shias|shiites?|sunnis?|yazidis?|ahmadis?|idolaters?"
    r"|anyone who|whoever|those who|all who|everyone who"
)
_EN_VIOLENT_VERBS = (
    "kill", "murder", "slaughter", "butcher", "massacre", "exterminate", "eradicate", "annihilate", "execute",
    "behead", "hang", "lynch", "shoot", "stab", "rape", "torture", "burn", "drown", "strangle", "gas", "bomb",
    "hurt", "attack", "slit", "suffer", "die", "destroy", "crucify", "stone", "decapitate", "mutilate", "maim",
)


def _inflected(verb: str) -> str:
    """A verb and its -s, -ed and -ing forms (stab: stabs, stabbed, stabbing; die: dies, died, dying)."""
    stem = verb[:-1] if verb.endswith("e") else verb
    forms = {verb, verb + "s", verb + "es", stem + "ed", stem + "ing", verb + "d"}
    if verb.endswith("ie"):
        forms.add(verb[:-2] + "ying")
    if len(verb) <= 4 and verb[-1] not in "aeiouwy" and verb[-2] in "aeiou":
        forms.update({verb + verb[-1] + "ed", verb + verb[-1] + "ing"})
    return "|".join(sorted(forms, key=len, reverse=True))


_EN_VIOLENCE = (
    "|".join(_inflected(v) for v in _EN_VIOLENT_VERBS)
    + r"|shot|burnt|hung|dead|death|execution|extermination|genocide|blow up|gun down|wipe out|get rid of"
    r"|put an end to|cut (?:\w+ ){0,2}throats?|throats? cut|snap (?:\w+ ){0,3}necks?"
    r"|end (?:[\w']+ ){0,3}li(?:fe|ves)|hunt (?:\w+ )?down|deserves? (?:a |the )?(?:knife|bullet|blade|rope|noose|sword)"
    r"|better off without"
)
_EN_MODAL = (
    r"will|shall|am going to|are going to|going to|gonna|want to|wanna|intend to|plan to|have to|need to|must"
    r"|would love to|can't wait to|will keep|are coming to|about to"
)
_EN_FRAME = (
    rf"\b(?:i|we)(?:'ll|'m going to|'m gonna|'re going to|'d love to|(?: [\w']+){{0,3}}? (?:{_EN_MODAL}))\b"
    r"|\blet'?s\b|\blet us\b|^\s*(?:(?:brothers|brother|sisters|friends|everyone|people|believers|o believers|men|youth|so|now|then|just|please"
    r"|come on|go|go out|rise|rise up|get up|and|all of you)[,!]?\s+)*"
    r"(?:kill|murder|slaughter|shoot|stab|burn|behead|hang|exterminate|eradicate|destroy|attack|gas|bomb)\b"
    r"|\bdeath to\b|\bshould\b|\bmust\b|\bought to\b|\bdeserves?\b|\bneeds? to\b|\bhas to\b"
    r"|\bif only\b|\bi wish\b|\bi hope\b|\bwould love to see\b|\bone can only hope\b|\bin a just world\b"
    r"|\bbetter off\b|\bwould be (?:best|better)\b|\bin everybody's interest\b|\bonly solution\b"
    r"|\bwould all be dead\b|\bat my hands\b|\bwill die\b|\bsomeone should\b|\bsomebody should\b"
)
_EN_NEGATION = re.compile(r"\b(?:not|never|no|nobody|none|nothing|n't|don't|won't|shouldn't|mustn't|cannot)\b|n't\b")
_EN_LEGALISE = re.compile(r"\bshould(?:n't| not) be (?:illegal|a crime|punished|punishable)\b|\bbe (?:decriminali[sz]ed|legal|legali[sz]ed)\b")
_EN_COUNTER = re.compile(
    r"\b(?:saying|say|says|said|threatening|threaten|threats?|call(?:s|ing)? for|wishing|writing|write|wrote"
    r"|jail|prison|court|report|banned|bigot\w*|hateful|consequences|statements?|posts?|comments?|messages?"
    r"|stuff like|things like|you can't seriously|how can you|disheartening|misguided)\b"
)

_ZH_IDENTITY = (
    r"女人|女性|妇女|跨性别者|跨性别|同性恋|同志|黑人|黑鬼|残疾人|残障人士|穆斯林|回民|回族|外国人|移民|难民|犹太人"
    r"|基督徒|天主教徒|佛教徒|印度教徒|异教徒|十字军|叛教者|卡菲尔|维吾尔人|维族|藏人|少数民族|白人|亚洲人|非洲人"
    r"|阿拉伯人|不信道者|多神教徒"
)
_ZH_VIOLENCE = (
    r"杀|屠杀|谋杀|枪杀|捅死|砍死|砍掉|砍头|掐死|淹死|烧死|烧了|绞死|吊死|处决|处死|死刑|灭绝|绝种|绝迹|消灭"
    r"|清除|铲除|折磨|受苦|伤害|攻击|强奸|割喉|扭断|拧断|剁碎|碾碎|该死|去死|得死|惨死|结束.{0,10}生命|炸死|炸掉"
    r"|血洗|斩首|终结|赶尽杀绝|打死|弄死|干掉|除掉|灭掉|毁灭|世界会更好"
)
_ZH_FRAME = (
    r"我们?(?:真的|就|很|明天|今天|一定|都|直接)?(?:想|要|会|得|应该|必须|真想|打算|准备|有点想|让)|咱们|让我们"
    r"|应该|应当|必须|就该|都该|活该|都得|得死|希望|但愿|就好了|最好|对我们都好|只能给|有人(?:得|能|应该|会)"
    r"|去死|在我手上|将惨死|如果没有"
)
_ZH_NEGATION = re.compile(r"不|没|别|勿|决不|绝不|无")
_ZH_LEGALISE = re.compile(r"不应该非法|应该合法|不该违法|应该无罪")
# Idioms with a negating character that intensify rather than negate ("without mercy").
_ZH_NOT_NEGATION = re.compile(r"毫不留情|毫不犹豫|一个不留|不留活口|不择手段|不惜|不顾一切|义无反顾")
_ZH_COUNTER = re.compile(r"说|扬言|认为|看到人们|看到有人|看到这么多人|见过|举报|入狱|监狱|牢狱|法庭|封号|封停|言论|之类|这样的话|仇恨|为什么|怎么能")

_EN = tuple(re.compile(p) for p in (rf"\b(?:{_EN_IDENTITY})\b", rf"\b(?:{_EN_VIOLENCE})\b", _EN_FRAME))
_ZH = tuple(re.compile(p) for p in (_ZH_IDENTITY, _ZH_VIOLENCE, _ZH_FRAME))
_CLAUSE_EN = re.compile(r"[.!?;\n]+")
_CLAUSE_ZH = re.compile(r"[。！？；\n!?;]+")  # Chinese sentences run on with commas; negation is judged per comma clause


@dataclass(frozen=True, slots=True)
class Threat:
    """A threat found in normalised text: its span (the whole clause) and its three parts."""

    start: int
    end: int
    target: str
    violence: str
    frame: str


MAX_THREATS = 10  # enough evidence for any verdict; more would only cost time on hostile input


def find_threats(text: str, quotes: list[tuple[int, int]] = ()) -> list[Threat]:
    """Threats against a group in normalised text (at most MAX_THREATS). quotes are spans to ignore."""
    out: list[Threat] = []
    for lang, clause_re, (ident, violence, frame) in (
        ("en", _CLAUSE_EN, _EN), ("zh", _CLAUSE_ZH, _ZH),
    ):
        if lang == "zh" and not re.search(r"[\u4e00-\u9fff]", text):
            continue
        if lang == "en" and not re.search(r"[a-z]", text):
            continue
        start = 0
        for m in [*clause_re.finditer(text), None]:
            end = m.start() if m else len(text)
            t = _clause(text, start, end, lang, ident, violence, frame, quotes)
            if t:
                out.append(t)
                if len(out) >= MAX_THREATS:
                    return out
            start = m.end() if m else len(text)
    return out


def _clause(text, start, end, lang, ident, violence, frame, quotes) -> Threat | None:
    sentence = text[start:end]
    if not sentence.strip():
        return None
    t = ident.search(sentence)
    v = violence.search(sentence)
    f = frame.search(sentence)
    if not (t and v and f):
        return None
    if any(qs <= start + v.start() and start + v.end() <= qe for qs, qe in quotes):
        return None
    legalise = (_EN_LEGALISE if lang == "en" else _ZH_LEGALISE)
    rest = legalise.sub(" ", sentence)
    if lang == "en":
        if _EN_COUNTER.search(sentence):
            return None
        if rest == sentence and _EN_NEGATION.search(ident.sub(" ", sentence)):
            return None
    else:
        if _ZH_COUNTER.search(sentence):
            return None
        if rest == sentence:
            clause_start = max(sentence.rfind(c, 0, v.start()) for c in "，,") + 1
            clause = _ZH_NOT_NEGATION.sub("", ident.sub("", sentence[clause_start:v.end()]))
            if _ZH_NEGATION.search(clause):
                return None
    return Threat(start, end, t.group(0), v.group(0), f.group(0))
