"""One lesson in progress: the sandboxes it started and the evidence they gather. No Textual.

The app and `pack test` drive lessons through this same class, so a reference solution is applied
through exactly the path a learner's own action takes.

    session = Session(pack, lesson, home)
    session.start()                  # blocking: builds/copies the database, starts the API (use a worker)
    session.begin_step(step)         # evidence is counted from here
    session.apply(step.solution)     # or the learner acts in the workbenches
    result = session.check(step, answer)
    session.close()
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tutor.checks import evaluate
from tutor.checks.base import CheckContext, CheckResult
from tutor.pack.actions import Action, Answer, WrongAnswer
from tutor.pack.models import Lesson, Step

if TYPE_CHECKING:
    from pathlib import Path

    from sandboxes.api.sandbox import ApiSandbox
    from sandboxes.sql.sandbox import SqlSandbox
    from tutor.code.workspace import CodeEvidenceImpl, Workspace
    from tutor.pack.loader import Pack
    from tutor.paths import Home

Progress = Callable[[str, float], None]
"""progress(what, fraction 0..1) while a sandbox is being prepared."""


def _same_answer(a: Answer | None, b: Answer | None) -> bool:
    if a is None or b is None:
        return False
    if isinstance(a, list) or isinstance(b, list):
        left = sorted(str(x) for x in (a if isinstance(a, list) else [a]))
        right = sorted(str(x) for x in (b if isinstance(b, list) else [b]))
        return left == right
    return " ".join(str(a).split()).casefold() == " ".join(str(b).split()).casefold()


def _normal_sql(sql: str) -> str:
    return " ".join(sql.replace(";", " ").split()).casefold()


class ActionFailed(Exception):
    """A replayed action could not be carried out (its SQL failed, a request could not be sent)."""


@dataclass(frozen=True)
class SessionState:
    sql: bytes | None
    api: Any


class Session:
    def __init__(self, pack: Pack, lesson: Lesson, home: Home, workspace: Path | None = None) -> None:
        self.pack = pack
        self.lesson = lesson
        self.home = home
        self.workspace_choice = workspace  # `--workspace DIR`: build-it files go under it instead of the home
        self.workspace: Workspace | None = None
        self.code: CodeEvidenceImpl | None = None
        self.sql: SqlSandbox | None = None
        self.api: ApiSandbox | None = None
        self.step: Step | None = None
        self.started = False
        self._api_port = 0  # once the API has run, a restart asks for the same port (the learner's curl still works)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, progress: Progress | None = None) -> None:
        """Start what the lesson declares. Blocking and possibly slow: call it off the UI thread."""
        settings = self.lesson.sandboxes
        if settings.sql is not None and self.sql is None:
            from sandboxes.sql.sandbox import SqlSandbox

            self.sql = SqlSandbox.open(
                settings.sql, pack_root=self.pack.root, home=self.home, lesson_id=self.lesson.id, progress=progress
            )
        if settings.api is not None and self.api is None:
            from sandboxes.api.sandbox import ApiSandbox

            database = self.sql.path if self.sql else None
            try:
                self.api = ApiSandbox.start(settings.api, database=database, port=self._api_port)
            except Exception:
                if not self._api_port:
                    raise
                self.api = ApiSandbox.start(settings.api, database=database)  # the old port is taken
            self._api_port = self.api.port
        if self.lesson.build is not None and self.workspace is None:
            from tutor.code.workspace import CodeEvidenceImpl, Workspace

            self.workspace = Workspace.for_lesson(self.home, self.pack, self.lesson, self.workspace_choice)
            self.workspace.prepare()
            database = self.sql.template if self.sql is not None and self.lesson.build.database else None
            copies = self.home.sessions / f"{self.lesson.id}-code"
            self.code = CodeEvidenceImpl(self.workspace, self.lesson.build.module, self.pack.root, database, copies)
        self.started = True

    def problems(self) -> list[str]:
        """What is wrong with sandboxes that should be running (empty when all is well)."""
        found = []
        if self.lesson.sandboxes.api is not None and self.api is not None and not self.api.alive:
            found.append("the sandbox API has stopped")
        return found

    def restart(self, progress: Progress | None = None) -> None:
        """Start again whatever failed to start or has stopped; what runs fine is kept (so is the database)."""
        if self.api is not None and not self.api.alive:
            api, self.api = self.api, None
            with contextlib.suppress(Exception):  # it is already dead: stopping only tidies up
                api.stop()
        self.start(progress)

    def close(self) -> None:
        if self.code is not None:
            self.code.close()
            self.code = None
            self.workspace = None
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.sql is not None:
            self.sql.close()
            self.sql = None
        self.started = False

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- steps and evidence ----------------------------------------------------------------------
    def begin_step(self, step: Step) -> None:
        """Evidence (statements run, traffic) counts from here on for `step`'s check."""
        self.step = step
        if self.code is not None:
            from tutor.pack.checks import iter_kinds

            if "code_http" in iter_kinds(step.check):
                self.code.launcher().prepare()  # a warm child ready for the learner's first save
        if self.sql is not None:
            self.sql.mark()
        if self.api is not None:
            self.api.mark()

    def apply(self, action: Action) -> Any:
        """Replay a learner action: SQL through the guarded learner connection, then HTTP requests as
        an outside client. Returns the answer to check (None for hands-on actions).

        Raises ActionFailed when the SQL fails (with SQLite's message and where) or a request cannot
        be sent; whatever ran before the failure stays applied, as it would for a learner.

        `files` lays the starter files with the action's files over them in the workspace, as if the
        learner had written them (only `pack test` does this; a learner saves in their editor)."""
        if action.files is not None:
            if self.workspace is None:
                raise ActionFailed("this lesson has no workspace (`build:`)")
            self.workspace.lay(self.pack.root / action.files)
        if action.sql is not None:
            if self.sql is None:
                raise ActionFailed("this lesson has no SQL sandbox running")
            run = self.sql.run_learner(action.sql)
            problem = run.describe_error()
            if problem is not None:
                raise ActionFailed(f"its SQL failed: {problem}")
        for request in action.requests:
            if self.api is None:
                raise ActionFailed("this lesson has no API sandbox running")
            try:
                self.api.send_as_outside_client(request)
            except Exception as exc:
                raise ActionFailed(f"{request.method} {request.path} could not be sent: {exc}") from exc
        return action.answer

    def save_state(self) -> SessionState:
        """What the sandboxes hold now, so `pack test` can put it back after a wrong answer."""
        return SessionState(
            sql=self.sql.snapshot() if self.sql is not None else None,
            api=self.api.snapshot() if self.api is not None else None,
        )

    def restore_state(self, state: SessionState) -> None:
        if self.sql is not None and state.sql is not None:
            self.sql.restore(state.sql)
        if self.api is not None and state.api is not None:
            self.api.restore(state.api)

    def context(self, answer: Answer | None = None) -> CheckContext:
        return CheckContext(
            answer=answer,
            sql=self.sql.evidence() if self.sql is not None else None,
            http=self.api.evidence() if self.api is not None else None,
            code=self.code,
        )

    def check(self, step: Step, answer: Answer | None = None) -> CheckResult:
        """Run `step`'s check on the evidence gathered since `begin_step`, plus the typed `answer`.

        When the check fails and what the learner did is one of the step's declared wrong answers (the
        same typed answer, or the same SQL as their last statements), the author's feedback for it is
        added: it says why that particular mistake is a mistake."""
        result = evaluate(step.check, self.context(answer))
        if not result.passed and result.feedback is None:
            for wrong in step.wrong_answers:
                if wrong.feedback and self._did(wrong, answer):
                    result = replace(result, feedback=wrong.feedback)
                    break
        return result

    def _did(self, wrong: WrongAnswer, answer: Answer | None) -> bool:
        if wrong.answer is not None:
            return _same_answer(wrong.answer, answer)
        if wrong.files is not None and self.workspace is not None:
            from tutor.code.workspace import list_files

            theirs = self.workspace.files()
            mine = list_files(self.pack.root / wrong.files)
            return bool(mine) and all(
                name in theirs and theirs[name].read_bytes() == path.read_bytes() for name, path in mine.items()
            )
        if wrong.sql is not None and self.sql is not None:
            from sandboxes.sql.guard import split_statements

            expected = [_normal_sql(s.sql) for s in split_statements(wrong.sql)]
            ran = [_normal_sql(s) for s in self.sql.statements()]
            return bool(expected) and ran[-len(expected) :] == expected
        return False
