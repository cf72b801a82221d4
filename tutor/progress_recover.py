"""Recovering a damaged progress file: every row that can still be read goes into a fresh store.

Imported only when `tutor.progress` finds a file it cannot use. Two readers, on a copy of the file (and
its write-ahead log, applied first):

1. table by table through SQLite, in rowid order, stopping at the first error of each table;
2. page by page, by hand, for the tables SQLite could not read to the end: every table-leaf page that
   is not on the free list is decoded (SQLite's file format, https://sqlite.org/fileformat2.html) and
   each record is matched to a table by its number of columns (step_progress 11, position 4,
   settings 2), so rows under a damaged interior page are found too.

Values a row cannot have (a status this version does not know, text where a count belongs) are
repaired and counted; rows that still do not fit are counted as not kept. The notice says what was
kept, what was not, and where the original file now is.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tutor.files import scratch_prefix, set_aside

UNCOUNTED = {("settings", "written_by")}
"""Rows the tutor writes for itself: kept, but not counted in what the learner is told was kept."""
TABLE_LEAF = 13
INTERIOR_TABLE = 5
NOUNS = {
    "step_progress": ("step record", "step records"),
    "position": ("position", "positions"),
    "settings": ("setting", "settings"),
}


@dataclass
class Recovery:
    rows: dict[str, dict[int, dict[str, object]]] = field(default_factory=dict)
    """table -> rowid -> {column: value}: what was read."""
    unread_tables: dict[str, str] = field(default_factory=dict)
    """table -> SQLite's error, for tables SQLite could not read to the end."""
    damaged_pages: list[int] = field(default_factory=list)
    """Pages of the unread tables' B-trees that are not the table pages they should be."""
    pointer_pages: list[int] = field(default_factory=list)
    """Damaged pages that held no rows: the root of a table whose rows are on other pages."""
    roots: dict[str, int] = field(default_factory=dict)
    """table -> its root page, when the schema could be read."""
    header_damaged: bool = False


