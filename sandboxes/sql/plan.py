"""Query plans: `EXPLAIN QUERY PLAN` rows -> a tree of steps that says what each step reads and how.

    plan = explain(conn, "SELECT * FROM books WHERE author_id = 7")
    plan.full_scans()            # [PlanStep(... 'SCAN books' ...)] before the index, [] after
    plan.index_uses("books")     # steps that read books through an index
    print(plan.render())         # the tree as text, full scans marked FULL SCAN

The detail text varies across SQLite versions ('SCAN t' since 3.36, 'SCAN TABLE t' before; an alias
instead of the table name; 'AUTOMATIC', 'PARTIAL', 'COVERING'), so it is parsed with one tolerant
pattern, and names are resolved to real tables with the schema (aliases through the index used, or the
FROM clause). Anything the pattern does not know stays a plain step with its text.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

_ACCESS = re.compile(
    r"^(?P<op>SCAN|SEARCH)\s+(?:TABLE\s+)?(?P<name>\"[^\"]+\"|\S+)"
    r"(?:\s+AS\s+(?P<alias>\S+))?"
    r"(?:\s+USING\s+(?:"
    r"(?P<ipk>INTEGER\s+PRIMARY\s+KEY)"
    r"|(?P<auto>AUTOMATIC\s+)?(?P<partial>PARTIAL\s+)?(?P<covering>COVERING\s+)?INDEX(?:\s+(?P<index>(?!\()\S+))?"
    r"))?"
    r"(?:\s*\((?P<cons>[^)]*)\))?",
    re.I,
)
_CONSTRAINT_COLUMN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*|\"[^\"]+\")\s*(?:=|>|<|>=|<=|IS|IN)", re.I)
_FROM_ALIAS = re.compile(
    r"\b(?:FROM|JOIN)\s+(?:\"([^\"]+)\"|([A-Za-z_][A-Za-z0-9_]*))(?:\s+(?:AS\s+)?(?!(?:WHERE|JOIN|ON|USING|"
    r"LEFT|RIGHT|INNER|OUTER|CROSS|NATURAL|GROUP|ORDER|LIMIT|UNION|EXCEPT|INTERSECT|WINDOW|HAVING|INDEXED|NOT)\b)"
    r"([A-Za-z_][A-Za-z0-9_]*))?",
    re.I,
)


_FRESH = itertools.count()


@dataclass
class PlanStep:
    id: int
    parent: int
    detail: str
    op: str = ""  # SCAN, SEARCH, or the step's first words ("USE TEMP B-TREE", "CO-ROUTINE", ...)
    name: str | None = None  # the table name or alias as the plan writes it
    table: str | None = None  # resolved real table, when known
    index: str | None = None
    covering: bool = False
    automatic: bool = False
    primary_key: bool = False  # USING INTEGER PRIMARY KEY (a rowid lookup)
    constraints: str | None = None  # "author_id=? AND year>?"
    index_text: str | None = None  # everything after INDEX: a quoted index name may hold spaces
    children: list[PlanStep] = field(default_factory=list)

    @property
    def is_access(self) -> bool:
        return self.op in ("SCAN", "SEARCH")

    @property
    def is_full_scan(self) -> bool:
        """Reads every row of a table, or every entry of an index (SCAN, with or without an index)."""
        return self.op == "SCAN" and self.name is not None and not self.name.startswith(("(", "CONSTANT"))

    @property
    def constraint_columns(self) -> list[str]:
        if not self.constraints:
            return []
        return [c.strip('"') for c in _CONSTRAINT_COLUMN.findall(self.constraints)]

    def label(self) -> str:
        """The detail plus a word for what it means: FULL SCAN, index search, ..."""
        if self.is_full_scan and self.index is None and not self.primary_key:
            return f"{self.detail}  <- FULL SCAN of {self.table or self.name}: reads every row"
        if self.is_full_scan:
            return f"{self.detail}  <- FULL SCAN of the index {self.index or ''}: reads every entry"
        if self.op == "SEARCH" and self.automatic:
            return f"{self.detail}  <- an index SQLite builds for this query only, then throws away"
        if self.op == "SEARCH":
            return f"{self.detail}  <- index search"
        if self.detail.upper().startswith("USE TEMP B-TREE"):
            return f"{self.detail}  <- sorts or groups in a temporary b-tree"
        return self.detail


@dataclass
class Plan:
    sql: str
    steps: list[PlanStep]  # every step, in plan order
    roots: list[PlanStep]

    def walk(self) -> Iterator[PlanStep]:
        yield from self.steps

    def full_scans(self, table: str | None = None) -> list[PlanStep]:
        return [
            s for s in self.steps if s.is_full_scan and (table is None or _same(s.table, table) or _same(s.name, table))
        ]

    def accesses(self, table: str) -> list[PlanStep]:
        return [s for s in self.steps if s.is_access and (_same(s.table, table) or _same(s.name, table))]

    def index_uses(self, table: str | None = None) -> list[PlanStep]:
        """Steps that seek into `table` with an index (or its integer primary key)."""
        return [
            s
            for s in self.steps
            if s.op == "SEARCH"
            and (s.index is not None or s.primary_key)
            and (table is None or _same(s.table, table) or _same(s.name, table))
        ]

    def render(self, *, labels: bool = True) -> str:
        lines: list[str] = []

        def visit(step: PlanStep, depth: int) -> None:
            lines.append("  " * depth + (step.label() if labels else step.detail))
            for child in step.children:
                visit(child, depth + 1)

        for root in self.roots:
            visit(root, 0)
        return "\n".join(lines) if lines else "(no plan)"


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


def parse_detail(step: PlanStep) -> PlanStep:
    """Fill the parsed fields of `step` from its detail text (tolerant: unknown text stays as it is)."""
    detail = step.detail.strip()
    match = _ACCESS.match(detail)
    if match is None:
        words = re.match(r"[A-Z][A-Z-]*(?:\s+[A-Z][A-Z-]*)*", detail)
        step.op = words.group(0) if words else detail
        return step
    step.op = match.group("op").upper()
    step.name = match.group("name").strip('"')
    if match.group("alias"):
        step.name = match.group("alias")
        step.table = match.group("name").strip('"')
    step.index = match.group("index")
    step.covering = bool(match.group("covering"))
    step.automatic = bool(match.group("auto"))
    step.primary_key = bool(match.group("ipk"))
    step.constraints = match.group("cons")
    if step.index is not None:
        rest = detail[match.start("index") :]
        tail = re.search(r"\s+\(([^)]*)\)$", rest)
        if tail is not None:
            rest = rest[: tail.start()]
            step.constraints = step.constraints or tail.group(1)
        step.index_text = rest
    return step


def parse_rows(sql: str, rows: list[tuple[int, int, int, str]]) -> Plan:
    """Build the tree from `EXPLAIN QUERY PLAN` rows (id, parent, notused, detail)."""
    steps = [parse_detail(PlanStep(int(r[0]), int(r[1]), str(r[3]))) for r in rows]
    by_id = {s.id: s for s in steps}
    roots: list[PlanStep] = []
    for step in steps:
        parent = by_id.get(step.parent)
        if parent is not None and parent is not step:
            parent.children.append(step)
        else:
            roots.append(step)
    return Plan(sql, steps, roots)


def aliases(sql: str) -> dict[str, str]:
    """alias -> table from the FROM/JOIN clauses of `sql` (a heuristic; good for the common forms)."""
    out: dict[str, str] = {}
    for quoted, bare, alias in _FROM_ALIAS.findall(sql):
        table = quoted or bare
        if alias:
            out[alias.lower()] = table
        out.setdefault(table.lower(), table)
    return out


def resolve_tables(plan: Plan, conn: sqlite3.Connection) -> Plan:
    """Set `table` on each access step: the name itself if it is a table, else the index's table, else
    the alias from the FROM clause."""
    tables = {
        row[0].lower(): row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')")
    }
    index_tables = {
        row[0].lower(): row[1] for row in conn.execute("SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index'")
    }
    alias_map = aliases(plan.sql)
    for step in plan.steps:
        if not step.is_access or step.name is None:
            continue
        if step.index is not None and step.index.lower() not in index_tables and step.index_text:
            # `USING INDEX books by author (author_id=?)`: the longest run of words that names an index
            words = step.index_text.split(" ")
            named = (" ".join(words[:n]) for n in range(len(words), 0, -1))
            step.index = next((n for n in named if n.lower() in index_tables), step.index)
        if step.table is None and step.name.lower() not in tables and "." in step.name:
            schema, _, bare = step.name.partition(".")  # `FROM main.books` plans as `SCAN main.books`
            if schema.lower() in ("main", "temp") and bare.lower() in tables:
                step.table = tables[bare.lower()]
                continue
        if step.table is not None:
            step.table = tables.get(step.table.lower(), step.table)
            continue
        if step.name.lower() in tables:
            step.table = tables[step.name.lower()]
        elif step.index and step.index.lower() in index_tables:
            step.table = index_tables[step.index.lower()]
        elif step.name.lower() in alias_map:
            step.table = alias_map[step.name.lower()]
    return plan


def refresh_schema(conn: sqlite3.Connection) -> None:
    """Make `conn` see schema changes made by other connections (an index the learner just created).

    EXPLAIN QUERY PLAN is planned with the connection's cached schema and never checks whether another
    connection changed it; reading sqlite_schema in a statement that runs does check, and reloads it."""
    conn.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()


def explain(conn: sqlite3.Connection, sql: str) -> Plan:
    """The plan of `sql` on `conn`, with table names resolved. Raises sqlite3.Error if it does not prepare."""
    refresh_schema(conn)
    # The plan is made when the statement is prepared, and Python's statement cache would hand back a
    # stale one after a CREATE INDEX elsewhere: a unique trailing comment makes it prepare afresh.
    rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}\n-- plan {next(_FRESH)}").fetchall()
    return resolve_tables(parse_rows(sql, rows), conn)


def index_columns(conn: sqlite3.Connection, index: str) -> list[str]:
    """The key columns of an index, in order ('<expr>' for an expression)."""
    rows = conn.execute("SELECT seqno, name FROM pragma_index_info(?) ORDER BY seqno", (index,)).fetchall()
    return [name if name is not None else "<expr>" for _, name in rows]


def integer_primary_key(conn: sqlite3.Connection, table: str) -> str | None:
    """The column that is the table's rowid (INTEGER PRIMARY KEY), if any."""
    rows = conn.execute("SELECT name, type, pk FROM pragma_table_info(?)", (table,)).fetchall()
    keys = [r for r in rows if r[2]]
    if len(keys) == 1 and str(keys[0][1]).upper() == "INTEGER":
        return str(keys[0][0])
    return None


def step_columns(conn: sqlite3.Connection, step: PlanStep) -> list[str]:
    """The columns the step's index is on (or the rowid column for a primary-key search)."""
    if step.index is not None and not step.automatic:
        return index_columns(conn, step.index)
    if step.primary_key and step.table is not None:
        key = integer_primary_key(conn, step.table)
        return [key] if key else ["rowid"]
    return step.constraint_columns
