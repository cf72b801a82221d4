"""Load a pack folder: read every YAML file, validate it, check what spans files, and report *every*
problem with its `FILE:LINE:COL`. Nothing in a pack is executed; YAML is read with the safe loader."""

from __future__ import annotations

import difflib
import gc
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tutor import __version__
from tutor.pack.actions import Action, SqlStep
from tutor.pack.checks import CODE_KINDS, CONCEPT_KINDS, HTTP_KINDS, SQL_KINDS, AllCheck, CheckSpec, iter_kinds
from tutor.pack.errors import PackLoadError, PackProblem
from tutor.pack.models import Lesson, PackManifest, Step, version_tuple
from tutor.pack.parse_cache import MISSING, ParseCache
from tutor.pack.specs_concept import ChoiceCheck, NumberCheck
from tutor.pack.specs_own_tests import CodeOwnTestsCheck
from tutor.pack.validation import problems_from_validation
from tutor.pack.yamlpos import Located, YamlProblem, load_located, load_unplaced
from tutor.pack.yamlpos import Path as DataPath

MANIFEST = "pack.yaml"
MAX_YAML_BYTES = 1024 * 1024
LESSON_SUFFIXES = (".yaml", ".yml")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class LessonFile:
    """A validated lesson and where it came from."""

    lesson: Lesson
    path: str  # relative to the pack root, '/'-separated
    source: Located = field(repr=False, compare=False)

    def line_of(self, *data_path: str | int) -> int:
        return self.source.key_pos(tuple(data_path)).line

    def step_line(self, step_index: int) -> int:
        return self.source.value_pos(("steps", step_index)).line


@dataclass(frozen=True)
class Pack:
    root: Path
    manifest: PackManifest
    lessons: tuple[LessonFile, ...]  # in track order, then file-name order

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def title(self) -> str:
        return self.manifest.title

    @property
    def version(self) -> str:
        return self.manifest.version

    def lesson_file(self, lesson_id: str) -> LessonFile | None:
        for entry in self.lessons:
            if entry.lesson.id == lesson_id:
                return entry
        return None

    def lesson(self, lesson_id: str) -> Lesson | None:
        entry = self.lesson_file(lesson_id)
        return entry.lesson if entry else None

    def lessons_in(self, track_id: str) -> list[Lesson]:
        return [entry.lesson for entry in self.lessons if entry.lesson.track == track_id]


