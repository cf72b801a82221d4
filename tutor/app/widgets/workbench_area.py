"""The lesson screen's workbench region: one workbench per sandbox the lesson declares (a tab each when
there are several), mounted when the lesson screen opens so the learner can type at once, and attached to
the session once its sandboxes run. While they start, a line and a progress bar say what is happening.
See workbenches.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import ProgressBar, Static, TabbedContent, TabPane

from tutor.app.workbenches import TITLES, load_workbench

if TYPE_CHECKING:
    from tutor.session import Session


def _own_tools(name: str, session: Session | None) -> str:
    if session is None:
        return ""
    if name == "sql" and session.sql is not None:
        return f"\nThe lesson database is at {getattr(session.sql, 'path', '?')}: open it with sqlite3."
    if name == "api" and session.api is not None:
        return f"\nThe sandbox API is at {getattr(session.api, 'base_url', '?')}: use curl or a browser."
    return ""


class WorkbenchArea(Vertical):
    HELP: ClassVar[str] = """\
## Workbench
Where you act on the lesson's real systems: a SQL database and/or an HTTP API running on your
machine. You can also use your own tools (sqlite3, curl, httpie, a browser) on the same systems.
**{focus_workbench}** goes to its editor, **{focus_result}** to its result, **{zoom}** zooms this region or
the lesson text, to give either the whole screen.
"""
    DEFAULT_CSS = """
    WorkbenchArea #workbench-status { height: auto; }
    WorkbenchArea #workbench-loading { height: 1; }
    WorkbenchArea #workbench-body { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.names: list[str] = []
        self.workbenches: dict[str, Widget] = {}

    def compose(self) -> ComposeResult:
        yield Static("Starting the lesson's sandboxes...", id="workbench-status")
        yield ProgressBar(total=1.0, show_eta=False, id="workbench-loading")
        yield Vertical(id="workbench-body")

    def set_status(self, text: str) -> None:
        status = self.query_one("#workbench-status", Static)
        status.display = True
        status.remove_class("workbench-error")
        status.update(text)

    def set_progress(self, what: str, fraction: float) -> None:
        """A sandbox being prepared (a big lesson database takes a second or two): say what, and how far.
        The workbenches hear it too, so a query waiting to run can say how far the database has got."""
        self.set_status(what)
        bars = self.query("#workbench-loading")
        if bars:
            bars.first(ProgressBar).display = True
            bars.first(ProgressBar).update(progress=max(0.0, min(fraction, 1.0)))
        for widget in self.workbenches.values():
            progress = getattr(widget, "preparing", None)
            if callable(progress):
                progress(what, fraction)

    async def show_failure(self, message: str) -> None:
        self.query_one("#workbench-loading").display = False
        # editors mounted early (to take text at once) would take queries that can never run: hide them
        self.query_one("#workbench-body").display = False
        status = self.query_one("#workbench-status", Static)
        status.update(message)
        status.add_class("workbench-error")

    async def mount_workbenches(self, session: Session | None, names: list[str]) -> list[str]:
        """Mount a workbench for each of `names` (before the session runs when `session` is None: the
        editors take text at once); returns the problems (also shown in the region)."""
        body = self.query_one("#workbench-body", Vertical)
        await body.remove_children()
        self.names = []
        self.workbenches = {}
        widgets: list[tuple[str, Widget]] = []
        problems: list[str] = []
        for name in names:
            title = TITLES.get(name, name)
            self.names.append(name)
            try:
                cls: Any = load_workbench(name)
                widget: Widget = cls(session)
                self.workbenches[name] = widget
            except Exception as exc:
                problems.append(f"{title}: {exc}")
                widget = Static(
                    f"The {title} is not available ({type(exc).__name__}: {exc}).{_own_tools(name, session)}",
                    classes="workbench-error",
                )
            widgets.append((title, widget))
        if len(widgets) == 1:
            await body.mount(widgets[0][1])
        elif widgets:
            tabs = TabbedContent(id="workbench-tabs")
            await body.mount(tabs)
            for name, (title, widget) in zip(names, widgets, strict=True):
                await tabs.add_pane(TabPane(title, widget, id=f"workbench-{name}"))
        return problems

    def attach(self, session: Session) -> None:
        """The session's sandboxes run: the workbenches use them from now on."""
        self.query_one("#workbench-status").display = False
        self.query_one("#workbench-status").remove_class("workbench-error")
        self.query_one("#workbench-loading").display = False
        self.query_one("#workbench-body").display = True
        for widget in self.workbenches.values():
            attach = getattr(widget, "attach", None)
            if callable(attach):
                attach(session)

    def show(self, name: str) -> None:
        """Bring the workbench for `name` ('sql' or 'api') to the front, when there are several."""
        tabs = self.query("#workbench-tabs")
        if tabs and name in self.names:
            tabs.first(TabbedContent).active = f"workbench-{name}"

    def front(self) -> Widget | None:
        """The workbench the learner sees (the one tab in front when there are several)."""
        if len(self.workbenches) <= 1:
            return next(iter(self.workbenches.values()), None)
        tabs = self.query("#workbench-tabs")
        if not tabs:
            return None
        active = (tabs.first(TabbedContent).active or "").removeprefix("workbench-")
        return self.workbenches.get(active)
