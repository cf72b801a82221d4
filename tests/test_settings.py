"""The learner's settings file: keys, theme and editor; its problems as FILE:LINE:COL; its JSON Schema
(docs/schema/settings.schema.json is it, written out); `backend-tutor config`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import REPO, run_cli
from tutor.keymap import DEFAULTS, display
from tutor.paths import Home
from tutor.settings import load_settings, parse_settings, save_theme, schema

GOOD = """\
# mine
theme = "nord"
editor = "nvim -p"

[keys]
check = "f5,ctrl+k"   # my laptop has no F5
"workbench.send" = "ctrl+r"
"""


def test_a_missing_file_is_every_default(tmp_path: Path) -> None:
    settings = load_settings(Home(tmp_path))
    assert not settings.exists and settings.problems == () and settings.keys == {}
    assert settings.keys_in_force() == {name: d.keys for name, d in DEFAULTS.items()}


def test_a_good_file(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text(GOOD)
    settings = load_settings(Home(tmp_path))
    assert (settings.theme, settings.editor, settings.problems) == ("nord", "nvim -p", ())
    assert settings.keys == {"check": "f5,ctrl+k", "workbench.send": "ctrl+r"}
    assert settings.keys_in_force()["check"] == "f5,ctrl+k" and settings.keys_in_force()["hint"] == "f6,ctrl+y"


def test_problems_say_file_line_column_and_the_rest_still_applies(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    text = 'theme = "nord"\n\n[keys]\nchek = "ctrl+k"\nhint = "ctrl+"\nnext_step = "f8,ctrl+f"\ncolour = 1\n'
    settings = parse_settings(text, path)
    assert settings.theme == "nord" and settings.keys == {"next_step": "f8,ctrl+f"}
    problems = list(settings.problems)
    assert problems[0].startswith(f"{path}:4:1: there is no key called 'chek' (did you mean 'check'?)")
    assert problems[1].startswith(f"{path}:5:1: hint = 'ctrl+': 'ctrl+' is not a key Textual knows")
    broken = parse_settings('theme = "nord\n', path)
    assert broken.problems and broken.problems[0].startswith(f"{path}:1:")
    assert "the tutor uses its defaults" in broken.problems[0] and "Traceback" not in broken.problems[0]


def test_save_theme_keeps_the_learner_s_comments(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text(GOOD)
    save_theme(Home(tmp_path), "gruvbox")
    text = (tmp_path / "settings.toml").read_text()
    assert 'theme = "gruvbox"' in text and "# my laptop has no F5" in text and "# mine" in text
    assert load_settings(Home(tmp_path)).keys["check"] == "f5,ctrl+k"
    fresh = tmp_path / "fresh"
    save_theme(Home(fresh), "nord")
    assert load_settings(Home(fresh)).theme == "nord"


def test_the_schema_is_the_documented_one_and_accepts_what_the_tutor_accepts(tmp_path: Path) -> None:
    written = json.loads((REPO / "docs" / "schema" / "settings.schema.json").read_text())
    assert written == schema(), "run: backend-tutor config schema > docs/schema/settings.schema.json"
    import tomllib

    jsonschema.validate(tomllib.loads(GOOD), written)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"keys": {"chek": "f5"}}, written)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"keys": {"check": "ctrl+"}}, written)


def test_config_command_shows_path_values_and_problems(tutor_home: Path) -> None:
    shown = run_cli("config", home=tutor_home)
    assert shown.returncode == 0 and str(tutor_home / "settings.toml") in shown.stdout
    assert "not there yet" in shown.stdout and display("f5,ctrl+t") in shown.stdout
    (tutor_home / "settings.toml").write_text(GOOD + "bogus = 1\n")
    shown = run_cli("config", "--json", home=tutor_home)
    data = json.loads(shown.stdout)
    assert shown.returncode == 1  # the file has a problem
    assert data["keys"]["check"] == "f5,ctrl+k" and data["changed"] == ["check", "workbench.send"]
    assert data["editor"] == "nvim -p" and "there is no key called 'bogus'" in data["problems"][0]  # in [keys]
    assert data["problems"][0].startswith(f"{tutor_home / 'settings.toml'}:8:1:")
    assert json.loads(run_cli("config", "schema", home=tutor_home).stdout) == schema()


def test_the_learners_guide_names_every_key() -> None:
    """docs/learners.md lists the keys a learner uses; a binding added to the keymap without it fails here."""
    guide = (REPO / "docs" / "learners.md").read_text(encoding="utf-8")
    skipped = {"open_lesson", "help", "quit", "back", "open_editor", "continue", "pack_problems"}  # said in words
    for name, default in DEFAULTS.items():
        if name in skipped:
            continue
        first = display(default.keys.split(",")[0])
        assert f"| {first}" in guide or f"{first} or " in guide or f"**{first}**" in guide, (name, first)
