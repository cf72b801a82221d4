"""The workbenches a lesson screen can hold: sandbox name -> "module:Class".

A workbench class is a Textual widget built as `cls(session)` (a started `tutor.session.Session`) and
mounted into the lesson screen's workbench region after the session starts, one per sandbox the lesson
declares (a tab each when there are several). It may post `tutor.app.messages.WorkbenchActed`, and may
define `HELP` (Markdown) for the F1 help. Modules are imported only when a lesson needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

WORKBENCHES: dict[str, str] = {
    "sql": "tutor.app.widgets.sql_workbench:SqlWorkbench",
    "api": "tutor.app.widgets.request_workbench:RequestWorkbench",
}

TITLES: dict[str, str] = {"sql": "SQL workbench", "api": "Request workbench"}


def load_workbench(name: str) -> Any:
    """The workbench class for sandbox `name`; raises LookupError/ImportError/AttributeError."""
    target = WORKBENCHES.get(name)
    if target is None:
        raise LookupError(f"no workbench is registered for the '{name}' sandbox")
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)
