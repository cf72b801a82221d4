"""The app: holds the pack, the progress store and the open sessions; screens do the rest."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType

from tutor.app.screens.course_map import CourseMapScreen
from tutor.keymap import display, keys

if TYPE_CHECKING:
    from textual.command import Provider
    from textual.dom import DOMNode
    from textual.screen import Screen

    from tutor.app.keys import AfterKeys
    from tutor.pack.index import PackIndex
    from tutor.pack.loader import PackLoad
    from tutor.paths import Home
    from tutor.progress import Position, ProgressStore, StepProgress
    from tutor.session import Session
    from tutor.settings import Settings


def lesson_commands() -> type[Provider]:
    """The palette's lesson provider, imported when the palette first opens (textual.command is not cheap)."""
    from tutor.app.commands import LessonCommands

    return LessonCommands


class TutorApp(App[int]):
    CSS_PATH = "tutor.tcss"
    TITLE = "backend-tutor"
    COMMANDS = App.COMMANDS | {lesson_commands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys("help"), "help", "Help", id="help", tooltip="Explain the part of the screen that has focus"),
        Binding(
            keys("quit"), "quit", "Quit", id="quit", priority=True, tooltip="Leave the tutor (your progress is saved)"
        ),
    ]

    def __init__(
        self,
        index: PackIndex,
        store: ProgressStore,
        home: Home,
        startup_notice: str | None = None,
        *,
        collector_paused: bool = False,
    ) -> None:
        super().__init__()
        self._collector_paused = collector_paused
        self.index = index
        self.store = store
        self.home = home
        self.startup_notice = startup_notice
        self.pack_load: PackLoad | None = None
        self.settings: Settings | None = None
        self.keys_in_force: dict[str, str] = {}  # binding id -> keys, the settings file's over the defaults
        self.pack_ready = threading.Event()  # set once the full validation is done (a worker waits on it)
        self.sessions: set[Session] = set()
        self._stopping_threads: list[threading.Thread] = []
        self.title = index.title
        self.sub_title = f"{index.id} {index.version}"

    def get_default_screen(self) -> CourseMapScreen:
        # The course map is the bottom screen itself: pushing it over Textual's blank default screen cost
        # two extra layouts and renders before the first frame.
        return CourseMapScreen()

    def on_mount(self) -> None:
        self.apply_settings()
        if self.startup_notice:
            self.notify(self.startup_notice, title="Progress", severity="warning", timeout=15)

    def apply_settings(self) -> None:
        """The settings file's keys and theme (the theme picked in the tutor before there was a settings
        file is kept in the progress store: it applies when the file names none)."""
        from tutor.settings import load_settings

        settings = self.settings = load_settings(self.home)
        self.keys_in_force = settings.keys_in_force()
        if settings.keys:
            self.set_keymap(settings.keys)
        theme = settings.theme or self.store.setting("theme")
        if theme and theme in self.available_themes:
            self.theme = theme
        elif settings.theme:
            known = ", ".join(sorted(self.available_themes)[:6])
            self.notify(f"{settings.path}: there is no theme '{settings.theme}' (some there are: {known}, ...)")
        if settings.problems:
            self.notify(
                "\n".join(settings.problems[:5]) + "\nThe tutor uses its defaults for these.",
                title="Settings file",
                severity="warning",
                timeout=20,
            )

    def on_ready(self) -> None:
        if self._collector_paused:  # see tutor.launch._pause_collector
            import gc

            # Everything made so far lives as long as the app: keep it out of later collections.
            gc.freeze()
            gc.enable()
            self._collector_paused = False
        # after the first frame is on screen: pydantic and the full validation would only delay it
        self.validate_pack()

    # -- the full pack, validated off the UI thread after the first screen -------------------------------
    @work(thread=True, exclusive=True, group="pack", exit_on_error=False)
    def validate_pack(self) -> None:
        from tutor.pack.errors import PackProblem
        from tutor.pack.loader import PackLoad, load_pack

        try:
            result = load_pack(self.index.root, cache_dir=self.home.cache)
        except Exception as exc:  # a bug in the loader must not take the app down
            problem = PackProblem("pack.yaml", 1, 1, f"the pack could not be loaded: {exc}")
            result = PackLoad(self.index.root, None, [problem])
        self.call_from_thread(self._pack_loaded, result)

    def _pack_loaded(self, result: PackLoad) -> None:
        self.pack_load = result
        self.pack_ready.set()
        if result.errors:
            count = len(result.errors)
            self.notify(
                f"This pack has {count} problem{'s' if count != 1 else ''}; lessons without errors still work. "
                "Press p on the course map to see them.",
                title="Pack problems",
                severity="warning",
                timeout=10,
            )
        for screen in self.screen_stack:
            if isinstance(screen, CourseMapScreen):
                screen.pack_validated(result)

    # -- navigation ---------------------------------------------------------------------------------
    def open_lesson(self, lesson_id: str, step_id: str | None = None) -> None:
        from tutor.app.screens.lesson import LessonScreen

        outline = self.index.lesson(lesson_id)
        if outline is None:
            self.notify(f"There is no lesson '{lesson_id}' in this pack.", severity="error")
            return
        if isinstance(self.screen, LessonScreen):
            self.pop_screen()
        self.push_screen(LessonScreen(outline, step_id))

    def next_place(self) -> tuple[str, str] | None:
        """Where `c` goes: the first unfinished step from where the learner was (that step itself when it
        is not passed yet), else the next unfinished lesson in pack order. None when everything is done."""
        position = self.store.position(self.index.id)
        return next_unfinished(self.index, self.store.pack_steps(self.index.id), position)

    def continue_learning(self) -> None:
        place = self.next_place()
        if place is None:
            self.notify("Every lesson is done. Pick any lesson to revisit it.")
            return
        self.open_lesson(*place)

    def show_pack_problems(self) -> None:
        from tutor.app.screens.problems import PackProblemsScreen

        if self.pack_load is None:
            self.notify("The pack is still being checked; try again in a moment.")
            return
        self.push_screen(PackProblemsScreen(self.pack_load))

    def action_help(self) -> None:
        from tutor.app.screens.help import HelpScreen, help_for

        title, text = help_for(self.focused, self.screen)
        self.push_screen(HelpScreen(title, text))

    def watch_theme(self, theme: str) -> None:
        settings = self.settings
        if self.screen_stack and settings is not None and theme != (settings.theme or self.store.setting("theme")):
            self.save_theme(theme)

    @work(thread=True, group="settings", exit_on_error=False)
    def save_theme(self, theme: str) -> None:
        """A theme picked in the palette goes into the settings file, the one place the learner sets it."""
        from tutor.settings import load_settings, save_theme

        try:
            save_theme(self.home, theme)
        except OSError as exc:
            self.notify(f"The theme could not be saved in the settings file: {exc}", severity="warning")
            return
        self.settings = load_settings(self.home)

    # -- the command palette: every key on screen is also a command -----------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        seen: set[str] = {"Theme", "Quit", "Keys", "Screenshot", "Maximize", "Minimize"}
        for description, (tooltip, shown_keys, action, node) in active_keys(screen).items():
            if description in seen:
                continue
            seen.add(description)
            yield SystemCommand(description, f"{tooltip} ({shown_keys})", partial(self.run_action, action, node))

    # -- sessions -------------------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Leave at once: the sandboxes are told to stop in the background, the screen goes now."""
        self.close_sessions(wait=0.0)
        self.exit()

    def close_sessions(self, wait: float | None = None) -> None:
        """Stop every open session's sandboxes, each in its own thread. `wait`: how long to wait for them
        (None: until done). The servers are daemon threads of this process: nothing outlives it."""
        self.close_sessions_of(list(self.sessions))
        if wait is None or wait > 0:
            deadline = None if wait is None else time.monotonic() + wait
            for thread in list(self._stopping_threads):
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def close_sessions_of(self, sessions: list[Session]) -> None:
        """Tell these sessions' sandboxes to stop, each in a daemon thread; returns at once."""
        threads = []
        for session in sessions:
            self.sessions.discard(session)
            thread = threading.Thread(target=_close_quietly, args=(session,), name="close-session", daemon=True)
            thread.start()
            threads.append(thread)
        self._stopping_threads.extend(threads)

    def on_after_keys(self, message: AfterKeys) -> None:
        """A key's action, typed right behind other keys, runs here once they have (tutor.app.keys)."""
        message.stop()
        message.callback()

    def on_unmount(self) -> None:
        self.close_sessions(wait=0.0)


