"""The learner's workspace for a build-it lesson: `$BACKEND_TUTOR_HOME/workspace/<pack>/<lesson>/`.

    ws = Workspace.for_lesson(home, pack, lesson)      # or Workspace(Path(chosen), starter)
    ws.prepare()        # lays down starter files that are missing; never touches an existing file
    ws.reset()          # the learner asked (and confirmed): current files move to a backup first
    ws.lay(files_dir)   # pack test: the starter files with a solution's or wrong answer's files over them

What the tutor wrote is remembered in `.backend-tutor.json` (a hash per file), so a file the learner
edited is known as edited; a new pack version adds files that are new to it, and leaves every existing
file as the learner has it. Backups go to `.backups/<UTC time>/`. The same file keeps the lesson's
`build.watch` globs, so the watcher (`tutor.code.watch`) knows which saves are the learner's
(`learner_file`): the starter's files and `.py` files unless the lesson says otherwise.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.files import write_atomic

if TYPE_CHECKING:
    from tutor.pack.loader import Pack
    from tutor.pack.models import Lesson
    from tutor.paths import Home

ENV_WORKSPACE = "BACKEND_TUTOR_WORKSPACE"
"""Set by `backend-tutor --workspace DIR`: build-it folders go under DIR instead of the home."""
STATE = ".backend-tutor.json"
BACKUPS = ".backups"
SKIP = {STATE, BACKUPS, "__pycache__", ".pytest_cache"}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def list_files(folder: Path) -> dict[str, Path]:
    """Relative name -> path of every regular file under `folder`, skipping the tutor's own."""
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] in SKIP or "__pycache__" in rel.parts or not path.is_file():
            continue
        out[rel.as_posix()] = path
    return out


def learner_file(root: Path, rel: str) -> bool:
    """Whether a save of `rel` (a '/'-separated path in the workspace at `root`) is one of the learner's
    files: it matches the lesson's `build.watch` globs, or without them it is a starter file or a `.py`
    file. What the app writes beside them (a log, a SQLite file, an upload) is not."""
    try:
        data = json.loads((root / STATE).read_text())
        written = data.get("written", {})
        patterns = [str(p) for p in data.get("watch", [])]
    except (OSError, ValueError, AttributeError):
        written, patterns = {}, []
    if patterns:
        return any(fnmatch.fnmatchcase(rel, p) for p in patterns)
    return rel.endswith(".py") or rel in written


@dataclass
class Workspace:
    root: Path
    starter: Path
    watch: tuple[str, ...] = ()

    @classmethod
    def for_lesson(cls, home: Home, pack: Pack, lesson: Lesson, chosen: Path | None = None) -> Workspace:
        """The lesson's folder under the home, or under `chosen` (the `--workspace` folder)."""
        assert lesson.build is not None
        from_env = os.environ.get(ENV_WORKSPACE)
        base = chosen if chosen is not None else Path(from_env) if from_env else home.workspace
        return cls(base / pack.id / lesson.id, pack.root / lesson.build.starter, tuple(lesson.build.watch))

    # -- state ---------------------------------------------------------------------------------------
    def _state(self) -> dict[str, str]:
        try:
            data = json.loads((self.root / STATE).read_text())
            return {str(k): str(v) for k, v in data.get("written", {}).items()}
        except (OSError, ValueError, AttributeError):
            return {}

    def _save_state(self, written: dict[str, str]) -> None:
        state = {"written": written, "watch": list(self.watch)}
        write_atomic(self.root / STATE, json.dumps(state, indent=1, sort_keys=True))

    def files(self) -> dict[str, Path]:
        return list_files(self.root)

    def edited(self) -> list[str]:
        """Files the learner changed (or added) since the tutor wrote them."""
        written = self._state()
        return [name for name, path in self.files().items() if written.get(name) != _digest(path.read_bytes())]

    # -- changes -------------------------------------------------------------------------------------
    def prepare(self) -> list[str]:
        """Copy starter files that are missing. An existing file is never overwritten. Returns what was added."""
        self.root.mkdir(parents=True, exist_ok=True)
        written = self._state()
        added = []
        for name, source in list_files(self.starter).items():
            target = self.root / name
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            data = source.read_bytes()
            write_atomic(target, data)
            written[name] = _digest(data)
            added.append(name)
        self._save_state(written)
        return added

    def backup(self) -> Path | None:
        """Copy the current files to `.backups/<time>/`; None when there is nothing to keep."""
        current = self.files()
        if not current:
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        target = self.root / BACKUPS / stamp
        suffix = 1
        while target.exists():
            suffix += 1
            target = self.root / BACKUPS / f"{stamp}-{suffix}"
        for name, path in current.items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / name)
        return target

    def reset(self) -> Path | None:
        """Back up the current files, then put the starter files back. Returns the backup folder."""
        saved = self.backup()
        for path in self.files().values():
            path.unlink()
        self._save_state({})
        self.prepare()
        return saved

    def lay(self, files: Path | None) -> None:
        """The starter files with `files`' files over them (what `pack test` replays). No backup: this is
        only ever done in a throwaway home."""
        for path in self.files().values():
            path.unlink()
        self._save_state({})
        self.prepare()
        if files is None:
            return
        for name, source in list_files(files).items():
            target = self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, source.read_bytes())


