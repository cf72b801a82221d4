"""The SQL workbench: write SQL with highlighting and completion, run all of it, the selection or the
statement under the cursor, read each statement's result in its own tab (a cell in full with Enter),
save a result as CSV or JSON, see the query plan (full scans marked in words), the schema and this
lesson's query history. The SQL typed for a step is kept for that step.

Mounted by the lesson screen as `SqlWorkbench(session)` as soon as the lesson opens, before the database
is ready (`session` is None then): the editor takes text at once, and Run waits for the database. The
screen calls `attach(session)` once the session runs. It uses only `session.sql` (a
`sandboxes.sql.sandbox.SqlSandbox`). SQL runs in a thread worker that posts `QueryRan`; Cancel interrupts
it from another worker; nothing here blocks the UI thread.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, OptionList, Static, Tab, TabbedContent, TabPane, Tabs, TextArea, Tree
from textual.widgets.text_area import Document

from tutor.app.keys import after_pending, focus_now
from tutor.keymap import keys
from tutor.sqlwork import SqlDrafts, complete, statement_at

RESULT_ROWS = 500
"""Rows put in the grid; the status line says how many there are in all."""
CELL_WIDTH = 60
"""Characters of a value shown in the grid; Enter on the cell shows all of it."""

HELP = """\
# SQL workbench
Type SQL in the editor. **{sql.run}** runs the selection, or everything (one statement or several,
separated by `;`); **{sql.run_statement}** runs only the statement under the cursor (or the selection).
**{sql.complete}** completes a keyword, table or column (from this lesson's schema). **{sql.select_all}**
selects everything, **{sql.clear}** clears the editor, **{sql.cancel}** stops a long query. **{reset_step}** puts
the database back to how this step started (when an earlier mistake is in the way).

*Results* has a tab per statement that ran; **Enter** on a row shows its values in full (the grid
cuts them at 60 characters); **{sql.export}** saves the result shown as CSV or JSON. **{next_tab}** shows the
next tab (Results, Plan, Schema, History) and focuses it; **{focus_workbench}** back to the editor,
**{focus_result}** to the results.

The *Plan* tab shows how SQLite runs your last query (`EXPLAIN QUERY PLAN`): **FULL SCAN** means it
reads every row of a table. *Schema* lists tables, columns and indexes; *History* holds the queries you
ran in this lesson (pick one to load it). What you type for a step is kept for that step. The database
is a real file: open it with `sqlite3` at the path shown at the top.
"""


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    text = str(value)
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def _document(editor: TextArea) -> Document:
    document = editor.document
    assert isinstance(document, Document)  # a plain-text or SQL editor: Textual's own Document
    return document


def _first_line(sql: str) -> str:
    line = " ".join(sql.split())
    return line if len(line) <= 24 else line[:23] + "…"


class SqlEditor(TextArea):
    """The SQL editor: Tab leaves it (keyboard-only learners must be able to get out), Ctrl+A selects all."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding(keys("sql.select_all"), "select_all", "Select all", id="sql.select_all", show=False,
                tooltip="Select everything in the editor"),
    ]  # fmt: skip