def columns_of(schema: str) -> dict[str, list[str]]:
    """Each table's columns, from the schema text itself (so a new column is known here by construction)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(schema)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
        return {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    finally:
        conn.close()


# -- reading through SQLite ------------------------------------------------------------------------------
def _read_with_sqlite(copy: Path, tables: dict[str, list[str]], found: Recovery) -> None:
    try:
        conn = sqlite3.connect(f"file:{copy}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        found.unread_tables.update({t: str(exc) for t in tables})
        return
    try:
        with contextlib.suppress(sqlite3.Error):  # the log's commits into the file the page reader reads
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            roots = dict(conn.execute("SELECT name, rootpage FROM sqlite_master WHERE type = 'table'").fetchall())
            present = set(roots)
            found.roots = {t: int(r) for t, r in roots.items() if t in tables and isinstance(r, int)}
        except sqlite3.Error as exc:  # the schema page itself: only the page reader can find rows
            found.unread_tables.update({t: str(exc) for t in tables})
            return
        for table in tables:
            if table not in present:
                continue
            rows = found.rows.setdefault(table, {})
            try:
                cursor = conn.execute(f"SELECT rowid AS _rowid_, * FROM {table} ORDER BY rowid")
                names = [d[0] for d in cursor.description]
                while batch := cursor.fetchmany(500):
                    for values in batch:
                        record = dict(zip(names, values, strict=True))
                        rows[int(record.pop("_rowid_"))] = record
            except sqlite3.Error as exc:
                found.unread_tables[table] = str(exc)
    finally:
        conn.close()


# -- reading page by page ---------------------------------------------------------------------------------
def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def _record(payload: bytes, encoding: str) -> list[object]:
    header_size, at = _varint(payload, 0)
    types: list[int] = []
    while at < header_size:
        kind, at = _varint(payload, at)
        types.append(kind)
    values: list[object] = []
    body = header_size
    for kind in types:
        if kind == 0:
            values.append(None)
        elif kind in (8, 9):
            values.append(kind - 8)
        elif 1 <= kind <= 6:
            size = (1, 2, 3, 4, 6, 8)[kind - 1]
            values.append(int.from_bytes(payload[body : body + size], "big", signed=True))
            body += size
        elif kind == 7:
            values.append(struct.unpack(">d", payload[body : body + 8])[0])
            body += 8
        elif kind >= 12:
            size = (kind - 12) // 2
            chunk = payload[body : body + size]
            values.append(chunk.decode(encoding) if kind % 2 else bytes(chunk))
            body += size
        else:
            raise ValueError(f"serial type {kind}")
        if body > len(payload):
            raise ValueError("record longer than its payload")
    return values


def _pages(data: bytes) -> Iterator[tuple[int, int, list[object]]]:
    """(page number, rowid, values) of every record on a table-leaf page not on the free list."""
    if len(data) < 100 or not data.startswith(b"SQLite format 3\x00"):
        return
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return
    usable = page_size - data[20]
    encoding = {1: "utf-8", 2: "utf-16-le", 3: "utf-16-be"}.get(int.from_bytes(data[56:60], "big"), "utf-8")
    count = len(data) // page_size
    free = _free_pages(data, page_size, count)

    def page(number: int) -> bytes:
        return data[(number - 1) * page_size : number * page_size]

    for number in range(1, count + 1):
        if number in free:
            continue
        raw = page(number)
        base = 100 if number == 1 else 0
        if raw[base] != TABLE_LEAF:
            continue
        try:
            cells = int.from_bytes(raw[base + 3 : base + 5], "big")
            for i in range(cells):
                offset = int.from_bytes(raw[base + 8 + 2 * i : base + 10 + 2 * i], "big")
                if not base + 8 <= offset < usable:
                    raise ValueError("cell outside its page")
                size, at = _varint(raw, offset)
                rowid, at = _varint(raw, at)
                if rowid >= 1 << 63:
                    rowid -= 1 << 64
                payload = _payload(raw, at, size, usable, page, count)
                yield number, rowid, _record(payload, encoding)
        except (ValueError, IndexError, UnicodeDecodeError, struct.error):
            continue  # a page that only looks like a table leaf; what it held is not readable


def _payload(raw: bytes, at: int, size: int, usable: int, page: Callable[[int], bytes], count: int) -> bytes:
    largest = usable - 35
    if size <= largest:
        return raw[at : at + size]
    least = ((usable - 12) * 32 // 255) - 23
    local = least + (size - least) % (usable - 4)
    if local > largest:
        local = least
    out = bytearray(raw[at : at + local])
    following = int.from_bytes(raw[at + local : at + local + 4], "big")
    seen: set[int] = set()
    while len(out) < size:
        if not 1 <= following <= count or following in seen:
            raise ValueError("broken overflow chain")
        seen.add(following)
        overflow = page(following)
        following = int.from_bytes(overflow[:4], "big")
        out += overflow[4:usable][: size - len(out)]
    return bytes(out)


def _free_pages(data: bytes, page_size: int, count: int) -> set[int]:
    free: set[int] = set()
    trunk = int.from_bytes(data[32:36], "big")
    while 1 <= trunk <= count and trunk not in free:
        free.add(trunk)
        raw = data[(trunk - 1) * page_size : trunk * page_size]
        leaves = int.from_bytes(raw[4:8], "big")
        for i in range(min(leaves, page_size // 4 - 2)):
            leaf = int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "big")
            if 1 <= leaf <= count:
                free.add(leaf)
        trunk = int.from_bytes(raw[:4], "big")
    return free


def _damaged_pages(data: bytes, roots: list[int]) -> list[int]:
    """Walk each table's B-tree from its root: the pages that should be table pages and are not."""
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return []
    count = len(data) // page_size
    bad: set[int] = set()
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        number = todo.pop()
        if number in seen or not 1 <= number <= count:
            continue
        seen.add(number)
        raw = data[(number - 1) * page_size : number * page_size]
        base = 100 if number == 1 else 0
        kind = raw[base]
        cells = int.from_bytes(raw[base + 3 : base + 5], "big")
        header = 12 if kind == INTERIOR_TABLE else 8
        pointers = [int.from_bytes(raw[base + header + 2 * i : base + header + 2 + 2 * i], "big") for i in range(cells)]
        if kind not in (INTERIOR_TABLE, TABLE_LEAF) or any(not base + header <= p < page_size - 4 for p in pointers):
            bad.add(number)
            continue
        if kind == INTERIOR_TABLE:
            todo.extend(int.from_bytes(raw[p : p + 4], "big") for p in pointers)
            todo.append(int.from_bytes(raw[base + 8 : base + 12], "big"))
    return sorted(bad)