def active_keys(screen: Screen) -> dict[str, tuple[str, str, str, DOMNode]]:
    """The keys in force on `screen` for what has focus: description -> (tooltip, keys as the learner
    reads them, action, node). A binding with several keys (F5 and Ctrl+T) is one entry."""
    found: dict[str, tuple[str, list[str], str, DOMNode]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or not active.enabled:
            continue
        key = binding.key_display or display(binding.key)  # "Ctrl+K", as F1 and the docs write keys
        entry = found.setdefault(
            binding.description, (binding.tooltip or binding.description, [], binding.action, active.node)
        )
        if key not in entry[1]:
            entry[1].append(key)
    return {d: (tip, " or ".join(keys), action, node) for d, (tip, keys, action, node) in found.items()}


def _close_quietly(session: Session) -> None:
    with contextlib.suppress(Exception):  # the process is leaving: a failed stop has nobody to tell
        session.close()


def next_unfinished(
    index: PackIndex, progress: dict[str, dict[str, StepProgress]], position: Position | None
) -> tuple[str, str] | None:
    """(lesson id, step id) of the next step to do: from the remembered position onwards in its lesson,
    then the following lessons, wrapping around to the first ones."""

    def passed(lesson_id: str, step_id: str) -> bool:
        step = progress.get(lesson_id, {}).get(step_id)
        return bool(step and step.passed)

    lessons = list(index.lessons)
    if not lessons:
        return None
    start = 0
    current = next((lesson for lesson in lessons if position and lesson.id == position.lesson_id), None)
    if current is not None and all(passed(current.id, step_id) for step_id in current.step_ids):
        # The learner looked back at a finished lesson: continue the one they were working on, not the
        # lesson after the one they reread.
        started = [
            (max(s.last_activity or 0.0 for s in progress.get(lesson.id, {}).values()), lesson)
            for lesson in lessons
            if lesson is not current
            and any(s.last_activity for s in progress.get(lesson.id, {}).values())
            and not all(passed(lesson.id, step_id) for step_id in lesson.step_ids)
        ]
        if started:
            latest = max(started, key=lambda pair: pair[0])[1]
            return latest.id, next(s for s in latest.step_ids if not passed(latest.id, s))
    if position is not None:
        here = next((i for i, lesson in enumerate(lessons) if lesson.id == position.lesson_id), None)
        if here is not None:
            lesson = lessons[here]
            ids = lesson.step_ids
            at = ids.index(position.step_id) if position.step_id in ids else 0
            for step_id in ids[at:] + ids[:at]:
                if not passed(lesson.id, step_id):
                    return lesson.id, step_id
            start = here + 1
    for lesson in lessons[start:] + lessons[:start]:
        for step_id in lesson.step_ids:
            if not passed(lesson.id, step_id):
                return lesson.id, step_id
    return None
