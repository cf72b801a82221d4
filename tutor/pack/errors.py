"""Problems found in a pack, each with the file, line and column an author should look at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, order=True)
class PackProblem:
    file: str  # relative to the pack root, with '/' separators
    line: int
    col: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}:{self.col}: {prefix}{self.message}"


class PackLoadError(Exception):
    """Raised by `load_pack_or_raise` when the pack has errors; carries every one of them."""

    def __init__(self, problems: list[PackProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