@dataclass
class PackLoad:
    root: Path
    pack: Pack | None
    problems: list[PackProblem]

    @property
    def errors(self) -> list[PackProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[PackProblem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.pack is not None and not self.errors


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def read_yaml_file(path: Path, rel: str, cache: ParseCache | None = None) -> tuple[Located | None, list[PackProblem]]:
    """Read one YAML file with size, encoding and syntax checks. With a cache, bytes read cleanly before
    are not parsed again (their positions are, if a problem needs one)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return None, [PackProblem(rel, 1, 1, f"cannot read the file: {exc.strerror}")]
    if size > MAX_YAML_BYTES:
        return None, [
            PackProblem(
                rel,
                1,
                1,
                f"the file is {size / 1024 / 1024:.1f} MiB; a pack's YAML files may be at most "
                f"{MAX_YAML_BYTES // 1024} KiB (put big data in SQL scripts or generated tables)",
            )
        ]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [PackProblem(rel, 1, 1, f"cannot read the file: {exc.strerror}")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [PackProblem(rel, line, col, "the file is not UTF-8 text")]
    key = ""
    if cache is not None:
        key = cache.key(raw)
        data = cache.get(key)
        if data is not MISSING:
            return Located.unplaced(data, text), []
    try:
        # With a cache (the CLI, the app), positions are read only if a problem needs one; without,
        # as the reference every test compares the cached reading with (tests/pack/test_parse_cache.py).
        located = load_unplaced(text) if cache is not None else load_located(text)
    except YamlProblem as problem:
        return None, [PackProblem(rel, problem.pos.line, problem.pos.col, problem.message)]
    if cache is not None and located.plain and not located.duplicate_keys:
        cache.put(key, located.data)
    problems = [
        PackProblem(
            rel,
            pos.line,
            pos.col,
            f"key '{path[-1]}' is given twice (first at line {first.line}); only one may stay",
        )
        for path, pos, first in located.duplicate_keys
    ]
    return located, problems


def validate_as(model: type[M], located: Located, rel: str) -> tuple[M | None, list[PackProblem]]:
    if not isinstance(located.data, dict):
        from tutor.pack.validation import describe

        what = "an empty file" if located.data is None else describe(located.data)
        return None, [PackProblem(rel, 1, 1, f"expected a mapping of keys at the top of the file, got {what}")]
    try:
        return model.model_validate(located.data), []
    except ValidationError as exc:
        return None, problems_from_validation(exc, located, model, rel)


def _problem(rel: str, located: Located, path: DataPath, message: str, *, key: bool = False) -> PackProblem:
    pos = located.key_pos(path) if key else located.value_pos(path)
    return PackProblem(rel, pos.line, pos.col, message)


def _lesson_files(
    root: Path, track_ids: list[str], manifest_src: Located | None
) -> tuple[list[Path], list[PackProblem]]:
    files: list[Path] = []
    problems: list[PackProblem] = []
    by_track = {t: root / t for t in track_ids}
    for _track_id, folder in by_track.items():
        if not folder.is_dir():
            continue
        files.extend(sorted(p for p in folder.iterdir() if p.suffix in LESSON_SUFFIXES and p.is_file()))
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix in LESSON_SUFFIXES and entry.name != MANIFEST:
            problems.append(
                PackProblem(entry.name, 1, 1, "lesson files live in a folder named after their track, not at the top")
            )
        if entry.is_dir() and entry.name not in by_track:
            stray = sorted(p for p in entry.iterdir() if p.suffix in LESSON_SUFFIXES and p.is_file())
            for path in stray:
                hint = difflib.get_close_matches(entry.name, track_ids, n=1)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                problems.append(
                    PackProblem(
                        _rel(root, path),
                        1,
                        1,
                        f"folder '{entry.name}' is not a track in pack.yaml{suggestion}; "
                        f"tracks: {', '.join(track_ids)}",
                    )
                )
    return files, problems


CODE_COLUMNS = 73
"""A code block's line wider than this is cut in the lesson text at 80 columns (a terminal of 80x24, the
step list hidden): the rest is only seen by scrolling sideways, which a learner rarely knows to do."""


def _wide_code_lines(entry_rel: str, located: Located, step: Step, base: DataPath) -> list[PackProblem]:
    """A warning for each line of a fenced code block, in the step's text, task or explanation, that is
    wider than an 80-column terminal shows."""
    found: list[PackProblem] = []
    for name in ("text", "task", "explanation"):
        value = getattr(step, name, None)
        if not isinstance(value, str) or "```" not in value:
            continue
        fenced = False
        for number, line in enumerate(value.splitlines()):
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif fenced and len(line) > CODE_COLUMNS:
                # positions only now: placing a file's marks is most of what a clean load would cost
                key = located.key_pos((*base, name))
                start = located.value_pos((*base, name))
                found.append(
                    PackProblem(
                        entry_rel,
                        start.line + 1 + number,  # a block scalar's text starts on the line after its `|`
                        key.col + 2 + CODE_COLUMNS,
                        f"this line of a code block is {len(line)} characters wide: an 80-column terminal "
                        f"shows its first {CODE_COLUMNS}; break it (a learner rarely scrolls sideways)",
                        severity="warning",
                    )
                )
    return found


def _check_step(entry_rel: str, located: Located, lesson: Lesson, index: int, step: Step) -> list[PackProblem]:
    problems: list[PackProblem] = []
    base: DataPath = ("steps", index)

    def walk(check: CheckSpec, path: DataPath) -> None:
        kind_path = (*path, "kind")
        if check.kind in SQL_KINDS and lesson.sandboxes.sql is None:
            problems.append(
                _problem(
                    entry_rel,
                    located,
                    kind_path,
                    f"check kind '{check.kind}' needs the lesson's SQL sandbox: add `sandboxes: sql:`",
                )
            )
        if check.kind in HTTP_KINDS and lesson.sandboxes.api is None:
            problems.append(
                _problem(
                    entry_rel,
                    located,
                    kind_path,
                    f"check kind '{check.kind}' needs the lesson's API sandbox: add `sandboxes: api:`",
                )
            )
        if check.kind in CODE_KINDS and lesson.build is None:
            problems.append(
                _problem(
                    entry_rel,
                    located,
                    kind_path,
                    f"check kind '{check.kind}' runs the learner's code: the lesson needs `build:` with its "
                    "starter files",
                )
            )
        if check.kind == "code_http":
            upstreams = [u.name for u in lesson.sandboxes.api.upstreams] if lesson.sandboxes.api else []
            for i, probe in enumerate(getattr(check, "steps", [])):
                wanted = probe.upstream.name if probe.upstream is not None else None
                if wanted is not None and wanted not in upstreams:
                    known = f"its upstreams are {', '.join(upstreams)}" if upstreams else "it declares none"
                    problems.append(
                        _problem(
                            entry_rel,
                            located,
                            (*path, "steps", i, "upstream", "name"),
                            f"no upstream '{wanted}' in this lesson's `sandboxes.api.upstreams`: {known}",
                        )
                    )
                if probe.webhook is not None and (
                    lesson.sandboxes.api is None or lesson.sandboxes.api.webhooks is None
                ):
                    problems.append(
                        _problem(
                            entry_rel,
                            located,
                            (*path, "steps", i, "webhook"),
                            "a `webhook` step is signed with the lesson's secret: add `sandboxes.api.webhooks` "
                            "with a `secret`",
                            key=True,
                        )
                    )
        if isinstance(check, AllCheck):
            for i, inner in enumerate(check.checks):
                walk(inner, (*path, "checks", i))

    walk(step.check, (*base, "check"))
    problems.extend(_wide_code_lines(entry_rel, located, step, base))
    concept = step.check.kind in CONCEPT_KINDS
    actions: list[tuple[str, Action, DataPath]] = [
        ("solution", step.solution, (*base, "solution")),
        *((f"wrong answer {i + 1}", wrong, (*base, "wrong_answers", i)) for i, wrong in enumerate(step.wrong_answers)),
        *((f"alternative {i + 1}", alt, (*base, "alternatives", i)) for i, alt in enumerate(step.alternatives)),
    ]
    for label, action, path in actions:
        must_fail = label.startswith("wrong")
        judged = set(iter_kinds(step.check)) - {"all"}
        # An HTTP request can change the database that `sql_state` reads; every other SQL kind reads
        # the learner's own statements, so it needs `sql`.
        reaches_state = bool(action.requests) and judged <= {"sql_state"}
        if judged and judged <= SQL_KINDS and not action.runs_sql and not reaches_state:
            problems.append(
                _problem(
                    entry_rel,
                    located,
                    path,
                    f"the {label} needs `sql`: a '{step.check.kind}' check judges the learner's SQL and the "
                    "database, so an action without `sql` cannot "
                    + ("show that the check rejects this mistake" if must_fail else "pass it"),
                )
            )
        if judged and judged <= {"http_traffic", "http_flow"} and not action.http_requests:
            problems.append(
                _problem(
                    entry_rel,
                    located,
                    path,
                    f"the {label} needs `requests`: a '{step.check.kind}' check judges the requests the learner "
                    "sent, so an action without `requests` cannot "
                    + ("show that the check rejects this mistake" if must_fail else "pass it"),
                )
            )
        if concept and action.answer is None:
            problems.append(
                _problem(
                    entry_rel,
                    located,
                    path,
                    f"the {label} needs `answer`: a '{step.check.kind}' check judges what the learner types",
                )
            )
        if action.runs_sql and lesson.sandboxes.sql is None:
            problems.append(
                _problem(
                    entry_rel,
                    located,
                    (*path, "sql" if action.sql is not None else "requests"),
                    f"the {label} runs SQL, but the lesson has no SQL sandbox",
                    key=True,
                )
            )
        if action.wait is not None and lesson.sandboxes.api is None:
            problems.append(
                _problem(
                    entry_rel,
                    located,
                    (*path, "wait"),
                    f"the {label} waits on the lesson clock, but only an API sandbox has one",
                    key=True,
                )
            )
        if action.requests and lesson.sandboxes.api is None:
            problems.append(
                _problem(
                    entry_rel,
                    located,
                    (*path, "requests"),
                    f"the {label} sends requests, but the lesson has no API sandbox",
                    key=True,
                )
            )
        if action.files is not None and lesson.build is None:
            problems.append(
                _problem(
                    entry_rel,
                    located,
                    (*path, "files"),
                    f"the {label} gives files, but the lesson has no `build:` workspace",
                    key=True,
                )
            )
        check = step.check
        if isinstance(check, ChoiceCheck) and action.answer is not None:
            picked = action.answer if isinstance(action.answer, list) else [action.answer]
            options = [o.id for o in check.options]
            for value in picked:
                if str(value) not in options:
                    problems.append(
                        _problem(
                            entry_rel,
                            located,
                            (*path, "answer"),
                            f"the {label} picks '{value}', which is not an option ({', '.join(options)})",
                        )
                    )
            if not check.multiple and isinstance(action.answer, list):
                problems.append(
                    _problem(
                        entry_rel, located, (*path, "answer"), f"the {label} is a list, but the check is single choice"
                    )
                )
        if isinstance(check, NumberCheck) and action.answer is not None:
            try:
                float(str(action.answer))
            except ValueError:
                problems.append(
                    _problem(entry_rel, located, (*path, "answer"), f"the {label} is not a number: {action.answer!r}")
                )
    return problems


def _check_renamed_steps(entry: LessonFile) -> list[PackProblem]:
    problems: list[PackProblem] = []
    ids = [step.id for step in entry.lesson.steps]
    for old, new in entry.lesson.renamed.items():
        if new not in ids:
            hint = difflib.get_close_matches(new, ids, n=1)
            problems.append(
                _problem(
                    entry.path,
                    entry.source,
                    ("renamed", old),
                    f"renamed: '{old}' -> '{new}', but this lesson has no step '{new}'"
                    + (f" (did you mean '{hint[0]}'?)" if hint else ""),
                )
            )
        if old in ids:
            problems.append(
                _problem(
                    entry.path,
                    entry.source,
                    ("renamed", old),
                    f"renamed: '{old}' is still a step of this lesson; list only ids that are gone",
                    key=True,
                )
            )
    return problems


_REAL_ROOTS: dict[Path, Path] = {}  # the pack folder's real path, found once per load (see _load_pack)


def _real_root(root: Path) -> Path:
    found = _REAL_ROOTS.get(root)
    if found is None:
        found = _REAL_ROOTS[root] = root.resolve()
    return found


def _pack_file_problem(
    root: Path, entry: LessonFile, value: str, path: DataPath, *, folder: bool = False
) -> PackProblem | None:
    # os.path on strings: the same real path as Path.resolve, at a third of the cost on a big pack
    real_root = str(_real_root(root))
    target = os.path.realpath(os.path.join(root, value))
    what = "folder" if folder else "file"
    if target != real_root and not target.startswith(real_root.rstrip(os.sep) + os.sep):
        return _problem(entry.path, entry.source, path, f"'{value}' points outside the pack folder")
    if not (os.path.isdir(target) if folder else os.path.isfile(target)):
        return _problem(
            entry.path, entry.source, path, f"{what} not found: '{value}' (paths are relative to the pack folder)"
        )
    return None


def _build_problems(root: Path, entry: LessonFile) -> list[PackProblem]:
    """Files a build-it lesson names: the starter folder (with the app module and the file to open), each
    solution's and wrong answer's `files` folder, each `code_tests` file, each `code_own_tests` folder."""
    lesson = entry.lesson
    found: list[PackProblem | None] = []
    build = lesson.build
    if build is not None:
        problem = _pack_file_problem(root, entry, build.starter, ("build", "starter"), folder=True)
        found.append(problem)
        if problem is None:
            module_file = build.module.replace(".", "/") + ".py"
            for name, key in ((module_file, "module"), (build.open, "open")):
                if not (root / build.starter / name).is_file():
                    found.append(
                        _problem(
                            entry.path,
                            entry.source,
                            ("build", key),
                            f"the starter folder '{build.starter}' has no '{name}'",
                        )
                    )

    if build is not None:
        found.extend(_env_problems(entry))

    def walk(check: CheckSpec, path: DataPath) -> None:
        tests = getattr(check, "tests", None)
        if check.kind == "code_tests" and isinstance(tests, str):
            found.append(_pack_file_problem(root, entry, tests, (*path, "tests")))
        if isinstance(check, CodeOwnTestsCheck):
            found.append(_pack_file_problem(root, entry, check.reference, (*path, "reference"), folder=True))
            for i, bug in enumerate(check.bugs):
                found.append(_pack_file_problem(root, entry, bug.files, (*path, "bugs", i, "files"), folder=True))
        if isinstance(check, AllCheck):
            for i, inner in enumerate(check.checks):
                walk(inner, (*path, "checks", i))

    for index, step in enumerate(lesson.steps):
        walk(step.check, ("steps", index, "check"))
        actions: list[tuple[DataPath, Any]] = [(("steps", index, "solution"), step.solution)]
        actions += [(("steps", index, "wrong_answers", i), w) for i, w in enumerate(step.wrong_answers)]
        actions += [(("steps", index, "alternatives", i), a) for i, a in enumerate(step.alternatives)]
        for path, action in actions:
            if action.files is not None:
                found.append(_pack_file_problem(root, entry, action.files, (*path, "files"), folder=True))
    return [p for p in found if p is not None]


def _env_problems(entry: LessonFile) -> list[PackProblem]:
    """`{{NAME}}` in a `build.env` value must be a value the lesson's sandboxes have: `api_url`, `log_path`
    (with `logs`), `upstream_url_NAME` (one of its `upstreams`)."""
    lesson = entry.lesson
    assert lesson.build is not None
    api = lesson.sandboxes.api
    known: list[str] = []
    if api is not None:
        known.append("api_url")
        if api.logs is not None:
            known.append("log_path")
        known += [f"upstream_url_{u.name}" for u in api.upstreams]
        if api.webhooks is not None:
            known.append("webhook_secret")
    problems = []
    for name, value in lesson.build.env.items():
        for placeholder in re.findall(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}", value):
            if placeholder in known:
                continue
            if placeholder == "db_path":
                why = "the app gets a fresh copy of the lesson database of its own: its path is in BACKEND_TUTOR_DB"
            elif known:
                why = f"this lesson's sandboxes have {', '.join('{{' + k + '}}' for k in known)}"
            else:
                why = "this lesson has no sandbox API, whose values these are"
            problems.append(
                _problem(entry.path, entry.source, ("build", "env", name), f"'{{{{{placeholder}}}}}' is unknown: {why}")
            )
    return problems


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _in_value(root: Path, entry: LessonFile, path: DataPath, value: str, offset: int, token: str) -> tuple[int, int]:
    """Where, in the lesson file, the `token` found at `offset` of the YAML text value at `path` is
    written: the same occurrence of the token (counted from the value's start) inside the value's span
    in the file. Falls back to where the value starts (a token YAML wrote with escapes)."""
    start = entry.source.value_pos(path)
    end = entry.source.end_pos(path)
    try:
        text = (root / entry.path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return start.line, start.col
    lines = text.splitlines(keepends=True)

    def index_of(line: int, col: int) -> int:
        return sum(len(x) for x in lines[: line - 1]) + col - 1

    begin = index_of(start.line, start.col)
    finish = index_of(end.line, end.col) if end is not None else len(text)
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(token)}(?![A-Za-z0-9_])", re.I)
    nth = len(pattern.findall(value, 0, offset))
    for number, match in enumerate(pattern.finditer(text, begin, max(finish, begin))):
        if number == nth:
            return _line_col(text, match.start())
    return start.line, start.col


def _sql_guard_problems(root: Path, entry: LessonFile) -> list[PackProblem]:
    """SQL of the pack that the guard would refuse when it runs, reported where it is written: the setup
    `sql` and `scripts` (run while the lesson database is built), the `sql` of solutions, wrong answers
    and alternatives (run on the learner's guarded connection) and check queries (the tutor's own)."""
    from sandboxes.sql.scan import refusals

    lesson = entry.lesson
    texts: list[tuple[DataPath, str, str]] = []  # (where in the file, SQL, whose rules)
    settings = lesson.sandboxes.sql
    if settings is not None and settings.sql:
        texts.append((("sandboxes", "sql", "sql"), settings.sql, "setup"))
    api = lesson.sandboxes.api
    for i, kind in enumerate(api.jobs.kinds if api is not None and api.jobs is not None else []):
        for key in ("sql", "result_sql"):  # the job worker's SQL: the learner's rules (writes, no ATTACH)
            if getattr(kind, key):
                texts.append((("sandboxes", "api", "jobs", "kinds", i, key), getattr(kind, key), "learner"))

    def walk(check: CheckSpec, path: DataPath) -> None:
        # checks that try statements on the learner's connection (a trial) use its rules; the others read
        rules = "learner" if check.kind in _TRIAL_KINDS else "tutor"
        texts.extend((where, sql, rules) for where, sql in _sql_fields(check, path))
        if isinstance(check, AllCheck):
            for i, inner in enumerate(check.checks):
                walk(inner, (*path, "checks", i))

    for index, step in enumerate(lesson.steps):
        walk(step.check, ("steps", index, "check"))
        actions: list[tuple[DataPath, Action]] = [(("steps", index, "solution"), step.solution)]
        # a wrong answer declared to fail before the check (`fails_to_run`) may be SQL the guard refuses:
        # that refusal is the mistake it shows, and it is replayed through the same guard
        actions += [
            (("steps", index, "wrong_answers", i), w) for i, w in enumerate(step.wrong_answers) if not w.fails_to_run
        ]
        actions += [(("steps", index, "alternatives", i), a) for i, a in enumerate(step.alternatives)]
        for path, action in actions:
            if action.sql:
                texts.append(((*path, "sql"), action.sql, "learner"))
            for i, item in enumerate(action.requests):
                if isinstance(item, SqlStep):
                    texts.append(((*path, "requests", i, "sql"), item.sql, "learner"))
    problems: list[PackProblem] = []
    for path, sql, rules in texts:
        for refusal in refusals(sql, rules):
            line, col = _in_value(root, entry, path, sql, refusal.offset, refusal.token)
            problems.append(PackProblem(entry.path, line, col, _guard_words(refusal.message, rules)))
    if settings is not None:
        resolved_root = _real_root(root)
        for script in settings.scripts:
            target = (root / script).resolve()
            if target in _SCANNED_SCRIPTS or not target.is_relative_to(resolved_root) or not target.is_file():
                continue  # reported once per load; a missing or outside file has its own problem
            _SCANNED_SCRIPTS.add(target)
            try:
                text = target.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            for refusal in refusals(text, "setup"):
                line, col = _line_col(text, refusal.offset)
                problems.append(PackProblem(str(script), line, col, _guard_words(refusal.message, "setup")))
    return problems


_SQL_KEYS = frozenset({"reference", "query", "queries", "setup", "sql"})
"""Keys of a check that hold SQL statements (a text, or a list of them)."""
_TRIAL_KINDS = frozenset({"sql_probe", "sql_replay"})


def _sql_fields(model: BaseModel, path: DataPath) -> Iterator[tuple[DataPath, str]]:
    """(where, SQL) for every statement a check holds, its nested parts (probes, cases) included; the
    checks inside `all` are walked on their own."""
    if isinstance(model, AllCheck):
        return
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name in _SQL_KEYS and isinstance(value, str):
            yield (*path, name), value
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if name in _SQL_KEYS and isinstance(item, str):
                    yield (*path, name, i), item
                elif isinstance(item, BaseModel):
                    yield from _sql_fields(item, (*path, name, i))
                elif isinstance(item, list):  # a list of sequences (probes' `sequences`)
                    for j, inner in enumerate(item):
                        if isinstance(inner, BaseModel):
                            yield from _sql_fields(inner, (*path, name, i, j))
        elif isinstance(value, BaseModel):
            yield from _sql_fields(value, (*path, name))


_SCANNED_SCRIPTS: set[Path] = set()  # SQL script files already scanned in this load (see _load_pack)


def _guard_words(message: str, rules: str) -> str:
    where = {
        "setup": "the lesson database is built",
        "learner": "it runs on the learner's guarded connection",
        "tutor": "a check runs it",
    }[rules]
    return f"{message} (refused when {where})"


def _check_lesson_files(root: Path, entry: LessonFile) -> list[PackProblem]:
    problems: list[PackProblem] = []
    problems.extend(_build_problems(root, entry))
    sql = entry.lesson.sandboxes.sql
    api = entry.lesson.sandboxes.api
    if sql is None and api is not None and api.jobs is not None:
        problems.append(
            _problem(
                entry.path,
                entry.source,
                ("sandboxes", "api", "jobs"),
                "`jobs` keeps its job table in the lesson database: add `sandboxes: sql:`",
                key=True,
            )
        )
    if sql is None:
        return problems
    problems.extend(_sql_guard_problems(root, entry))
    from tutor.pack.sandbox_sql import DataTable
    from tutor.pack.table_data import TableRows, read_rows

    earlier: dict[str, TableRows] = {}
    for index, table in enumerate(sql.tables):
        if not isinstance(table, DataTable):
            continue
        rows, found = read_rows(
            table,
            pack_root=root,
            lesson_rel=entry.path,
            lesson_source=entry.source,
            table_path=("sandboxes", "sql", "tables", index),
            earlier=earlier,
        )
        problems.extend(found)
        if rows is not None:
            earlier[table.name] = rows
    resolved_root = _real_root(root)
    for index, script in enumerate(sql.scripts):
        path: DataPath = ("sandboxes", "sql", "scripts", index)
        target = (root / script).resolve()
        if not target.is_relative_to(resolved_root):
            problems.append(_problem(entry.path, entry.source, path, f"'{script}' points outside the pack folder"))
        elif not target.is_file():
            problems.append(
                _problem(
                    entry.path,
                    entry.source,
                    path,
                    f"file not found: '{script}' (paths are relative to the pack folder)",
                )
            )
    return problems


@dataclass
class _RawLesson:
    """What the cross-file checks need, read from the YAML data even when the lesson did not validate."""

    path: str
    source: Located
    id: str | None
    track: str | None
    prerequisites: list[tuple[int, str]]
    step_ids: list[tuple[int, str]]

    @classmethod
    def read(cls, rel: str, located: Located) -> _RawLesson:
        data: Any = located.data if isinstance(located.data, dict) else {}
        prereqs = data.get("prerequisites")
        steps = data.get("steps")
        return cls(
            path=rel,
            source=located,
            id=data.get("id") if isinstance(data.get("id"), str) else None,
            track=data.get("track") if isinstance(data.get("track"), str) else None,
            prerequisites=[(i, p) for i, p in enumerate(prereqs) if isinstance(p, str)]
            if isinstance(prereqs, list)
            else [],
            step_ids=[(i, s["id"]) for i, s in enumerate(steps) if isinstance(s, dict) and isinstance(s.get("id"), str)]
            if isinstance(steps, list)
            else [],
        )


def _check_ids(raws: list[_RawLesson]) -> list[PackProblem]:
    """Ids used twice. Positions are looked up only for what is reported: a clean file from the parse
    cache is then never parsed again."""
    problems: list[PackProblem] = []
    first: dict[str, _RawLesson] = {}
    for raw in raws:
        if raw.id is not None:
            if raw.id in first:
                other = first[raw.id]
                pos, at = raw.source.value_pos(("id",)), other.source.value_pos(("id",))
                problems.append(
                    PackProblem(
                        raw.path,
                        pos.line,
                        pos.col,
                        f"lesson id '{raw.id}' is also used by {other.path}:{at.line}:{at.col}",
                    )
                )
            else:
                first[raw.id] = raw
        step_first: dict[str, int] = {}
        for index, step_id in raw.step_ids:
            if step_id in step_first:
                pos = raw.source.value_pos(("steps", index, "id"))
                at = raw.source.value_pos(("steps", step_first[step_id], "id"))
                problems.append(
                    PackProblem(
                        raw.path,
                        pos.line,
                        pos.col,
                        f"step id '{step_id}' is used twice in this lesson (first at line {at.line})",
                    )
                )
            step_first.setdefault(step_id, index)
    return problems


def _consequence(missing_id: str, unread: list[str]) -> str:
    """A note for an error that may only follow from a lesson file that could not be read."""
    if not unread:
        return ""
    named = [rel for rel in unread if missing_id in Path(rel).stem]
    if named:
        return f" [a consequence: {named[0]} could not be read, so its lesson is missing; fix that file first]"
    return f" [perhaps a consequence: {', '.join(unread)} could not be read; fix that first]"


def _check_prerequisites(raws: list[_RawLesson], unread: list[str] | None = None) -> list[PackProblem]:
    unread = unread or []
    problems: list[PackProblem] = []
    ids: dict[str, _RawLesson] = {}
    for raw in raws:
        if raw.id is not None:
            ids.setdefault(raw.id, raw)
    for raw in raws:
        for index, prereq in raw.prerequisites:
            if prereq not in ids:
                hint = difflib.get_close_matches(prereq, list(ids), n=1)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                problems.append(
                    _problem(
                        raw.path,
                        raw.source,
                        ("prerequisites", index),
                        f"prerequisite '{prereq}' names no lesson in this pack{suggestion}"
                        + _consequence(prereq, unread),
                    )
                )
    # cycles: depth-first search, each cycle reported once, at the edge that closes it
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(lesson_id: str, trail: list[str]) -> None:
        state[lesson_id] = 1
        raw = ids[lesson_id]
        for index, prereq in raw.prerequisites:
            if prereq not in ids:
                continue
            if state.get(prereq) == 1:
                cycle = [*trail[trail.index(prereq) :], prereq] if prereq in trail else [lesson_id, prereq]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    problems.append(
                        _problem(
                            raw.path,
                            raw.source,
                            ("prerequisites", index),
                            "prerequisites form a cycle: " + " -> ".join(cycle),
                        )
                    )
            elif state.get(prereq) is None:
                visit(prereq, [*trail, prereq])
        state[lesson_id] = 2

    for lesson_id in ids:
        if lesson_id not in state:
            visit(lesson_id, [lesson_id])
    return problems


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a pack is read, then freeze what is alive.

    Reading a pack allocates hundreds of thousands of small containers (parsed values, their
    positions, models); each automatic collection walks every one of them, so the collector's cost
    grew with the square of the pack's size (a 1,000-lesson pack spent over two thirds of its load
    time there). Parsing creates no garbage cycles worth collecting early. When the pack is read,
    everything alive is moved to the collector's permanent generation (`gc.freeze`): the pack stays
    for the life of the process, and without that the first allocation after resuming paid one full
    collection of it (0.57 s for 1,000 lessons, on whichever thread allocated next: in the app, the
    one drawing the screen). Memory is still freed by reference counting as before.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def load_pack(root: Path | str, cache_dir: Path | None = None) -> PackLoad:
    """Load and validate the pack at `root`. Never raises for a bad pack: every problem is in the result.
    With `cache_dir` (the tutor's cache folder), files unchanged since the last load are not parsed again
    (tutor.pack.parse_cache)."""
    root = Path(root)
    cache = ParseCache.for_pack(cache_dir, root) if cache_dir is not None else None
    with _collector_paused():
        result = _load_pack(root, cache)
    if cache is not None:
        cache.save()
    return result


def _load_pack(root: Path, cache: ParseCache | None = None) -> PackLoad:
    _REAL_ROOTS.clear()
    _SCANNED_SCRIPTS.clear()
    problems: list[PackProblem] = []
    if not root.is_dir():
        return PackLoad(
            root,
            None,
            [PackProblem(root.as_posix(), 1, 1, "not a folder: a pack is a folder with pack.yaml at its root")],
        )
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        return PackLoad(
            root, None, [PackProblem(MANIFEST, 1, 1, "missing: a pack is a folder with pack.yaml at its root")]
        )
    manifest_src, found = read_yaml_file(manifest_path, MANIFEST, cache)
    problems.extend(found)
    manifest: PackManifest | None = None
    if manifest_src is not None:
        manifest, found = validate_as(PackManifest, manifest_src, MANIFEST)
        problems.extend(found)
    if manifest is not None and manifest_src is not None:
        if version_tuple(manifest.min_tutor_version) > version_tuple(__version__):
            problems.append(
                _problem(
                    MANIFEST,
                    manifest_src,
                    ("min_tutor_version",),
                    f"this pack needs backend-tutor {manifest.min_tutor_version} or newer; this is {__version__}",
                )
            )
        seen_tracks: dict[str, int] = {}
        for index, track in enumerate(manifest.tracks):
            if track.id in seen_tracks:
                problems.append(
                    _problem(
                        MANIFEST,
                        manifest_src,
                        ("tracks", index, "id"),
                        f"track id '{track.id}' is used twice (first in track {seen_tracks[track.id] + 1})",
                    )
                )
            seen_tracks.setdefault(track.id, index)
    track_ids = [t.id for t in manifest.tracks] if manifest else _track_ids_guess(manifest_src)
    files, found = _lesson_files(root, track_ids, manifest_src)
    problems.extend(found)

    entries: list[LessonFile] = []
    seen_ids: set[str] = set()
    raws: list[_RawLesson] = []
    unread: list[str] = []
    for path in files:
        rel = _rel(root, path)
        located, found = read_yaml_file(path, rel, cache)
        problems.extend(found)
        if located is None:
            unread.append(rel)
            continue
        raw = _RawLesson.read(rel, located)
        raws.append(raw)
        lesson, found = validate_as(Lesson, located, rel)
        problems.extend(found)
        folder = path.parent.name
        if raw.track is not None and raw.track != folder and raw.track in [*track_ids, folder]:
            problems.append(
                _problem(
                    rel,
                    located,
                    ("track",),
                    f"this lesson is in the folder of track '{folder}' but says track '{raw.track}'",
                )
            )
        elif raw.track is not None and raw.track != folder:
            hint = difflib.get_close_matches(raw.track, track_ids, n=1)
            problems.append(
                _problem(
                    rel,
                    located,
                    ("track",),
                    f"track '{raw.track}' is not in pack.yaml"
                    + (f" (did you mean '{hint[0]}'?)" if hint else "")
                    + f"; this file is in the folder of track '{folder}'",
                )
            )
        if lesson is None:
            continue
        for index, step in enumerate(lesson.steps):
            problems.extend(_check_step(rel, located, lesson, index, step))
        entry = LessonFile(lesson, rel, located)
        problems.extend(_check_lesson_files(root, entry))
        problems.extend(_check_renamed_steps(entry))
        if lesson.id not in seen_ids:
            seen_ids.add(lesson.id)
            entries.append(entry)
    problems.extend(_check_ids(raws))
    problems.extend(_check_prerequisites(raws, unread))
    if manifest is not None:
        for track in manifest.tracks:
            # "no lessons" means no lesson files; a file that failed validation has its own errors
            if not any(path.parent.name == track.id for path in files) and manifest_src is not None:
                index = [t.id for t in manifest.tracks].index(track.id)
                pos = manifest_src.value_pos(("tracks", index, "id"))
                problems.append(
                    PackProblem(
                        MANIFEST,
                        pos.line,
                        pos.col,
                        f"track '{track.id}' has no lessons (put lesson files in the folder '{track.id}/')",
                        severity="warning",
                    )
                )
    if manifest is not None and manifest_src is not None:
        lesson_ids = [raw.id for raw in raws if raw.id is not None]
        for old, new in manifest.renamed.items():
            if new not in lesson_ids:
                hint = difflib.get_close_matches(new, lesson_ids, n=1)
                problems.append(
                    _problem(
                        MANIFEST,
                        manifest_src,
                        ("renamed", old),
                        f"renamed: '{old}' -> '{new}', but no lesson has the id '{new}'"
                        + (f" (did you mean '{hint[0]}'?)" if hint else "")
                        + _consequence(new, unread),
                    )
                )
            if old in lesson_ids:
                problems.append(
                    _problem(
                        MANIFEST,
                        manifest_src,
                        ("renamed", old),
                        f"renamed: '{old}' is still the id of a lesson; list only ids that are gone",
                        key=True,
                    )
                )
    order = {t: i for i, t in enumerate(track_ids)}
    entries.sort(key=lambda e: (order.get(e.lesson.track, len(order)), e.path))
    pack = Pack(root, manifest, tuple(entries)) if manifest is not None else None
    problems.sort(key=lambda p: (p.file != MANIFEST, p.file, p.line, p.col))
    return PackLoad(root, pack, problems)


def _track_ids_guess(manifest_src: Located | None) -> list[str]:
    """Track ids from a pack.yaml that did not validate, so lesson files are still checked."""
    data = manifest_src.data if manifest_src else None
    tracks = data.get("tracks") if isinstance(data, dict) else None
    if not isinstance(tracks, list):
        return []
    return [str(t["id"]) for t in tracks if isinstance(t, dict) and isinstance(t.get("id"), str)]


def load_pack_or_raise(root: Path | str) -> Pack:
    result = load_pack(root)
    if not result.ok or result.pack is None:
        raise PackLoadError(result.errors or result.problems)
    return result.pack