class CodeEvidenceImpl:
    """What `code_http` and `code_tests` read: the workspace, the module, a fresh database copy."""

    def __init__(
        self,
        workspace: Workspace,
        module: str,
        pack_root: Path,
        database: Path | None,
        copies: Path | None = None,
        environment: dict[str, str] | None = None,
        *,
        keep_reference_answers: bool = True,
    ) -> None:
        self._workspace = workspace
        self._module = module
        self._pack_root = pack_root
        self._database = database
        self._copies = copies  # where the database copies go (made when first needed; a temp folder if None)
        self._environment = dict(environment or {})
        self._made: Path | None = None
        self._counts: dict[str, int] = {}
        self._launcher: Any = None
        self._references: dict[str, tuple[Path, Any]] = {}  # reference folder -> (its workspace, its launcher)
        self._reference_stamps: dict[str, tuple[tuple[str, int, int], ...]] = {}
        self.keep_reference_answers = keep_reference_answers
        """Whether the reference app's answers to a step's probes may be kept for the next check of the
        step: true when the apps reach nothing but their own database copies (no API sandbox, whose
        upstreams and memory both apps would share), so the same requests on a fresh copy get the same
        answers."""
        self.reference_answers: dict[Any, Any] = {}

    def launcher(self) -> Any:
        """The `tutor.code.runner.Launcher` for this workspace (one spare child kept ahead)."""
        if self._launcher is None:
            from tutor.code.runner import Launcher

            self._launcher = Launcher(self._workspace.root, self._module, self.fresh_database, self._environment)
        return self._launcher

    def start_app(self) -> Any:
        return self.launcher().start()

    def environment(self) -> dict[str, str]:
        """The lesson's `build.env`: what the learner's app runs with."""
        return dict(self._environment)

    def set_environment(self, environment: dict[str, str]) -> None:
        """Run the apps started from now on with `environment` (the sandboxes restarted with new values);
        a spare made with the old one is ended."""
        if environment == self._environment:
            return
        self._environment = dict(environment)
        self.reference_answers.clear()
        if self._launcher is not None:
            self._launcher.close()
            self._launcher = None
        for root, launcher in self._references.values():
            launcher.close()
            shutil.rmtree(root, ignore_errors=True)
        self._references.clear()

    def reference_stamp(self, folder: str) -> tuple[tuple[str, int, int], ...]:
        """What the reference folder holds now (names, sizes, times): kept answers are the answers of
        this version of it only."""
        stamp = []
        for name, path in sorted(list_files(self._pack_root / folder).items()):
            stat = path.stat()
            stamp.append((name, stat.st_size, stat.st_mtime_ns))
        return tuple(stamp)

    def start_reference(self, folder: str) -> Any:
        """The lesson's reference app (the starter files with `folder`'s over them, a folder of the pack),
        started in a workspace of its own on its own fresh database copy, as the learner's app is."""
        from tutor.code.runner import Launcher

        known = self._references.get(folder)
        stamp = self.reference_stamp(folder)
        if known is not None and self._reference_stamps.get(folder) != stamp:  # the pack's author changed it
            known[1].close()
            shutil.rmtree(known[0], ignore_errors=True)
            known = None
        if known is None:
            base = self._copies if self._copies is not None else Path(tempfile.mkdtemp(prefix="backend-tutor-ref-"))
            root = base / f"reference-{hashlib.sha256(folder.encode()).hexdigest()[:12]}"
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(self._workspace.starter, root)
            for name, source in list_files(self._pack_root / folder).items():
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            known = (root, Launcher(root, self._module, lambda: self.fresh_database("reference"), self._environment))
            self._references[folder] = known
            self._reference_stamps[folder] = stamp
        return known[1].start()

    @property
    def workspace(self) -> Path:
        return self._workspace.root

    @property
    def module(self) -> str:
        return self._module

    @property
    def pack_root(self) -> Path:
        return self._pack_root

    def fresh_database(self, kind: str = "lesson") -> Path | None:
        """A fresh copy of the lesson database for one app. Each `kind` of app (the learner's, the
        reference) numbers its own copies and keeps its last three: the running app's, its spare's, and
        the one being made."""
        if self._database is None:
            return None
        if self._made is None:
            if self._copies is not None:
                self._copies.mkdir(parents=True, exist_ok=True)
                self._made = self._copies
            else:
                self._made = Path(tempfile.mkdtemp(prefix="backend-tutor-code-db-"))
        self._counts[kind] = count = self._counts.get(kind, 0) + 1
        for old in self._made.glob(f"{kind}-*.db*"):  # the copies of apps that have stopped
            number = old.name.removeprefix(f"{kind}-").split(".")[0]
            if number.isdigit() and int(number) < count - 2:
                old.unlink(missing_ok=True)
        target = self._made / f"{kind}-{count}.db"
        shutil.copyfile(self._database, target)
        return target

    def close(self) -> None:
        if self._launcher is not None:
            self._launcher.close()
            self._launcher = None
        for root, launcher in self._references.values():
            launcher.close()
            shutil.rmtree(root, ignore_errors=True)
        self._references.clear()
        self.reference_answers.clear()
        if self._made is not None:
            shutil.rmtree(self._made, ignore_errors=True)
            self._made = None
