"""Where the tutor keeps its state: one folder, `$BACKEND_TUTOR_HOME` or the platform's user data dir.

progress.db   the learner's progress
cache/        built lesson databases (templates), keyed by the content of their definition
packs/        packs installed from a folder, zip or wheel
workspace/    code exercises
sessions/     the live copies of lesson databases a session works on
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_HOME = "BACKEND_TUTOR_HOME"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def from_env(cls) -> Home:
        value = os.environ.get(ENV_HOME)
        if value:
            return cls(Path(value).expanduser().resolve())
        from platformdirs import user_data_dir

        return cls(Path(user_data_dir("backend-tutor", appauthor=False)))

    @property
    def progress_db(self) -> Path:
        return self.root / "progress.db"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def packs(self) -> Path:
        return self.root / "packs"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    @property
    def sessions(self) -> Path:
        return self.root / "sessions"

    def ensure(self) -> Home:
        for folder in (self.root, self.cache, self.packs, self.workspace, self.sessions):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def builtin_pack_path() -> Path:
    """The pack that ships with the tutor: inside the wheel, or `lessons/` in a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "_builtin_lessons"
    if installed.is_dir():
        return installed
    return here.parent / "lessons"
