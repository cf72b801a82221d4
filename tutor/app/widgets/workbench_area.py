"""The lesson screen's workbench region: a loading indicator while the sandboxes start, then one
workbench per sandbox the lesson declares (a tab each when there are several). See workbenches.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import ProgressBar, Static, TabbedContent, TabPane

from tutor.app.workbenches import TITLES, load_workbench

if TYPE_CHECKING:
    from tutor.session import Session


def _own_tools(name: str, session: Session) -> str:
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
**F3** zooms this region or the lesson text, to give either the whole screen.
"""

    def compose(self) -> ComposeResult:
        yield Static("Starting the lesson's sandboxes...", id="workbench-status")
        yield ProgressBar(total=1.0, show_eta=False, id="workbench-loading")

    def set_status(self, text: str) -> None:
        found = self.query("#workbench-status")
        if found:
            found.first(Static).update(text)
            return
        # starting again (Ctrl+T) after a failure replaced the indicator with the failure's text
        self.remove_children(".workbench-error")
        self.mount(Static(text, id="workbench-status"), ProgressBar(total=1.0, show_eta=False, id="workbench-loading"))

    def set_progress(self, what: str, fraction: float) -> None:
        """A sandbox being prepared (a big lesson database takes a second or two): say what, and how far."""
        self.set_status(what)
        bars = self.query("#workbench-loading")
        if bars:
            bars.first(ProgressBar).update(progress=max(0.0, min(fraction, 1.0)))

    async def show_failure(self, message: str) -> None:
        await self.remove_children()
        await self.mount(Static(message, classes="workbench-error"))

    async def mount_workbenches(self, session: Session, names: list[str]) -> list[str]:
        """Mount a workbench for each of `names`; returns the problems (also shown in the region)."""
        await self.remove_children()
        self.names: list[str] = []
        widgets: list[tuple[str, Widget]] = []
        problems: list[str] = []
        for name in names:
            title = TITLES.get(name, name)
            self.names.append(name)
            try:
                cls: Any = load_workbench(name)
                widget: Widget = cls(session)
            except Exception as exc:
                problems.append(f"{title}: {exc}")
                widget = Static(
                    f"The {title} is not available ({type(exc).__name__}: {exc}).{_own_tools(name, session)}",
                    classes="workbench-error",
                )
            widgets.append((title, widget))
        if len(widgets) == 1:
            await self.mount(widgets[0][1])
        elif widgets:
            tabs = TabbedContent(id="workbench-tabs")
            await self.mount(tabs)
            for name, (title, widget) in zip(names, widgets, strict=True):
                await tabs.add_pane(TabPane(title, widget, id=f"workbench-{name}"))
        return problems

    def show(self, name: str) -> None:
        """Bring the workbench for `name` ('sql' or 'api') to the front, when there are several."""
        tabs = self.query("#workbench-tabs")
        if tabs and name in getattr(self, "names", []):
            tabs.first(TabbedContent).active = f"workbench-{name}"
