"""The pack picker shown when several packs are installed: keyboard only, and how it looks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.app.screens.pack_picker import PackChoice, PackPickerApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
CHOICES = [
    PackChoice("backend-tutor-core", "Backend engineering, hands on", "0.1.0", "built-in", Path("/builtin")),
    PackChoice("cohort-a", "ACME bootcamp, cohort A", "1.2.0", "installed", Path("/packs/cohort-a")),
    PackChoice("build-it", "Build an API yourself", "0.3.0", "wheel acme-build", Path("/packs/build-it"), True),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["enter"], "/builtin"),
        (["down", "enter"], "/packs/cohort-a"),
        (["j", "j", "k", "enter"], "/packs/cohort-a"),
        (["escape"], None),
    ],
)
async def test_keyboard_picks_a_pack_or_quits(keys: list[str], expected: str | None) -> None:
    app = PackPickerApp(CHOICES)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
    assert app.return_value == (Path(expected) if expected else None)


@pytest.mark.parametrize("size", SIZES)
def test_pack_picker(snap_compare, size) -> None:
    async def settle(pilot) -> None:
        await pilot.pause()
        await pilot.press("down")
        await pilot.pause()

    assert snap_compare(PackPickerApp(CHOICES), terminal_size=size, run_before=settle)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
