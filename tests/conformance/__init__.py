"""Conformance with the references' own test vectors (data/, each folder with its SOURCE.md and licence)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TOOL_PATH = Path(__file__).resolve().parents[2] / "tools" / "verify_ledger.py"


def load_auditor():
    """tools/verify_ledger.py, the standalone outside auditor, imported from its file (it is not a package)."""
    spec = importlib.util.spec_from_file_location("vigil_conformance_verify_ledger", TOOL_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
