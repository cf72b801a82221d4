"""The SQL workbench's two dialogs: one cell in full (Enter on a cell), and saving a result as CSV or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static, TextArea


def cell_text(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"{len(value)} bytes:\n{value.hex(' ', 16)}"
    return str(value)


class CellScreen(ModalScreen[None]):
    """One row of a result with every value as it is, however long: the grid cuts cells at 60 characters."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="close_cell", tooltip="Back to the results"),
    ]
    DEFAULT_CSS = """
    CellScreen #cell-dialog { height: 90%; }
    CellScreen #cell-value { height: 1fr; }
    """

    def __init__(self, columns: list[str], row: int, values: list[object]) -> None:
        super().__init__()
        self.columns, self.row, self.values = columns, row, values

    def text(self) -> str:
        """Each column's name, then its value in full (long values on their own lines)."""
        parts = []
        for column, value in zip(self.columns, self.values, strict=False):
            kind = "NULL" if value is None else type(value).__name__
            value_text = cell_text(value)
            parts.append(f"{column} ({kind}, {len(value_text):,} characters):\n{value_text}")
        return "\n\n".join(parts)

    def compose(self) -> ComposeResult:
        with Vertical(id="cell-dialog", classes="dialog"):
            yield Static(f"Row {self.row}, every value in full", classes="dialog-title")
            area = TextArea(self.text(), id="cell-value", read_only=True, soft_wrap=True, show_line_numbers=False)
            area.cursor_blink = False
            yield area
            yield Static(
                "↑/↓ PgUp/PgDn scroll · Shift+arrows select, Ctrl+C copies · Esc closes", classes="dialog-hint"
            )

    def on_mount(self) -> None:
        self.query_one("#cell-value", TextArea).focus()

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)


class ExportScreen(ModalScreen[Path | None]):
    """Where to save a result; the file's extension picks the format (.csv or .json)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="cancel_export", tooltip="Back without saving"),
    ]

    def __init__(self, suggestion: Path, columns: list[str], rows: list[Any], total: int) -> None:
        super().__init__()
        self.suggestion, self.columns, self.rows, self.total = suggestion, columns, rows, total

    def compose(self) -> ComposeResult:
        cut = ""
        if self.total > len(self.rows):
            cut = f" (the first {len(self.rows):,} of {self.total:,}: the workbench keeps that many per statement)"
        with Vertical(id="export-dialog", classes="dialog"):
            yield Static(f"Save {len(self.rows):,} rows{cut} as CSV or JSON: the file name's ending decides.")
            yield Input(str(self.suggestion), id="export-path")
            yield Static("", id="export-problem", classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="export-save", variant="primary")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-save")
    def save(self) -> None:
        from tutor.sqlwork import write_result

        raw = self.query_one("#export-path", Input).value.strip()
        if not raw:
            self.query_one("#export-problem", Static).update("Type a file name first, e.g. result.csv")
            return
        path = Path(raw).expanduser()
        if path.suffix.lower() not in (".csv", ".json"):
            path = path.with_suffix(path.suffix + ".csv") if path.suffix else path.with_suffix(".csv")
        try:
            kind = write_result(path, self.columns, self.rows)
        except OSError as exc:
            self.query_one("#export-problem", Static).update(f"Could not write {path}: {exc.strerror or exc}")
            return
        self.app.notify(f"Saved {len(self.rows):,} rows as {kind.upper()}: {path}", title="Result saved", timeout=10)
        self.dismiss(path)

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
