"""ThreatExchange reference material for the conformance tests: where it is, and what it expects.

Two sources:

* `data/reference/` beside this file: a few small files copied from facebook/ThreatExchange (BSD licence,
  see its LICENSE and SOURCE) that the core tests always run on.
* The full reference copy, `../shared/reference/threatexchange` from the repository root (or the folder
  named by VIGIL_REFERENCE_DIR), at ThreatExchange's own relative paths. Tests that need it skip when it
  is absent. Expected PDQ hashes are read from the reference's own text files at their upstream paths
  (`pdq/python/pdqhashing/tests/pdq_test.py`, `pdq/wasm/test/TestData/PDQMD5TestData.csv`, the READMEs
  of `pdq/cpp/bin`, `pdq/sql`, `pdq/python`, `pdq/java`, `pdq/php`, and pytx's `test_pdq_hasher.py` and
  `cli/tests/hash_cmd_test.py`) when the copy holds them; none is copied into this repository.
"""

from __future__ import annotations

import os
import re
import sys
import types
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "data" / "reference"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".tiff")

EXPECTATION_FILES = (
    "pdq/cpp/bin/README.md",
    "pdq/sql/README.md",
    "pdq/python/README.md",
    "pdq/python/pdqhashing/tests/pdq_test.py",
    "pdq/wasm/test/TestData/PDQMD5TestData.csv",
    "pdq/java/README.md",
    "pdq/php/README.md",
    "python-threatexchange/threatexchange/tests/hashing/test_pdq_hasher.py",
    "python-threatexchange/threatexchange/cli/tests/hash_cmd_test.py",
)
"""Where ThreatExchange writes down expected PDQ hashes of its reference images (upstream paths)."""


def reference_dir() -> Path | None:
    """The full reference copy, or None."""
    named = os.environ.get("VIGIL_REFERENCE_DIR")
    path = Path(named) if named else ROOT.parent / "shared" / "reference" / "threatexchange"
    return path if (path / "pdq" / "data").is_dir() else None


def need_reference() -> Path:
    path = reference_dir()
    if path is None:
        pytest.skip("the full ThreatExchange reference copy is absent (../shared/reference/threatexchange from the "
                    "repository root, or VIGIL_REFERENCE_DIR)")
    return path


@dataclass(frozen=True)
class Expected:
    image: Path
    pdq: str
    quality: int | None
    source: str
    """The reference file that states it, and what produced it there."""


def reference_images(root: Path) -> list[Path]:
    """Every image under pdq/data and pytx's test resources."""
    folders = [root / "pdq" / "data", root / "python-threatexchange" / "threatexchange" / "tests" / "hashing" / "resources"]
    return sorted(p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _locate(images: list[Path], named: str) -> Path | None:
    """The reference image a path in an expectation file means (longest matching tail of its path)."""
    parts = [p for p in Path(named.strip()).parts if p not in (".", "..")]
    best, best_len = None, 0
    for image in images:
        n = 0
        while n < len(parts) and n < len(image.parts) and image.parts[-1 - n] == parts[-1 - n]:
            n += 1
        if n > best_len or (n == best_len and n and best is not None and len(str(image)) < len(str(best))):
            best, best_len = image, n
    return best if best_len >= 1 else None


_HASH_QUALITY_PATH = re.compile(r"^\s*(?:\|\s*\d+\s*\|\s*)?([0-9a-f]{64})(?:,(\d{1,3}))?(?:,[a-z]+)?[,|\s]+([\w./-]+\.(?:jpe?g|png))", re.MULTILINE)
_PATH_HASH = re.compile(r"([\w./-]+\.(?:jpe?g|png)),([0-9a-f]{64})\s*$", re.MULTILINE)
_PY_PAIR = re.compile(r"\"([\w./-]+\.(?:jpe?g|png))\",\s*\"([0-9a-f]{64})\"")
_PYTX_FILE = re.compile(r"\"path\": \"([\w./-]+)\",\s*\"expected_pdq\": \"([0-9a-f]{64})\",\s*\"expected_quality\": (\d+)")
_PYTX_CLI_CLEAN = re.compile(r"\(\"photo\", str\(clean_file\)\),\s*\[\s*\"pdq ([0-9a-f]{64})\"")
_PYTX_CLI_ORIGINAL = re.compile(r"\"ORIGINAL pdq ([0-9a-f]{64})\"")


@lru_cache(maxsize=4)
def expected_hashes(root: Path) -> tuple[Expected, ...]:
    """Every (image, expected PDQ) the reference's own files state, for images the copy holds."""
    images = reference_images(root)
    out: list[Expected] = []

    def add(named: str, pdq: str, quality: int | None, source: str) -> None:
        image = _locate(images, named)
        if image is not None:
            out.append(Expected(image, pdq, quality, source))

    for rel in EXPECTATION_FILES:
        path = root / rel
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if rel.endswith("hash_cmd_test.py"):
            for m in _PYTX_CLI_CLEAN.finditer(text):
                add("tests/hashing/resources/sample-b.jpg", m.group(1), None, rel)
            for m in _PYTX_CLI_ORIGINAL.finditer(text):
                add("tests/hashing/resources/LA.png", m.group(1), None, rel)
        elif rel.endswith("test_pdq_hasher.py"):
            for m in _PYTX_FILE.finditer(text):
                add(m.group(1), m.group(2), int(m.group(3)), rel)
        elif rel.endswith(".py"):
            for m in _PY_PAIR.finditer(text):
                add(m.group(1), m.group(2), None, rel)
        elif rel.endswith(".csv"):
            for m in _PATH_HASH.finditer(text):
                add(m.group(1), m.group(2), None, rel)
        else:
            for m in _HASH_QUALITY_PATH.finditer(text):
                add(m.group(3), m.group(1), int(m.group(2)) if m.group(2) else None, rel)
    return tuple(out)


def need_expected(root: Path) -> tuple[Expected, ...]:
    found = expected_hashes(root)
    if not found:
        pytest.skip("the reference copy holds none of the files with expected PDQ hashes: " + ", ".join(EXPECTATION_FILES))
    return found


def pytx_vpdq():
    """pytx's vpdq helpers (`vpdq_util`, `vpdq_brute_matcher`), importable without the native `vpdq` package.

    They import `vpdq` for the hasher only; the codec and the matcher are pure Python, so a stand-in module
    is enough to run pytx's own matching and serialisation code.
    """
    if "vpdq" not in sys.modules:
        try:
            import vpdq  # noqa: F401
        except ImportError:
            stand_in = types.ModuleType("vpdq")
            stand_in.VpdqFeature = object
            sys.modules["vpdq"] = stand_in
    from threatexchange.extensions.vpdq import vpdq_brute_matcher, vpdq_util

    return vpdq_util, vpdq_brute_matcher


def sample_hashes(path: Path) -> dict[int, tuple[int, str, str]]:
    """vPDQ's `sample-hashes/*.txt`: frame number -> (quality, pdq, timestamp text)."""
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            frame, quality, pdq, timestamp = line.strip().split(",")
            out[int(frame)] = (int(quality), pdq, timestamp)
    return out
