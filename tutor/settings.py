"""The learner's settings file: `settings.toml` in the tutor's home, with the keys, the theme and the editor.
No Textual; cheap to read (a missing file costs one stat).

    theme = "textual-light"
    editor = "nvim"            # for build-it code (Ctrl+O); else $VISUAL, then $EDITOR

    [keys]                     # binding id = "key" or "key,key" (Textual key names)
    check = "f5,ctrl+k"
    "workbench.send" = "ctrl+r"

    settings = load_settings(home)       # Settings(theme, editor, keys, problems)
    save_theme(home, "nord")             # keeps the learner's comments and layout

Problems (bad TOML, an unknown key, a key name Textual does not know) come back as `FILE:LINE:COL:
message` lines; the tutor starts with its defaults for whatever is wrong and says so. `SCHEMA` is the
file's JSON Schema (docs/schema/settings.schema.json is written from it; `backend-tutor config schema` prints it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.keymap import DEFAULTS

if TYPE_CHECKING:
    from tutor.paths import Home

FILE_NAME = "settings.toml"
TOP_LEVEL = {
    "theme": "a Textual theme name (Ctrl+P, 'Theme' lists them)",
    "editor": "the command that opens build-it code",
}

_MODIFIERS = ("ctrl", "shift", "alt", "super", "meta", "hyper")
_KEY = re.compile(r"^(?:(?:ctrl|shift|alt|super|meta|hyper)\+)*(?:[a-z0-9_]+|[^\s,+])$")


@dataclass(frozen=True)
class Settings:
    path: Path
    theme: str | None = None
    editor: str | None = None
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> keys, only those the file sets
    problems: tuple[str, ...] = ()

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def keys_in_force(self) -> dict[str, str]:
        """Every binding id with the keys it has now: the file's, else the default."""
        return {binding: self.keys.get(binding, default.keys) for binding, default in DEFAULTS.items()}


def settings_path(home: Home) -> Path:
    return home.root / FILE_NAME


def load_settings(home: Home) -> Settings:
    path = settings_path(home)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings(path)
    except OSError as exc:
        return Settings(path, problems=(f"{path}:1:1: cannot read it ({exc.strerror or exc})",))
    return parse_settings(text, path)


def parse_settings(text: str, path: Path) -> Settings:
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column = _position(str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return Settings(path, problems=(f"{path}:{line}:{column}: {message}; the tutor uses its defaults",))
    problems: list[str] = []

    def where(key: str, section: str | None = None) -> str:
        return f"{path}:{_line_of(text, key, section)}:1"

    theme = data.get("theme")
    if theme is not None and not (isinstance(theme, str) and theme.strip()):
        problems.append(f'{where("theme")}: theme must be a theme\'s name, such as "textual-dark"')
        theme = None
    editor = data.get("editor")
    if editor is not None and not (isinstance(editor, str) and editor.strip()):
        problems.append(f'{where("editor")}: editor must be a command, such as "vim" or "code --wait"')
        editor = None
    keys: dict[str, str] = {}
    table = data.get("keys", {})
    if not isinstance(table, dict):
        problems.append(f'{where("keys")}: keys must be a table: [keys] then one binding = "key" per line')
        table = {}
    for binding, value in table.items():
        if binding not in DEFAULTS:
            near = _nearest(binding, DEFAULTS)
            hint = f" (did you mean '{near}'?)" if near else ""
            problems.append(
                f"{where(binding, 'keys')}: there is no key called '{binding}'{hint}; `backend-tutor config` lists them"
            )
            continue
        bad = _bad_keys(value)
        if bad:
            problems.append(f"{where(binding, 'keys')}: {binding} = {value!r}: {bad}")
            continue
        keys[binding] = ",".join(k.strip() for k in str(value).split(","))
    for name in data:
        if name not in TOP_LEVEL and name != "keys":
            problems.append(
                f"{where(name)}: the settings file has no setting called '{name}' (it has theme, editor, [keys])"
            )
    return Settings(path, theme, editor, keys, tuple(problems))


def _bad_keys(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return 'write the keys as a string, "f5" or "f5,ctrl+t"'
    for key in value.split(","):
        key = key.strip()
        if not _KEY.match(key) or key.split("+")[-1] in _MODIFIERS:
            return f"'{key}' is not a key Textual knows (write it like f5, ctrl+t, shift+tab, escape, slash)"
    return None


def _position(message: str) -> tuple[int, int]:
    match = re.search(r"line (\d+), column (\d+)", message)
    return (int(match.group(1)), int(match.group(2))) if match else (1, 1)


def _line_of(text: str, key: str, section: str | None) -> int:
    """The line where `key` is set (inside `[section]` when given); 1 when it cannot be found."""
    current: str | None = None
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
            if section is None and current == key:
                return number
            continue
        if current == section and pattern.match(line):
            return number
    return 1


def _nearest(word: str, choices: dict[str, Any]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def save_theme(home: Home, theme: str) -> None:
    """Set `theme` in the settings file, keeping everything else in it as the learner wrote it (comments,
    order, spacing): tomlkit edits the document rather than rewriting it. Written whole or not at all."""
    import tomlkit

    from tutor.files import write_atomic

    path = settings_path(home)
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        document = tomlkit.document()
        document.add(tomlkit.comment("backend-tutor settings: `backend-tutor config` shows every key and its value."))
    document["theme"] = theme
    write_atomic(path, tomlkit.dumps(document))


def schema() -> dict[str, Any]:
    """The settings file's JSON Schema (draft 2020-12), from the same tables the tutor reads it with."""
    one = r"((ctrl|shift|alt|super|meta|hyper)\+)*([a-z0-9_]+|[^\s,+])"
    key_pattern = rf"^\s*{one}\s*(,\s*{one}\s*)*$"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://backend-tutor.invalid/schemas/settings.schema.json",
        "title": "backend-tutor settings (settings.toml in the tutor's home)",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "theme": {"type": "string", "minLength": 1, "description": TOP_LEVEL["theme"]},
            "editor": {"type": "string", "minLength": 1, "description": TOP_LEVEL["editor"]},
            "keys": {
                "type": "object",
                "description": "binding id = keys (Textual key names, comma-separated)",
                "additionalProperties": False,
                "properties": {
                    binding: {
                        "type": "string",
                        "pattern": key_pattern,
                        "default": default.keys,
                        "description": f"{default.what} ({default.where})",
                    }
                    for binding, default in DEFAULTS.items()
                },
            },
        },
    }
