"""`vigil demo`: what `make run` calls. Seeds a database with the demo bank and a few reports, scans the
demo folder, mints a one-time admin key and serves the API and console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.common import DbOption, fail, migrated
from vigil.clock import now
from vigil.runtime import Runtime

DEMO_BANK = "demo"
DEMO_DIR = Path("demo")

# Reports that exercise the queue: an authority order, a trusted flagger, users; violating and protected speech.
# The texts are written for the demo (fictional group, fictional places).
_DEMO_TEXTS = [
    ("user", "post-1001", "Brothers, join the mujahideen before the borders close. DM me for the route.", "en"),
    ("trusted_flagger", "post-1002", "兄弟们，出去杀死异教徒，不要手软。", "zh"),
    ("user", "post-1003", "Police said the attacker was convicted of planning the bombing last year.", "en"),
    ("user", "post-1004", "Selling 10 sheep from our farm, healthy and vaccinated, pick up on Saturday.", "en"),
    ("user", "post-1005", "The shaykh wants 10 sheep before winter, young strong ones for the border crossing.", "en"),
]


def _seed(rt: Runtime, demo_dir: Path) -> list[str]:
    """Create the demo bank and reports once; later runs leave an existing database as it is."""
    from vigil.banks import service as banks
    from vigil.cases.notice import NoticeIn
    from vigil.review.notices import receive
    from vigil.signals import MediaError, hash_path

    said: list[str] = []
    with rt.db.session() as s:
        if any(b.name == DEMO_BANK for b in banks.list_banks(s)):
            return said
        banks.create_bank(s, DEMO_BANK, description="Demo bank: generated posters of a fictional group (not real content).")
        report = banks.import_entries(s, DEMO_BANK, "te_csv", (demo_dir / "bank.csv").read_bytes())
        said.append(f"demo bank: {report.added} entries imported, {len(report.rejected)} rejected")

    notices = [
        NoticeIn.model_validate({"source": source, "content": {"id": cid, "text": text}, "language": lang,
                                 "explanation": "Reported from the demo seed.", "good_faith": True})
        for source, cid, text, lang in _DEMO_TEXTS
    ]
    order_media = sorted((demo_dir / "scan" / "reuploads").glob("*.jpg"))[:1]
    for path in order_media:
        try:
            hashes = {sig.type: sig.value for sig in hash_path(path) if sig.type in ("pdq", "md5", "sha256")}
        except MediaError:
            continue
        notices.append(NoticeIn.model_validate({
            "source": "authority_order", "authority": "Demo Internet Referral Unit", "order_reference": "DEMO-TCO-0001",
            "content": {"id": f"upload-{path.stem}", "type": "image", "hashes": hashes},
            "explanation": "Removal order under Regulation (EU) 2021/784: branded propaganda of a listed group.",
        }))
    with rt.db.session() as s:
        receipts = receive(s, notices, policy=rt.policy, near_index=rt.near_index, matcher=rt.matcher,
                           detector=rt.detector)
    said.append(f"demo reports: {sum(1 for r in receipts if not isinstance(r, Exception))} notices filed")
    return said


def demo(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    demo_dir: Annotated[Path, typer.Option(help="Folder with the demo bank and media.")] = DEMO_DIR,
    scan: Annotated[bool, typer.Option(help="Scan the demo folder against the demo bank before serving.")] = True,
) -> None:
    """Set up a demo database (bank, reports), scan the demo media, mint a one-time admin key, and serve."""
    from vigil import keys
    from vigil.cli.media import scan_command
    from vigil.cli.service import serve

    if not (demo_dir / "bank.csv").is_file():
        raise fail(f"no demo data in {demo_dir}/", "run from the repository root, or pass --demo-dir")
    rt = migrated(db)
    for line in _seed(rt, demo_dir):
        typer.echo(line)
    if scan:
        scan_command(paths=[demo_dir / "scan"], bank=[DEMO_BANK], as_json=False, workers=None, db=rt.db.url)
    stamp = now().strftime("%Y%m%d-%H%M%S")
    with rt.db.session() as s:
        new = keys.create_key(s, f"demo-admin-{stamp}", "admin")
    shown = f"[{host}]" if ":" in host else host
    typer.echo("")
    typer.echo(f"Console:   http://{shown}:{port}/console  (sign in with the admin key below)")
    typer.echo(f"API docs:  http://{shown}:{port}/docs")
    typer.echo(f"Admin key (shown once, stored only as a hash): {new.key}")
    serve(db=rt.db.url, host=host, port=port, workers=1, rate_limit=None, max_media_bytes=None, embeddings=True)


def register(app: typer.Typer) -> None:
    """Add `vigil demo`."""
    app.command("demo")(demo)