def _read_pages(copy: Path, tables: dict[str, list[str]], found: Recovery) -> None:
    """Rows of the tables SQLite could not read to the end, from their pages."""
    widths = [len(columns) for columns in tables.values()]
    wanted = {  # a record is matched to a table by its width: only widths one table has
        len(columns): table
        for table, columns in tables.items()
        if table in found.unread_tables and widths.count(len(columns)) == 1
    }
    if not wanted:
        return
    try:
        data = copy.read_bytes()
    except OSError:
        return
    if not data.startswith(b"SQLite format 3\x00"):
        found.header_damaged = True
    else:
        found.damaged_pages = _damaged_pages(data, [found.roots[t] for t in found.unread_tables if t in found.roots])
    held: dict[str, set[int]] = {}  # table -> pages its rows were found on
    for number, rowid, values in _pages(data):
        table = wanted.get(len(values))
        if table is None:
            continue
        held.setdefault(table, set()).add(number)
        found.rows.setdefault(table, {}).setdefault(rowid, dict(zip(tables[table], values, strict=True)))
    # A damaged root of a table whose rows were found on other pages was an interior page: it held only
    # pointers to those pages, no rows, so nothing is missing because of it.
    found.pointer_pages = [
        page
        for page in found.damaged_pages
        if any(found.roots.get(table) == page and held.get(table, set()) - {page} for table in found.unread_tables)
    ]


# -- writing what was found -------------------------------------------------------------------------------
def _repair(table: str, row: dict[str, object], statuses: tuple[str, ...]) -> tuple[dict[str, object], str | None]:
    """The row with values it cannot have replaced, and what was repaired (None: nothing)."""
    fixed = dict(row)
    repaired: str | None = None
    if table == "step_progress":
        if fixed.get("status") not in statuses:
            repaired = f"a status this version does not know ({fixed.get('status')!r}), kept as started"
            fixed["status"] = "in_progress"
        for name in ("attempts", "hints_used", "solution_viewed"):
            value = fixed.get(name)
            if not isinstance(value, int):
                try:
                    fixed[name] = int(float(str(value)))
                except ValueError:
                    fixed[name] = 0
                repaired = repaired or f"a {name.replace('_', ' ')} that is not a number ({value!r})"
        now = time.time()
        for name in ("first_activity", "last_activity"):
            if not isinstance(fixed.get(name), int | float):
                fixed[name] = now
        if fixed.get("pack_version") is None:
            fixed["pack_version"] = ""
    return fixed, repaired


