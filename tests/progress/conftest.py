"""The classroom fixture: one learner's work in real sandboxes, done once for the tests that read it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.progress.classroom import export, learn


@pytest.fixture(scope="session")
def ada(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Ada's home after her work (tests.progress.classroom.learn), and her JSON export, parsed."""
    home = tmp_path_factory.mktemp("ada")
    learn(home)
    path = export(home, home / "ada.json")
    return {"home": home, "path": path, "document": json.loads(path.read_text())}
