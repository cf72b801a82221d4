"""The SQL workbench: write SQL with highlighting, run it with one key, read the results, the query plan
(full scans marked in words), the schema and this lesson's query history.

Mounted by the lesson screen as `SqlWorkbench(session)` (see tutor/app/workbenches.py). It uses only
`session.sql` (a `sandboxes.sql.sandbox.SqlSandbox`). SQL runs in a thread worker; Cancel interrupts it
from another worker; nothing here blocks the UI thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, OptionList, Static, TabbedContent, TabPane, TextArea, Tree

RESULT_ROWS = 500
"""Rows put in the grid; the status line says how many there are in all."""

HELP = """\
# SQL workbench
Type SQL in the editor; **Ctrl+R** (or Ctrl+Enter) runs it: one statement or several, separated by `;`.
**Ctrl+L** clears the editor. **F9** stops a long query. **F4** puts the database back to how this step
started (when an earlier mistake is in the way).
**Ctrl+N** shows the next tab (Results, Plan, Schema, History) and focuses it; **Ctrl+O** back to the editor.

The *Plan* tab shows how SQLite runs your last query (`EXPLAIN QUERY PLAN`): **FULL SCAN** means it
reads every row of a table. The *Schema* tab lists tables, columns and indexes; *History* holds the
queries you ran in this lesson (pick one to load it). The database is a real file: open it with
`sqlite3` at the path shown at the top.
"""


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class SqlWorkbench(Vertical):
    """The lesson's SQL workbench."""

    HELP = HELP
    DEFAULT_CSS = """
    SqlWorkbench { height: 1fr; }
    SqlWorkbench #sql-path { height: 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    SqlWorkbench #sql-editor { height: 8; }
    SqlWorkbench #sql-status { height: auto; max-height: 3; padding: 0 1; }
    SqlWorkbench #sql-status.-error { color: $error; }
    SqlWorkbench #sql-tabs { height: 1fr; min-height: 4; }
    SqlWorkbench DataTable, SqlWorkbench Tree, SqlWorkbench OptionList { height: 1fr; }
    """

    BINDINGS: ClassVar[list[Any]] = [
        Binding("ctrl+r", "run", "Run SQL", id="sql.run", tooltip="Run the SQL in the editor"),
        # Ctrl+Enter reaches most terminals as Ctrl+J; F5-F8 belong to the lesson (check, hint, solution, next)
        Binding("ctrl+enter,ctrl+j", "run", "Run SQL", show=False, id="sql.run_alt", tooltip="Run the SQL"),
        Binding("f9", "cancel", "Cancel", id="sql.cancel", show=False, tooltip="Stop the running query"),
        Binding("ctrl+l", "clear_editor", "Clear", id="sql.clear", show=False, priority=True,
                tooltip="Clear the SQL editor"),
        # F4 (reset) belongs to the lesson screen: it resets the whole step, the database included
    ]  # fmt: skip

    def __init__(self, session: Any, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.session = session
        self.running = False
        self.format_elapsed: Callable[[float], str] = lambda seconds: f"{seconds * 1000:,.0f} ms"

    @property
    def sandbox(self) -> Any:
        return getattr(self.session, "sql", None)

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(self._path_text(), id="sql-path")
        # Tab moves focus (SQL needs no tab indentation): keyboard-only learners must be able to leave the editor
        editor = TextArea.code_editor("", language="sql", id="sql-editor", soft_wrap=True, tab_behavior="focus")
        editor.tooltip = "SQL: Ctrl+R or Ctrl+Enter runs it"
        yield editor
        yield Static("Type a query and press Ctrl+R to run it.", id="sql-status")
        with TabbedContent(id="sql-tabs"):
            with TabPane("Results", id="sql-tab-results"):
                yield DataTable(id="sql-results", zebra_stripes=True, cursor_type="row")
            with TabPane("Plan", id="sql-tab-plan"):
                yield Tree("Run a SELECT to see its plan", id="sql-plan")
            with TabPane("Schema", id="sql-tab-schema"):
                yield Tree("Schema", id="sql-schema")
            with TabPane("History", id="sql-tab-history"):
                yield OptionList(id="sql-history")

    def _path_text(self) -> str:
        sandbox = self.sandbox
        if sandbox is None:
            return "Database: preparing..."
        return f"sqlite3 {sandbox.path}"

    def on_mount(self) -> None:
        self.query_one("#sql-plan", Tree).root.expand()
        self.refresh_schema()
        self._load_history()

    # -- actions ---------------------------------------------------------------------------------
    def action_run(self) -> None:
        sql = self.query_one("#sql-editor", TextArea).text
        if not sql.strip():
            self._status("Nothing to run: type a query first.", error=True)
            return
        if self.sandbox is None:
            self._status("The lesson database is still being prepared.", error=True)
            return
        self.running = True
        self._status("Running... (F9 cancels)")
        self._run(sql)

    def action_clear_editor(self) -> None:
        editor = self.query_one("#sql-editor", TextArea)
        editor.text = ""
        editor.focus()

    def after_external_reset(self) -> None:
        """The lesson screen reset the step (F4): show the fresh database."""
        self.refresh_schema()
        self.query_one("#sql-results", DataTable).clear(columns=True)
        self._clear_plan("The database was reset: run a query to see its plan.")
        self._status("The database is back to how this step started.")

    def _clear_plan(self, text: str) -> None:
        tree = self.query_one("#sql-plan", Tree)
        tree.clear()
        tree.root.set_label(text)

    def action_cancel(self) -> None:
        if self.sandbox is not None:
            self._cancel()

    def action_reset_database(self) -> None:
        if self.sandbox is None:
            return
        self._status("Resetting the database...")
        self._reset()

    # -- workers ---------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
    def _run(self, sql: str) -> None:
        sandbox = self.sandbox
        try:
            result = sandbox.run_learner(sql)
        except Exception as exc:  # the sandbox itself failed: say so, never stay on "Running..."
            self.app.call_from_thread(self._run_failed, exc)
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
        schema = self._read_schema()
        self.app.call_from_thread(self._show, result, plan, schema)

    @work(thread=True, group="sql-cancel", exit_on_error=False)
    def _cancel(self) -> None:
        self.sandbox.cancel()

    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
    def _reset(self) -> None:
        self.sandbox.reset()
        schema = self._read_schema()
        self.app.call_from_thread(self._after_reset, schema)

    @work(thread=True, group="sql-schema", exit_on_error=False)
    def refresh_schema(self) -> None:
        if self.sandbox is None:
            return
        schema = self._read_schema()
        self.app.call_from_thread(self._show_schema, schema)

    def _read_schema(self) -> list[Any]:
        from sandboxes.sql.schema import read_schema

        try:
            return read_schema(self.sandbox.connect())
        except sqlite3.Error:
            return []

    # -- showing ---------------------------------------------------------------------------------
    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#sql-status", Static)
        status.update(Text(text))
        status.set_class(error, "-error")

    def _show(self, result: Any, plan: Any, schema: list[Any]) -> None:
        self.running = False
        table = self.query_one("#sql-results", DataTable)
        shown = result.last_rows
        if shown is not None:
            table.clear(columns=True)
            table.add_columns(*shown.columns)
            table.add_rows([_cell(v) for v in row] for row in shown.rows[:RESULT_ROWS])
        elif result.ok:
            # rows shown from before an UPDATE or CREATE INDEX would be out of date: say so instead
            table.clear(columns=True)
            table.add_column("(no rows)")
            table.add_row("The last run returned no rows; run a SELECT to see the data as it is now.")
            self._clear_plan("The last run had no query to plan; run a SELECT to see its plan now.")
        error = result.describe_error()
        elapsed = self.format_elapsed(result.elapsed)
        if error is not None:
            self._status(f"{error}   [{elapsed}]", error=True)
        elif shown is not None:
            count = _plural(shown.total_rows, "row")
            if shown.total_rows > min(len(shown.rows), RESULT_ROWS):
                count += f" (the first {min(len(shown.rows), RESULT_ROWS):,} shown)"
            self._status(f"{count} in {elapsed}{self._transaction_note()}")
        else:
            last = result.last
            changed = f"{_plural(last.changes, 'row')} changed" if last is not None and last.changes >= 0 else "Done"
            runs = len(result.statements)
            self._status(f"{changed}. {_plural(runs, 'statement')} in {elapsed}{self._transaction_note()}")
        if plan is not None:
            self._show_plan(plan)
        self._show_schema(schema)
        self._load_history()
        try:
            from tutor.app.messages import WorkbenchActed
        except ImportError:
            return
        first = result.statements[0].statement.sql.splitlines()[0] if result.statements else ""
        self.post_message(WorkbenchActed("sql", f"ran: {first[:60]}"))

    def _run_failed(self, exc: Exception) -> None:
        self.running = False
        self._status(f"The statement could not run: {exc}", error=True)

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

    def _after_reset(self, schema: list[Any]) -> None:
        self._show_schema(schema)
        self.query_one("#sql-results", DataTable).clear(columns=True)
        self._status("The database is back to how this step started.")
        self.notify("Database reset.")

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
            editor = self.query_one("#sql-editor", TextArea)
            editor.text = items[event.option_index]
            editor.focus()
