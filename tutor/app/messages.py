"""Messages that travel up from widgets to the screens that hold them (attributes down, messages up)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class WorkbenchActed(Message):
    """A workbench did something that may change the evidence of the current step (a query ran, a
    request was sent). The lesson screen uses it to refresh and to remind the learner to check.

        self.post_message(WorkbenchActed("sql", "ran: SELECT ..."))
    """

    workbench: str
    detail: str = ""
