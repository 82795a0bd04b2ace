"""Conformance with the references' own test vectors, read at test time from snapshots outside the project.

Each test module names the repository, commit, paths and licence it reads (see tests/references.py for where
the snapshots are looked for, and how a test skips without them).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TOOL_PATH = Path(__file__).resolve().parents[2] / "tools" / "verify_ledger.py"


def load_auditor():
    """tools/verify_ledger.py, the standalone outside auditor, imported from its file (it is not a package)."""
    spec = importlib.util.spec_from_file_location("vigil_conformance_verify_ledger", TOOL_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_references():
    """tests/references.py, one module object whatever pytest's import mode (tests/ is not a package)."""
    if "references" in sys.modules and getattr(sys.modules["references"], "__file__", None) == str(_REFERENCES):
        return sys.modules["references"]
    spec = importlib.util.spec_from_file_location("references", _REFERENCES)
    module = importlib.util.module_from_spec(spec)
    sys.modules["references"] = module
    spec.loader.exec_module(module)
    return module


_REFERENCES = Path(__file__).resolve().parents[1] / "references.py"
references = _load_references()
