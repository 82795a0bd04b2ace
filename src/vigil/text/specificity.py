"""How much a context cue says about a code word: rare words say more than everyday ones.

Why: partners list cues such as "uncle", "tools" or "the patient" beside a code word. People say
those every day in their ordinary sense, so two of them are weaker evidence than two such as
"pressure cooker" or "hawala". A cue's weight comes from how often it appears in ordinary text
(the Zipf scale of `wordfreq`, Speer et al.) and from the lexicon itself: a cue listed for most
code words ("brothers") singles none of them out.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from functools import lru_cache
from typing import Iterable, Sequence

from vigil.text.normalize import HAN

log = logging.getLogger(__name__)

# Zipf frequency = log10 of occurrences per billion words. Cues at or below RARE_ZIPF (10 per
# million words: "smuggler", "pressure cooker") count fully; at or above COMMON_ZIPF (about 300 per
# million: "training", "工具") they count half, and linearly in between.
RARE_ZIPF = 4.0
COMMON_ZIPF = 5.5
MIN_WEIGHT = 0.5
# A cue listed for at least this share of a lexicon's code words is generic (in-group address).
GENERIC_SHARE = 0.5
GENERIC_MIN_ENTRIES = 2

_HAN_RE = re.compile(f"[{HAN}]")


@lru_cache(maxsize=1)
def _zipf():
    try:
        from wordfreq import zipf_frequency
    except ImportError:
        log.warning("wordfreq is not installed: context cues are weighted by the lexicon alone, not by everyday frequency")
        return None
    import jieba  # wordfreq segments Chinese with its own jieba, which announces itself on stderr

    jieba.setLogLevel(logging.WARNING)
    return zipf_frequency


@lru_cache(maxsize=65536)
def frequency_weight(cue: str) -> float:
    """1.0 for a rare cue, down to MIN_WEIGHT for an everyday one (1.0 when wordfreq is missing)."""
    zipf = _zipf()
    if zipf is None:
        return 1.0
    z = zipf(cue, "zh" if _HAN_RE.search(cue) else "en")
    if z <= 0:  # unknown to the word lists: as rare as it gets
        return 1.0
    share = min(1.0, max(0.0, (z - RARE_ZIPF) / (COMMON_ZIPF - RARE_ZIPF)))
    return 1.0 - (1.0 - MIN_WEIGHT) * share


def generic_cues(contexts: Sequence[Iterable[str]]) -> frozenset[str]:
    """Cue keys listed by so many code words' contexts that they single none out."""
    counts = Counter(k for keys in contexts for k in set(keys))
    n = len(contexts)
    floor = max(GENERIC_MIN_ENTRIES, GENERIC_SHARE * n)
    return frozenset(k for k, c in counts.items() if c >= floor)
