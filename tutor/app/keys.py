"""The keys in force, by binding id: the defaults (tutor/keymap.py) with the learner's settings applied.
Texts that name a key ("press F5 to check") ask here, so a changed key is named as it is."""

from __future__ import annotations

import re
from typing import Any

from textual.message import Message

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


def focus_now(widget: Any, *, scroll_visible: bool = True) -> None:
    """Give `widget` the focus before the next key is read. Textual's `Widget.focus()` does it a moment
    later, so keys typed quickly after a focus move (a paste, a fast typist, a tmux send-keys) went to
    where the focus had been: "POST /auth/login", Tab, "Content-Type: ..." ended up in the URL box."""
    from textual.css.query import NoMatches

    try:
        widget.screen.set_focus(widget, scroll_visible=scroll_visible)
    except NoMatches:
        widget.focus(scroll_visible)
    except Exception:  # no screen yet (not mounted): the ordinary, later focus
        widget.focus(scroll_visible)


def when_typed(fields: dict[str, Any], read: Any, then: Any) -> None:
    """Read each of `fields` once it has handled the keys already sent to it, then call `then(values)`.

    Keys reach a widget through its own queue, and a burst (a fast typist, a paste, tmux send-keys, a busy
    machine) can be a few keys ahead of it. An action bound to a key (Send, Run, Check, Clear) is taken
    when the key arrives; the fields' values it needs are those typed before that key, not what they hold
    now (behind) nor later (ahead, when keys after it have reached them). So a callback is queued in each
    field at once, behind its earlier keys, and reads that field there: `read(name, widget)`."""
    values: dict[str, Any] = {}
    live = {name: widget for name, widget in fields.items() if widget is not None and widget.is_attached}
    if not live:
        then(values)
        return

    def reader(name: str, widget: Any) -> Any:
        def record() -> None:
            values[name] = read(name, widget)
            if len(values) == len(live):
                then(values)

        return record

    for name, widget in live.items():
        widget.call_later(reader(name, widget))


def after_pending(widget: Any, callback: Any) -> None:
    """Call `callback` once `widget` has handled the keys already sent to it (one field: see when_typed).
    Run, Check and Clear read or change one field: done there, in order with the keys around them."""
    if widget is None or not widget.is_attached:
        callback()
        return
    widget.call_later(callback)


class AfterKeys(Message):
    """Bubbles from the focused widget to the app behind the keys sent to it; the app calls `callback`.

    A key the focused widget does not handle itself (Enter or Space on a choice, say) takes effect only
    when it has bubbled up to the app, whose bindings run its action; a callback queued in the widget
    (after_pending) runs before that. This message takes the same road, one step behind the key."""

    def __init__(self, callback: Any) -> None:
        super().__init__()
        self.callback = callback


def after_keys(widget: Any, callback: Any) -> None:
    """Call `callback` once the keys already sent to `widget` have done what they do, bindings included:
    F5 pressed right behind Enter on a choice checks the option Enter picked."""
    if widget is None or not widget.is_attached:
        callback()
        return
    widget.call_later(lambda: widget.post_message(AfterKeys(callback)))
