"""The keys in force, by binding id: the defaults (tutor/keymap.py) with the learner's settings applied.
Texts that name a key ("press F5 to check") ask here, so a changed key is named as it is."""

from __future__ import annotations

import re
from typing import Any

from tutor.keymap import DEFAULTS, display

_PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)\}")


def keys_in_force(node: Any) -> dict[str, str]:
    app = getattr(node, "app", node)
    found = getattr(app, "keys_in_force", None)
    return found if isinstance(found, dict) else {name: d.keys for name, d in DEFAULTS.items()}


def key_name(node: Any, binding_id: str) -> str:
    """The first key of a binding, as the learner reads it: 'F5'."""
    return display(keys_in_force(node)[binding_id].split(",")[0])


def key_names(node: Any, binding_id: str) -> str:
    """Every key of a binding: 'F5 or Ctrl+T'."""
    return display(keys_in_force(node)[binding_id])


def fill_keys(text: str, node: Any) -> str:
    """`{check}` in a help text -> the keys in force for that binding ('F5 or Ctrl+T'). Braces around
    anything else (a JSON example) are left as they are."""
    in_force = keys_in_force(node)
    return _PLACEHOLDER.sub(lambda m: display(in_force[m.group(1)]) if m.group(1) in in_force else m.group(0), text)