class SqlWorkbench(Vertical):
    """The lesson's SQL workbench."""

    HELP = HELP
    DEFAULT_CSS = """
    SqlWorkbench { height: 1fr; }
    SqlWorkbench #sql-path { height: 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    SqlWorkbench #sql-editor { height: 8; }
    SqlWorkbench #sql-status { height: auto; max-height: 3; padding: 0 1; }
    SqlWorkbench #sql-status.-error { color: $error; text-style: bold; }
    SqlWorkbench #sql-tabs { height: 1fr; min-height: 4; }
    SqlWorkbench #sql-statements { height: 1; }
    SqlWorkbench #sql-statements.-one { display: none; }
    SqlWorkbench DataTable, SqlWorkbench Tree, SqlWorkbench OptionList { height: 1fr; }
    SqlWorkbench #sql-complete {
        overlay: screen; constrain: inside inside; height: auto; max-height: 8; width: 40;
        border: round $accent; background: $surface; display: none;
    }
    """

    BINDINGS: ClassVar[list[Any]] = [
        # priority: Run, Clear and Complete are taken in order with the keys typed around them (keys.after_pending)
        Binding(keys("sql.run"), "run", "Run SQL", id="sql.run", priority=True,
                tooltip="Run the selection, or all the SQL"),
        # Ctrl+Enter reaches most terminals as Ctrl+J; F5-F8 belong to the lesson (check, hint, solution, next)
        Binding(keys("sql.run_statement"), "run_statement", "Run statement", show=False, id="sql.run_statement",
                priority=True, tooltip="Run the statement under the cursor (or the selection)"),
        Binding(keys("sql.complete"), "complete", "Complete", show=False, id="sql.complete", priority=True,
                tooltip="Complete a keyword, table or column from this lesson's schema"),
        Binding(keys("sql.cancel"), "cancel", "Cancel", id="sql.cancel", show=False, tooltip="Stop the running query"),
        Binding(keys("sql.clear"), "clear_editor", "Clear", id="sql.clear", show=False, priority=True,
                tooltip="Clear the SQL editor"),
        Binding(keys("sql.export"), "export", "Save result", id="sql.export", show=False,
                tooltip="Save the result shown as CSV or JSON"),
        # F4 (reset) belongs to the lesson screen: it resets the whole step, the database included
    ]  # fmt: skip

    @dataclass
    class QueryRan(Message):
        """A run finished (from the worker): the result, the plan of its last query, the schema after it."""

        workbench: SqlWorkbench
        sql: str
        result: Any
        plan: Any
        schema: list[Any]
        line: int  # the editor line the SQL that ran starts on

    @dataclass
    class RunFailed(Message):
        """The SQL sandbox itself failed while running the learner's SQL (not the SQL: the sandbox)."""

        workbench: SqlWorkbench
        reason: str

    @dataclass
    class SchemaRead(Message):
        workbench: SqlWorkbench
        schema: list[Any]

    def __init__(self, session: Any = None, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.session = session
        self.running = False
        self.format_elapsed: Callable[[float], str] = lambda seconds: f"{seconds * 1000:,.0f} ms"
        self.schema: list[Any] = []
        self.results: list[Any] = []  # the last run's statement results, one tab each
        self.shown: Any = None  # the statement result in the grid
        self._pending: tuple[str, int] | None = None  # SQL typed and run before the database was ready
        self._drafts: SqlDrafts | None = None
        self._step_id: str | None = None
        self._completion: tuple[int, int] | None = None  # (start, end) offsets the chosen completion replaces

    @property
    def sandbox(self) -> Any:
        return getattr(self.session, "sql", None)

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(self._path_text(), id="sql-path")
        # Tab moves focus (SQL needs no tab indentation): keyboard-only learners must be able to leave the editor
        editor = SqlEditor.code_editor("", language="sql", id="sql-editor", soft_wrap=True, tab_behavior="focus")
        editor.tooltip = "SQL: Ctrl+R runs it, Ctrl+J the statement under the cursor, Ctrl+Space completes"
        self._editor = editor  # kept: the draft is saved on unmount, after the children are gone
        yield editor
        yield Static("Type a query and press Ctrl+R to run it.", id="sql-status")
        with TabbedContent(id="sql-tabs"):
            with TabPane("Results", id="sql-tab-results"):
                yield Tabs(id="sql-statements", classes="-one")
                yield DataTable(id="sql-results", zebra_stripes=True, cursor_type="row")
            with TabPane("Plan", id="sql-tab-plan"):
                yield Tree("Run a SELECT to see its plan", id="sql-plan")
            with TabPane("Schema", id="sql-tab-schema"):
                yield Tree("Schema", id="sql-schema")
            with TabPane("History", id="sql-tab-history"):
                yield OptionList(id="sql-history")
        yield OptionList(id="sql-complete")

    def _path_text(self) -> str:
        sandbox = self.sandbox
        if sandbox is None:
            return "Database: being prepared. Type your SQL now; Run waits for the database."
        return f"sqlite3 {sandbox.path}"

    def on_mount(self) -> None:
        self.query_one("#sql-plan", Tree).root.expand()
        self.query_one("#sql-statements", Tabs).can_focus = False  # ←/→ on the grid's tab row via clicks
        if self.sandbox is not None:
            self.refresh_schema()
            self._load_history()

    def attach(self, session: Any) -> None:
        """The lesson database is ready: use it, and run what the learner asked to run meanwhile."""
        self.session = session
        self.query_one("#sql-path", Static).update(self._path_text())
        self.refresh_schema()
        self._load_history()
        if self._pending is not None:
            sql, line = self._pending
            self._pending = None
            self._start_run(sql, line)
        elif not self.running:
            self._status("The database is ready. Ctrl+R runs your SQL.")

    def preparing(self, what: str, fraction: float) -> None:
        """The database is being built: a run waiting for it says how far it has got."""
        if self._pending is not None:
            self._status(f"Runs as soon as the lesson database is ready: {what} ({fraction:.0%})")

    # -- where the learner types and reads (the lesson screen's focus keys) ------------------------
    @property
    def editor(self) -> TextArea:
        return self._editor

    def place_of(self, widget: Widget) -> str | None:
        if widget is self.editor:
            return "editor"
        if self.query_one("#sql-tabs") in widget.ancestors_with_self:
            return "result"
        return None

    def focus_result(self) -> None:
        self.query_one("#sql-tabs", TabbedContent).active = "sql-tab-results"
        focus_now(self.query_one("#sql-results", DataTable))

    # -- the learner's SQL per step ------------------------------------------------------------------
    def enter_step(self, step_id: str, drafts: SqlDrafts) -> None:
        """A step opens: keep what was typed for the step before, and put back what was typed for this one."""
        self.save_draft()
        self._drafts, self._step_id = drafts, step_id
        kept = drafts.get(step_id)
        if kept is not None and kept != self.editor.text:
            self.editor.text = kept
            self.editor.move_cursor(self.editor.document.end)

    def save_draft(self) -> None:
        if self._drafts is not None and self._step_id is not None:
            # a draft is a convenience: a full disk must not stop the learner's work
            with contextlib.suppress(OSError):
                self._drafts.save(self._step_id, self.editor.text)

    @on(TextArea.Changed, "#sql-editor")
    def _edited(self) -> None:
        self.hide_completion()
        if self._drafts is not None:
            self.set_timer(1.0, self.save_draft, name="sql-draft")

    def on_unmount(self) -> None:
        self.save_draft()

    # -- actions ---------------------------------------------------------------------------------
    def action_run(self) -> None:
        """The selection, else everything in the editor (once the editor has every key typed before)."""
        after_pending(self.editor, self._run_typed)

    def _run_typed(self) -> None:
        editor = self.editor
        selected = editor.selected_text
        if selected.strip():
            start = min(editor.selection.start, editor.selection.end)
            self._request_run(selected, start[0] + 1)
            return
        self._request_run(editor.text, 1)

    def action_run_statement(self) -> None:
        """The selection, else the statement the cursor is in."""
        after_pending(self.editor, self._run_statement_typed)

    def _run_statement_typed(self) -> None:
        editor = self.editor
        if editor.selected_text.strip():
            self._run_typed()
            return
        offset = _document(editor).get_index_from_location(editor.cursor_location)
        part = statement_at(editor.text, offset)
        if part is None:
            self._status("Nothing to run: type a query first.", error=True)
            return
        self._request_run(part.text, part.line)

    def _request_run(self, sql: str, line: int) -> None:
        if not sql.strip():
            self._status("Nothing to run: type a query first.", error=True)
            return
        if self.sandbox is None:
            self._pending = (sql, line)
            self._status("Runs as soon as the lesson database is ready (it is being prepared).")
            return
        self._start_run(sql, line)

    def _start_run(self, sql: str, line: int) -> None:
        self.running = True
        where = f" (from line {line})" if line > 1 else ""
        self._status(f"Running{where}... (F9 cancels)")
        self.save_draft()
        self._run(sql, line)

    def action_clear_editor(self) -> None:
        focus_now(self.editor)
        after_pending(self.editor, self._clear_editor)

    def _clear_editor(self) -> None:
        self.editor.text = ""
        focus_now(self.editor)

    def after_external_reset(self) -> None:
        """The lesson screen reset the step (F4): show the fresh database."""
        self.refresh_schema()
        self.call_later(self._show_results, [])
        self._clear_plan("The database was reset: run a query to see its plan.")
        self._status("The database is back to how this step started.")

    def _clear_plan(self, text: str) -> None:
        tree = self.query_one("#sql-plan", Tree)
        tree.clear()
        tree.root.set_label(text)

    def action_cancel(self) -> None:
        if self.sandbox is not None:
            self._cancel()

    # -- completion ---------------------------------------------------------------------------------
    def action_complete(self) -> None:
        after_pending(self.editor, self._complete)

    def _complete(self) -> None:
        editor = self.editor
        if self.app.focused is not editor:
            return
        offset = _document(editor).get_index_from_location(editor.cursor_location)
        prefix, found = complete(editor.text, offset, self.schema)
        if not found:
            self.notify("Nothing to complete here." if self.schema else "The schema is not read yet.")
            return
        if len(found) == 1:
            self._insert_completion(offset - len(prefix), offset, found[0])
            return
        self._completion = (offset - len(prefix), offset)
        menu = self.query_one("#sql-complete", OptionList)
        menu.clear_options()
        menu.add_options(found[:50])
        x, y = editor.cursor_screen_offset
        menu.styles.offset = (x, y + 1)
        menu.display = True
        menu.highlighted = 0
        focus_now(menu)

    def _insert_completion(self, start: int, end: int, word: str) -> None:
        editor = self.editor
        document = _document(editor)
        editor.replace(word, document.get_location_from_index(start), document.get_location_from_index(end))
        focus_now(editor)

    @on(OptionList.OptionSelected, "#sql-complete")
    def _completion_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        span = self._completion
        self.hide_completion()
        if span is not None:
            self._insert_completion(span[0], span[1], str(event.option.prompt))

    def hide_completion(self) -> None:
        menu = self.query_one("#sql-complete", OptionList)
        if menu.display:
            menu.display = False
            self._completion = None
            if self.app.focused is menu:
                focus_now(self.editor)

    def on_descendant_blur(self, event: Any) -> None:
        if getattr(event, "widget", None) is self.query_one("#sql-complete"):
            self.call_after_refresh(self._hide_unless_focused)

    def _hide_unless_focused(self) -> None:
        menu = self.query_one("#sql-complete", OptionList)
        if self.app.focused is not menu:
            menu.display = False

    def on_key(self, event: Any) -> None:
        menu = self.query_one("#sql-complete", OptionList)
        if menu.display and self.app.focused is menu and event.key in ("escape", "tab"):
            event.stop()
            event.prevent_default()
            if event.key == "tab":
                menu.action_select()
            else:
                self.hide_completion()

    # -- saving a result ------------------------------------------------------------------------------
    def action_export(self) -> None:
        shown = self.shown
        if shown is None or not shown.columns:
            self.notify("Run a SELECT first: there is no result to save.", severity="warning")
            return
        from tutor.app.widgets.sql_dialogs import ExportScreen

        number = self.results.index(shown) + 1 if shown in self.results else 1
        suggestion = Path.cwd() / f"result-{number}.csv"
        self.app.push_screen(ExportScreen(suggestion, shown.columns, shown.rows, shown.total_rows))

    @on(DataTable.RowSelected, "#sql-results")
    def _show_row(self, event: DataTable.RowSelected) -> None:
        """Enter on a row: every value of it in full (the grid cuts them at 60 characters)."""
        shown = self.shown
        row = event.cursor_row
        if shown is None or not shown.columns or not (0 <= row < len(shown.rows)):
            return
        from tutor.app.widgets.sql_dialogs import CellScreen

        self.app.push_screen(CellScreen(list(shown.columns), row + 1, list(shown.rows[row])))

    # -- workers (they post messages; the handlers below show what they found) -----------------------
    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
    def _run(self, sql: str, line: int) -> None:
        sandbox = self.sandbox
        try:
            result = sandbox.run_learner(sql)
        except Exception as exc:  # the sandbox itself failed: say so, never stay on "Running..."
            self.post_message(self.RunFailed(self, f"{exc}"))
            return
        sandbox.add_history(sql)
        plan = None
        target = result.last_rows
        if target is not None:
            from sandboxes.sql.guard import unwrap_explain
            from sandboxes.sql.plan import explain

            try:
                plan = explain(sandbox.connect(), unwrap_explain(target.statement.sql))
            except sqlite3.Error:
                plan = None
        self.post_message(self.QueryRan(self, sql, result, plan, self._read_schema(), line))

    @work(thread=True, group="sql-cancel", exit_on_error=False)
    def _cancel(self) -> None:
        self.sandbox.cancel()

    @work(thread=True, group="sql-schema", exit_on_error=False)
    def refresh_schema(self) -> None:
        if self.sandbox is None:
            return
        self.post_message(self.SchemaRead(self, self._read_schema()))

    def _read_schema(self) -> list[Any]:
        from sandboxes.sql.schema import read_schema

        try:
            return read_schema(self.sandbox.connect())
        except sqlite3.Error:
            return []

    # -- showing ---------------------------------------------------------------------------------
    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#sql-status", Static)
        # a failure is said in words (Error ...) and marked without colour too
        status.update(Text(("✗ " if error else "") + text))
        status.set_class(error, "-error")

    def on_sql_workbench_run_failed(self, message: RunFailed) -> None:
        self.running = False
        self._status(f"The statement could not run: {message.reason}", error=True)

    def on_sql_workbench_schema_read(self, message: SchemaRead) -> None:
        self._show_schema(message.schema)

    async def on_sql_workbench_query_ran(self, message: QueryRan) -> None:
        self.running = False
        result = message.result
        await self._show_results(result.statements)
        if result.last_rows is None and result.ok:
            self._clear_plan("The last run had no query to plan; run a SELECT to see its plan now.")
        error = result.describe_error()
        elapsed = self.format_elapsed(result.elapsed)
        shown = result.last_rows
        if error is not None:
            where = f" (the SQL run starts at line {message.line} of the editor)" if message.line > 1 else ""
            self._status(f"{error}{where}   [{elapsed}]", error=True)
        elif shown is not None and len(result.statements) == 1:
            self._status(f"{self._count(shown)} in {elapsed}{self._transaction_note()}")
        else:
            last = result.last
            changed = f"{_plural(last.changes, 'row')} changed" if last is not None and last.changes >= 0 else "Done"
            runs = len(result.statements)
            rows = f" Last result: {self._count(shown)}." if shown is not None else ""
            self._status(f"{changed}. {_plural(runs, 'statement')} in {elapsed}.{rows}{self._transaction_note()}")
        if message.plan is not None:
            self._show_plan(message.plan)
        self._show_schema(message.schema)
        self._load_history()
        from tutor.app.messages import WorkbenchActed

        first = result.statements[0].statement.sql.splitlines()[0] if result.statements else ""
        self.post_message(WorkbenchActed("sql", f"ran: {first[:60]}"))

    @staticmethod
    def _count(shown: Any) -> str:
        count = _plural(shown.total_rows, "row")
        if shown.total_rows > min(len(shown.rows), RESULT_ROWS):
            count += f" (the first {min(len(shown.rows), RESULT_ROWS):,} shown)"
        return count

    async def _show_results(self, statements: list[Any]) -> None:
        """One tab per statement that ran; the last one that returned rows in front."""
        self.results = list(statements)
        tabs = self.query_one("#sql-statements", Tabs)
        last = statements[-1] if statements else None
        front = next((s for s in reversed(statements) if s.returns_rows and s.ok), last)
        self._show_statement(front)
        await tabs.clear()
        for number, one in enumerate(statements, start=1):
            mark = "✗ " if not one.ok else ""
            await tabs.add_tab(Tab(f"{mark}{number} {_first_line(one.statement.sql)}", id=f"statement-{number}"))
        tabs.set_class(len(statements) <= 1, "-one")
        if front is not None:
            tabs.active = f"statement-{statements.index(front) + 1}"

    @on(Tabs.TabActivated, "#sql-statements")
    def _statement_picked(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab.id != event.tabs.active:
            return  # the first tab activating itself as it was added: the grid already shows the right one
        number = int((event.tab.id or "statement-0").removeprefix("statement-"))
        if 0 < number <= len(self.results) and self.results[number - 1] is not self.shown:
            self._show_statement(self.results[number - 1])

    def _show_statement(self, one: Any) -> None:
        """One statement's rows in the grid, or a line saying what it did. Column widths are measured here
        from the cells shown (not left to the grid, which measured them only once idle, so a first
        frame could show a cell cut at its header's width)."""
        self.shown = one
        table = self.query_one("#sql-results", DataTable)
        table.clear(columns=True)
        if one is None:
            return
        if one.returns_rows:
            cells = [[_cell(v) for v in row] for row in one.rows[:RESULT_ROWS]]
            for index, column in enumerate(one.columns):
                width = max([cell_len(str(column)), *(cell_len(row[index]) for row in cells)])
                table.add_column(str(column), width=width)
            table.add_rows(cells)
            return
        if not one.ok:
            line = f"This statement failed: {one.error}"
        elif one.changes > 0:
            line = f"{_plural(one.changes, 'row')} changed; run a SELECT to see the data as it is now."
        else:
            # rows shown from before an UPDATE or CREATE INDEX would be out of date: say so instead
            line = "The last run returned no rows; run a SELECT to see the data as it is now."
        table.add_column("(no rows)", width=cell_len(line))
        table.add_row(line)

    def _transaction_note(self) -> str:
        sandbox = self.sandbox
        if sandbox is not None and getattr(sandbox, "in_transaction", False):
            return "   · transaction open: COMMIT keeps it, ROLLBACK undoes it"
        return ""

    def _show_plan(self, plan: Any) -> None:
        tree = self.query_one("#sql-plan", Tree)
        tree.clear()
        scans = plan.full_scans()
        title = Text("Query plan")
        if scans:
            title.append(f"  {len(scans)} FULL SCAN{'S' if len(scans) > 1 else ''}", style="bold red")
        tree.root.set_label(title)

        def add(node: Any, step: Any) -> None:
            label = Text(step.label())
            if step.is_full_scan:
                label.stylize("bold red")
            elif step.op == "SEARCH":
                label.stylize("green")
            child = node.add(label, expand=True) if step.children else node.add_leaf(label)
            for inner in step.children:
                add(child, inner)

        for root in plan.roots:
            add(tree.root, root)
        tree.root.expand_all()

    def _show_schema(self, schema: list[Any]) -> None:
        self.schema = schema
        tree = self.query_one("#sql-schema", Tree)
        tree.clear()
        tree.root.set_label(f"Schema: {len(schema)} table{'s' if len(schema) != 1 else ''}")
        for table in schema:
            node = tree.root.add(Text(f"{table.name}", style="bold"), expand=False)
            for column in table.columns:
                flags = " PRIMARY KEY" if column.primary_key else ""
                flags += " NOT NULL" if column.not_null else ""
                node.add_leaf(f"{column.name}  {column.type}{flags}")
            for index in table.indexes:
                node.add_leaf(Text(f"{index.describe()}", style="cyan"))
        tree.root.expand()

    def _load_history(self) -> None:
        sandbox = self.sandbox
        options = self.query_one("#sql-history", OptionList)
        options.clear_options()
        if sandbox is None:
            return
        for sql in reversed(sandbox.history()):
            first = " ".join(sql.split())
            options.add_option(first if len(first) <= 100 else first[:97] + "...")
        notice = sandbox.take_history_notice()
        if notice:
            self.notify(notice, title="Query history", severity="warning", timeout=15)

    @on(OptionList.OptionSelected, "#sql-history")
    def _pick_history(self, event: OptionList.OptionSelected) -> None:
        items = list(reversed(self.sandbox.history())) if self.sandbox is not None else []
        if 0 <= event.option_index < len(items):
            self.editor.text = items[event.option_index]
            focus_now(self.editor)
