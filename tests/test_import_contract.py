"""The layering, read from the source (a static contract beside tests/test_layering.py, which imports the
modules in a subprocess and looks at sys.modules): no module outside tutor/app names Textual or the app,
not even inside a function or under TYPE_CHECKING. Only the entry points that start the app may import it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

ENTRY_POINTS = {"tutor/launch.py", "tutor/cli.py", "tutor/__main__.py"}
"""They start the app (`backend-tutor` with no command), so they import tutor.app, lazily."""
FORBIDDEN = ("textual", "textual_plotext", "tutor.app")


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, wherever the import statement is, with its line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def domain_files() -> list[Path]:
    tutor = [f for f in sorted((REPO / "tutor").rglob("*.py")) if not f.is_relative_to(REPO / "tutor" / "app")]
    return [*tutor, *sorted((REPO / "sandboxes").rglob("*.py"))]


@pytest.mark.parametrize("path", domain_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_the_domain_names_neither_textual_nor_the_app(path: Path) -> None:
    relative = str(path.relative_to(REPO))
    if relative in ENTRY_POINTS:
        return
    bad = [
        f"{relative}:{line}: imports {name}"
        for line, name in imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert not bad, "\n".join(bad)


def test_the_contract_sees_an_import_hidden_in_a_function(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def later():\n    from textual.widgets import Static\n    return Static\n")
    assert imports(sample) == [(2, "textual.widgets.Static")]