def write_store(
    found: Recovery, target: Path, schema: str, tables: dict[str, list[str]], statuses: tuple[str, ...], version: int
) -> tuple[dict[str, int], list[str], list[str]]:
    """Create `target` with `schema` and the rows found. Returns (rows kept per table, rows kept with a
    value repaired, rows not kept), the last two in words."""
    kept: dict[str, int] = {}
    repaired_rows: dict[tuple[str, str], int] = {}
    dropped_rows: dict[tuple[str, str], int] = {}
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("BEGIN")
        for statement in schema.split(";"):
            if statement.strip():
                conn.execute(statement)
        for table, columns in tables.items():
            insert = f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
            for row in found.rows.get(table, {}).values():
                fixed, repaired = _repair(table, row, statuses)
                try:
                    cursor = conn.execute(insert, [fixed.get(c) for c in columns])
                except sqlite3.Error as exc:
                    key = (table, f"that does not fit ({exc})")
                    dropped_rows[key] = dropped_rows.get(key, 0) + 1
                    continue
                if cursor.rowcount:
                    if (table, fixed.get("key")) not in UNCOUNTED:
                        kept[table] = kept.get(table, 0) + 1
                    if repaired:
                        key = (table, f"with {repaired}")
                        repaired_rows[key] = repaired_rows.get(key, 0) + 1
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    finally:
        conn.close()
    return kept, _counted(repaired_rows), _counted(dropped_rows)


def _counted(notes: dict[tuple[str, str], int]) -> list[str]:
    """["1 step record with ...", "2 step records that ..."]"""
    out = []
    for (table, detail), n in notes.items():
        one, many = NOUNS.get(table, (table, table))
        out.append(f"{n} {one if n == 1 else many} {detail}")
    return out


def recover(path: Path, reason: str, schema: str, statuses: tuple[str, ...], version: int) -> str:
    """Rebuild the progress file at `path` from what can be read of it; the original is set aside.
    Returns the notice for the learner."""
    tables = columns_of(schema)
    work = Path(tempfile.mkdtemp(prefix=scratch_prefix("progress-recovery"), dir=path.parent))
    try:
        copy = work / "damaged.db"
        found = Recovery()
        try:
            shutil.copyfile(path, copy)
            if Path(f"{path}-wal").is_file():
                shutil.copyfile(f"{path}-wal", f"{copy}-wal")
        except OSError as exc:
            found.unread_tables = {t: str(exc) for t in tables}
        else:
            _read_with_sqlite(copy, tables, found)
            _read_pages(copy, tables, found)
        fresh = work / "fresh.db"
        kept, repaired, dropped = write_store(found, fresh, schema, tables, statuses, version)
        aside = set_aside(path, sidecars=("-wal", "-shm"))
        shutil.move(str(fresh), str(path))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _notice(reason, kept, repaired, dropped, found, aside)


def _notice(
    reason: str, kept: dict[str, int], repaired: list[str], dropped: list[str], found: Recovery, aside: Path
) -> str:
    if not any(kept.values()):
        return (
            f"Your progress file could not be read ({reason}) and nothing in it was readable; it was set aside "
            f"as {aside} and a fresh one was started."
        )
    parts = [f"{n} {NOUNS[t][0] if n == 1 else NOUNS[t][1]}" for t, n in kept.items() if n and t in NOUNS]
    text = f"Your progress file was damaged ({reason}). Kept: {', '.join(parts)}."
    lost: list[str] = []
    if found.unread_tables:
        pages = [p for p in found.damaged_pages if p not in found.pointer_pages]
        if pages:
            listed = ", ".join(str(p) for p in pages[:5]) + (", ..." if len(pages) > 5 else "")
            lost.append(f"page {listed} of the file, so steps recorded only there are missing")
        elif not found.damaged_pages:
            lost.append("a damaged part of the file, so steps recorded only there are missing")
    if found.pointer_pages and not any(p not in found.pointer_pages for p in found.damaged_pages):
        listed = ", ".join(str(p) for p in found.pointer_pages)
        text += f" The damaged part (page {listed} of the file) only pointed to the others: nothing is missing."
    lost.extend(dropped)
    if lost:
        text += f" Could not read: {'; '.join(lost)}."
    if repaired:
        text += f" Repaired: {'; '.join(repaired)}."
    return f"{text} The damaged file is kept as {aside}."
