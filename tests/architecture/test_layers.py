"""The stage graph is enforced: `lint-imports` (the contract in pyproject.toml) passes on the code as it is, and
fails when a lower stage imports a higher one, as cases importing review would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def lint(src: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def linter():
    if not LINT.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    return lint


def test_the_code_keeps_the_contract(linter):
    r = linter(ROOT / "src")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 kept, 0 broken" in r.stdout


@pytest.mark.parametrize("module,forbidden", [
    ("cases/intake.py", "from vigil.review import decisions"),  # the case stage must not decide
    ("api/check.py", "from vigil.console import web"),          # the two adapters are independent
    ("store/db.py", "import vigil.signals"),                     # storage sits below every stage
])
def test_an_import_against_the_layers_breaks_it(linter, tmp_path, module, forbidden):
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "vigil", src / "vigil", ignore=shutil.ignore_patterns("__pycache__"))
    path = src / "vigil" / module
    path.write_text(path.read_text() + f"\n\ndef _against_the_layers():\n    {forbidden}\n")
    r = linter(src)
    assert r.returncode != 0 and "BROKEN" in r.stdout.upper(), r.stdout + r.stderr
