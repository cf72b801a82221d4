"""The lesson screen's build-it part: the learner's workspace, their own editor (Ctrl+O), watching for saves
(each save re-runs the check), and putting the starter files back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work

from tutor.app.keys import key_name
from tutor.app.lesson.messages import FilesSaved
from tutor.app.lesson.state import LessonParts
from tutor.app.screens.confirm import ConfirmScreen
from tutor.app.widgets.build_panel import BuildPanel

if TYPE_CHECKING:
    from tutor.pack.models import Step
    from tutor.session import Session


class BuildWatch(LessonParts):
    """Mixed into LessonScreen: build-it steps."""

    def _start_build(self, session: Session) -> None:
        if session.workspace is None or session.lesson.build is None:
            return
        import threading

        self._watch_stop = threading.Event()
        self.query_one(BuildPanel).show_workspace(session.workspace.root, session.lesson.build.open, True)
        self._show_build(self.step)
        self.watch_workspace(session.workspace.root, self._watch_stop)

    def _show_build(self, step: Step | None) -> None:
        """The workspace panel belongs to the steps that check the learner's code: a lesson may open with
        steps done in the workbenches, where "Your code ... passes" would describe nothing they did."""
        panel = self.query_one(BuildPanel)
        panel.display = panel.ready and step is not None and self._code_step(step)

    @work(thread=True, group="watch", exit_on_error=False)
    def watch_workspace(self, folder: Any, stop: Any) -> None:
        from tutor.code.watch import watch

        try:

            def saved(names: list[str]) -> None:
                self.post_message(FilesSaved(names))

            watch(folder, saved, stop)
        except Exception as exc:  # no inotify, a folder on a network drive, ...
            self.app.call_from_thread(
                self.query_one(BuildPanel).set_status,
                f"Watching for saves does not work here ({type(exc).__name__}): "
                f"press {key_name(self, 'check')} after each save.",
            )

    def on_files_saved(self, message: FilesSaved) -> None:
        step = self.step
        if step is None or self.session is None or not self.session_ready or not self._code_step(step):
            return
        self.query_one(BuildPanel).saved(message.names)
        self._check_code(step)

    def _code_step(self, step: Step | None) -> bool:
        from tutor.pack.checks import CODE_KINDS, iter_kinds

        return step is not None and bool(CODE_KINDS & set(iter_kinds(step.check)))

    def _check_code(self, step: Step) -> None:
        """Run a build-it check, asking first (once per pack version) when the pack is not the built-in one."""
        from tutor.code import trust

        if self.pack is None:
            return
        if trust.is_trusted(self.tutor.home, self.pack):
            self.run_check(step, None)
            return
        if getattr(self, "_asking_trust", False):
            return
        self._asking_trust = True

        def answered(yes: bool | None) -> None:
            self._asking_trust = False
            if yes and self.pack is not None:
                trust.trust(self.tutor.home, self.pack)
                self.run_check(step, None)
            else:
                self.query_one(BuildPanel).set_status("Not run: you chose not to run this pack's code.")

        self.app.push_screen(ConfirmScreen(trust.question(self.pack), yes="Run it", no="Not now"), answered)

    def action_open_editor(self) -> None:
        import os
        import shlex
        import shutil
        import subprocess

        session = self.session
        if session is None or session.workspace is None or session.lesson.build is None:
            self.notify("This lesson has no code to edit.")
            return
        target = session.workspace.root / session.lesson.build.open
        settings = getattr(self.app, "settings", None)
        editor = getattr(settings, "editor", None) or os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.notify(
                f"Set editor in the settings file (backend-tutor config), or $VISUAL or $EDITOR, or open {target} "
                "in any editor.",
                title="Editor",
                timeout=15,
            )
            return
        try:
            command = [*shlex.split(editor), str(target)]
        except ValueError as exc:  # an unclosed quote in the setting
            self.notify(f"Could not read the editor setting {editor!r}: {exc}", title="Editor", severity="error")
            return
        if shutil.which(command[0]) is None:
            # Found before the terminal is handed over: Textual's suspend does not come back from an
            # exception raised inside it, which left a blank screen that no key could leave.
            self.notify(
                f"Could not start the editor {command[0]!r}: no such program. Set editor in the settings file "
                f"(backend-tutor config), or $VISUAL or $EDITOR, or open {target} in any editor.",
                title="Editor",
                severity="error",
                timeout=15,
            )
            return
        failed: Exception | None = None
        try:
            with self.app.suspend():
                try:
                    subprocess.run(command, cwd=session.workspace.root, check=False)  # noqa: S603 (the learner's own $EDITOR, no shell)
                except (OSError, ValueError) as exc:  # caught inside, so the app comes back to the screen
                    failed = exc
        except Exception as exc:  # SuspendNotSupported (a web or test driver): start it without suspending
            try:
                subprocess.Popen(command, cwd=session.workspace.root, stdin=subprocess.DEVNULL)  # noqa: S603
            except OSError:
                self.notify(f"Could not open an editor here ({type(exc).__name__}): open {target}.")
        if failed is not None:
            self.notify(f"Could not start {command[0]}: {failed}", title="Editor", severity="error")

    def on_build_panel_reset_requested(self) -> None:
        session = self.session
        if session is None or session.workspace is None:
            return
        workspace = session.workspace

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            backup = workspace.reset()
            where = f" Your files are kept in {backup}." if backup else ""
            self.notify(f"The starter files are back.{where}", title="Reset this exercise", timeout=15)

        edited = workspace.edited()
        what = f" ({', '.join(edited[:3])} changed)" if edited else ""
        self.app.push_screen(
            ConfirmScreen(
                f"Put the starter files back in {workspace.root}{what}? Your current files are copied to a "
                "backup folder first.",
                yes="Reset",
                no="Keep my files",
            ),
            answered,
        )
