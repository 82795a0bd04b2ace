"""The README's examples are run as written, so they stay true."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.S)
    return [line[2:].strip() for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_readme_has_examples():
    assert len(readme_commands()) >= 8


def test_readme_examples_run(fresh_db_url, tmp_path):
    env = {**os.environ, "VIGIL_HOME": str(tmp_path), "VIGIL_DATABASE_URL": fresh_db_url, "HF_HUB_OFFLINE": "1"}
    for command in readme_commands():
        argv = shlex.split(command)
        assert argv[0] == "vigil"
        if any(a.startswith("../shared") and not (ROOT / a).exists() for a in argv):
            pytest.skip("../shared is not beside this checkout")
        done = subprocess.run([sys.executable, "-m", "vigil.cli", *argv[1:]], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"`{command}` exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
