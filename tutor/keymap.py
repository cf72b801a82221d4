"""Every key the tutor binds, by binding id: the default keys and what they do. No Textual.

The app's `Binding`s take their keys from here (`keys("check")`), a learner's settings file may replace
them (`[keys]` in settings.toml, applied with Textual's keymap), and the settings' JSON Schema lists the
ids from this table, so the three cannot drift.

The lesson's F-keys each have a Ctrl alternative, for terminals and IDEs that keep function keys for
themselves (laptop Fn rows, editors' built-in terminals). The Ctrl keys chosen are ones Textual's text
fields do not use, or use for something a plain key also does (End for Ctrl+E).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyDefault:
    keys: str  # Textual key names, comma-separated: "f5,ctrl+t"
    what: str  # what the key does, for the settings file's schema and `backend-tutor config`
    where: str  # where it works


DEFAULTS: dict[str, KeyDefault] = {
    # everywhere
    "help": KeyDefault("f1", "help for the part of the screen that has focus, with the keys in force", "everywhere"),
    "quit": KeyDefault("ctrl+q", "quit (progress is saved as you go)", "everywhere"),
    # the course map
    "continue": KeyDefault("c", "continue with the next unfinished step", "course map"),
    "open_lesson": KeyDefault("enter", "open the highlighted lesson", "course map"),
    "pack_problems": KeyDefault("p", "the pack's problems, with file:line:col", "course map"),
    # a lesson
    "check": KeyDefault("f5,ctrl+t", "check your answer or what you did", "lesson"),
    "hint": KeyDefault("f6,ctrl+y", "show the next hint (counted)", "lesson"),
    "solution": KeyDefault("f7,ctrl+b", "show the reference solution (after one try; recorded)", "lesson"),
    "next_step": KeyDefault("f8,ctrl+f", "go to the next step", "lesson"),
    "reset_step": KeyDefault("f4", "put the step's database and API back to how it started", "lesson"),
    "focus_answer": KeyDefault("ctrl+o", "go to your answer (or the lesson text in a hands-on step)", "lesson"),
    "focus_workbench": KeyDefault("ctrl+w", "go to the workbench's editor (SQL editor or URL box)", "lesson"),
    "focus_result": KeyDefault("ctrl+e", "go to the workbench's result (Results or Response)", "lesson"),
    "next_tab": KeyDefault("ctrl+n", "the workbench's next tab, focused", "lesson"),
    "switch_workbench": KeyDefault("ctrl+g", "switch between the SQL and the request workbench", "lesson"),
    "toggle_steps": KeyDefault("f2", "hide or show the step list", "lesson"),
    "zoom": KeyDefault("f3", "give the lesson text or the workbench the whole screen", "lesson"),
    "restart_sandboxes": KeyDefault("f12", "start again a sandbox that failed or stopped", "lesson"),
    "open_editor": KeyDefault("ctrl+o", "open your code in your editor (build-it lessons)", "lesson"),
    "back": KeyDefault("escape", "back to the course map", "lesson"),
    # the SQL workbench
    "sql.run": KeyDefault("ctrl+r", "run the selection, or everything in the editor", "SQL workbench"),
    "sql.run_statement": KeyDefault(
        "ctrl+j,ctrl+enter", "run the statement under the cursor (or the selection)", "SQL workbench"
    ),
    "sql.complete": KeyDefault("ctrl+space", "complete a keyword, table or column", "SQL workbench"),
    "sql.select_all": KeyDefault("ctrl+a", "select everything in the editor", "SQL workbench"),
    "sql.clear": KeyDefault("ctrl+l", "clear the editor", "SQL workbench"),
    "sql.cancel": KeyDefault("f9", "stop a running query", "SQL workbench"),
    "sql.export": KeyDefault("ctrl+s", "save the result shown as CSV or JSON", "SQL workbench"),
    # the request workbench
    "workbench.send": KeyDefault("ctrl+r,ctrl+j", "send the request", "request workbench"),
    "workbench.copy_curl": KeyDefault("ctrl+s", "copy the request as a curl command", "request workbench"),
    "workbench.save": KeyDefault("ctrl+k", "keep the request under a name (Saved tab)", "request workbench"),
    "workbench.use_token": KeyDefault(
        "ctrl+u", "use the last access token as Authorization: Bearer", "request workbench"
    ),
    "workbench.clear": KeyDefault("ctrl+l", "clear the request", "request workbench"),
    "workbench.load": KeyDefault("f9", "run the load tool on the request", "request workbench"),
    "workbench.clock": KeyDefault("f10", "move the lesson clock 60 s forward", "request workbench"),
    "workbench.search": KeyDefault("slash", "search in the response", "request workbench"),
}


def keys(binding_id: str) -> str:
    """The default keys of a binding (what `Binding(...)` is built with)."""
    return DEFAULTS[binding_id].keys


def display(key_list: str) -> str:
    """'f5,ctrl+t' -> 'F5 or Ctrl+T', as the learner reads keys."""
    return " or ".join(_one(key) for key in key_list.split(",") if key.strip())


_NAMES = {"escape": "Esc", "enter": "Enter", "slash": "/", "space": "Space", "tab": "Tab"}


def _one(key: str) -> str:
    parts = [p.strip() for p in key.strip().split("+")]
    words = []
    for part in parts:
        if part in _NAMES:
            words.append(_NAMES[part])
        elif len(part) == 1:
            words.append(part.upper() if len(parts) > 1 else part)
        elif part[0] == "f" and part[1:].isdigit():
            words.append(part.upper())
        else:
            words.append(part.capitalize())
    return "+".join(words)
