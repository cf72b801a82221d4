"""Progress that carries its evidence: a learner passes steps of every kind in real sandboxes, exports, and
`progress verify` replays the export in fresh ones. Edited exports say tampered or failed for exactly the
edited step; another pack version says unverifiable and why; a forged export is flagged and fails."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.progress.classroom import FIXTURE, cli, export, seal, step_of, write

pytestmark = pytest.mark.slow

CLAIMED = [
    ("concepts", "pick"),
    ("concepts", "type-it"),
    ("stock", "transfer"),
    ("tokens", "expire"),
    ("tokens", "refresh"),
    ("hello", "hello"),
]


def verify(home: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli(home, "progress", "verify", "--pack", str(FIXTURE), "--json", *args)
    assert result.exit_code in (0, 1, 3), result.output
    return result.exit_code, json.loads(result.output)


def verdicts(document: dict[str, Any], source: str | None = None) -> dict[tuple[str, str], str]:
    return {
        (c["lesson"], c["step"]): c["status"] for c in document["claims"] if source is None or c["source"] == source
    }


def test_the_evidence_is_what_the_learner_did_in_the_packs_action_format(ada: dict[str, Any]) -> None:
    document = ada["document"]
    assert step_of(document, "concepts", "pick")["evidence"]["action"] == {"answer": "five"}
    pick = step_of(document, "concepts", "pick")["evidence"]
    assert (pick["attempts"], pick["hints_used"], pick["solution_viewed"]) == (2, 0, False)
    assert pick["check_digest"].startswith("sha256:") and pick["pack"] == {"id": "classroom-pack", "version": "1.0.0"}
    sql = step_of(document, "stock", "transfer")["evidence"]["action"]["sql"]
    assert sql.split("\n")[0] == "BEGIN;" and sql.rstrip().endswith("COMMIT;") and "SELECT * FROM stock;" in sql
    expire = step_of(document, "tokens", "expire")["evidence"]["action"]["requests"]
    sent = [r for r in expire if "method" in r]
    assert [(r["method"], r["path"]) for r in sent] == [
        ("POST", "/auth/login"),
        ("POST", "/_sandbox/clock"),
        ("GET", "/auth/me"),
    ]
    assert sent[0]["save"] == {"access_token": "json:access_token"}  # the token came from this response
    assert sent[2]["headers"]["authorization"] == "Bearer {access_token}"  # and went back here
    refresh = step_of(document, "tokens", "refresh")["evidence"]
    assert refresh["carried"]["refresh_token"] == {"step": "expire", "request": 1, "value": "json:refresh_token"}
    assert '"{refresh_token}"' in refresh["action"]["requests"][0]["body"]
    assert "lesson_time" in refresh
    files = step_of(document, "hello", "hello")["evidence"]["files"]
    assert set(files) == {"app.py"} and "def hello" in files["app.py"]["text"]
    assert all(step_of(document, lesson, step)["digest"].startswith("sha256:") for lesson, step in CLAIMED)
    assert step_of(document, "concepts", "count") == {"id": "count", "status": "not_started"}


def test_every_kind_of_step_verifies_and_the_verdicts_do_not_change(ada: dict[str, Any]) -> None:
    code, first = verify(ada["home"], str(ada["path"]), "--run-code", "--jobs", "2")
    assert code == 0, first
    assert verdicts(first) == {key: "verified" for key in CLAIMED}
    again_code, again = verify(ada["home"], str(ada["path"]), "--run-code", "--jobs", "1")
    assert again_code == 0
    assert [(c["lesson"], c["step"], c["status"], c["message"]) for c in again["claims"]] == [
        (c["lesson"], c["step"], c["status"], c["message"]) for c in first["claims"]
    ]


def test_build_it_code_is_not_run_without_being_asked(ada: dict[str, Any]) -> None:
    code, document = verify(ada["home"], str(ada["path"]), "--lesson", "hello")
    assert code == 3
    (claim,) = document["claims"]
    assert claim["status"] == "unverifiable" and "--run-code" in claim["message"]


def _edited(document: dict[str, Any], lesson: str, step: str, change: Any, *, reseal: bool) -> dict[str, Any]:
    edited = copy.deepcopy(document)
    change(step_of(edited, lesson, step))
    if reseal:
        seal(edited, lesson, step)
    return edited


def _answer(step: dict[str, Any]) -> None:
    step["evidence"]["action"]["answer"] = "four"


def _status(step: dict[str, Any]) -> None:
    step["status"] = "passed"


def _request(step: dict[str, Any]) -> None:
    me = [r for r in step["evidence"]["action"]["requests"] if r.get("path") == "/auth/me"]
    me[-1]["headers"]["authorization"] = "Bearer made-up"


def _sql(step: dict[str, Any]) -> None:
    action = step["evidence"]["action"]
    action["sql"] = "\n".join(line for line in action["sql"].split("\n") if line not in ("BEGIN;", "COMMIT;"))


def _file(step: dict[str, Any]) -> None:
    app = step["evidence"]["files"]["app.py"]
    app["text"] = app["text"].replace('"world"', '"there"')


def _file_and_its_sha(step: dict[str, Any]) -> None:
    import hashlib

    _file(step)
    app = step["evidence"]["files"]["app.py"]
    app["sha256"] = hashlib.sha256(app["text"].encode()).hexdigest()


EDITS = {
    "status": ("concepts", "count", _status, False, "tampered"),
    "answer": ("concepts", "pick", _answer, False, "tampered"),
    "answer-resealed": ("concepts", "pick", _answer, True, "failed"),
    "request": ("tokens", "refresh", _request, False, "tampered"),
    "request-resealed": ("tokens", "refresh", _request, True, "failed"),
    "sql-resealed": ("stock", "transfer", _sql, True, "failed"),
    "file": ("hello", "hello", _file, True, "tampered"),
    "file-resealed": ("hello", "hello", _file_and_its_sha, True, "failed"),
}


def test_an_edit_shows_on_exactly_the_edited_step(ada: dict[str, Any], tmp_path: Path) -> None:
    """A status, an answer, a request, SQL or a file changed by hand: with the digests left as they were,
    tampered; with them computed again (anyone can), the replay fails the check. Every other step of the
    same export is still verified."""
    files = {}
    for name, (lesson, step, change, reseal, _) in EDITS.items():
        files[name] = write(_edited(ada["document"], lesson, step, change, reseal=reseal), tmp_path / f"{name}.json")
    code, document = verify(ada["home"], *map(str, files.values()), "--run-code", "--jobs", "2")
    assert code == 1
    for name, (lesson, step, _, _, expected) in EDITS.items():
        mine = verdicts(document, str(files[name]))
        wrong = {key: status for key, status in mine.items() if status != "verified"}
        assert wrong == {(lesson, step): expected}, (name, wrong)
        assert len(mine) == len(CLAIMED) + (name == "status")
    messages = {(c["source"], c["lesson"], c["step"]): c["message"] for c in document["claims"]}
    assert "its evidence was edited" in messages[(str(files["answer"]), "concepts", "pick")]
    assert "no digest" in messages[(str(files["status"]), "concepts", "count")]
    assert messages[(str(files["answer-resealed"]), "concepts", "pick")]  # the check's own words
    assert "Authorization" in messages[(str(files["request-resealed"]), "tokens", "refresh")]
    assert "sha256" in messages[(str(files["file"]), "hello", "hello")]


def test_another_pack_version_or_a_changed_check_is_unverifiable_and_says_why(
    ada: dict[str, Any], tmp_path: Path
) -> None:
    newer = tmp_path / "newer"
    shutil.copytree(FIXTURE, newer)
    manifest = newer / "pack.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    result = cli(ada["home"], "progress", "verify", "--pack", str(newer), "--json", str(ada["path"]))
    assert result.exit_code == 3
    claims = json.loads(result.output)["claims"]
    assert {c["status"] for c in claims} == {"unverifiable"}
    assert "recorded with version 1.0.0 of the pack; this is version 1.1.0" in claims[0]["message"]

    changed = tmp_path / "changed"
    shutil.copytree(FIXTURE, changed)
    lesson = changed / "basics" / "01-concepts.yaml"
    lesson.write_text(lesson.read_text().replace('accept: ["409"]', 'accept: ["409", "conflict"]'))
    result = cli(
        ada["home"], "progress", "verify", "--pack", str(changed), "--json", "--lesson", "concepts", str(ada["path"])
    )
    document = json.loads(result.output)
    assert verdicts(document) == {("concepts", "pick"): "verified", ("concepts", "type-it"): "unverifiable"}
    assert "check is not the one it was recorded against" in document["claims"][1]["message"]


def test_a_forged_export_is_flagged_by_merge_and_fails_verify(tmp_path: Path) -> None:
    """Statuses set to passed by hand in an export of someone who did nothing."""
    home = tmp_path / "mallory"
    (home).mkdir()
    assert cli(home, "whoami", "Mallory").exit_code == 0
    honest = json.loads(export(home, tmp_path / "honest.json").read_text())
    forged = copy.deepcopy(honest)
    for lesson in forged["lessons"]:
        for step in lesson["steps"]:
            step["status"] = "passed"
    path = write(forged, tmp_path / "forged.json")
    merged = cli(home, "progress", "merge", str(path), "-o", str(tmp_path / "cohort.csv"))
    assert merged.exit_code == 0, merged.output
    assert "Suspect rows (7)" in merged.output and "no digest" in merged.output
    rows = (tmp_path / "cohort.csv").read_text().splitlines()
    assert rows[0].split(",")[-4:] == ["suspect", "late", "points", "roster"]
    assert all("no digest" in row for row in rows[1:])
    code, document = verify(home, str(path))
    assert code == 1
    assert {c["status"] for c in document["claims"]} == {"tampered"}

    # the same forgery in the CSV export, and in an export that no longer says it carries evidence
    csv_export = export(home, tmp_path / "honest.csv", "csv").read_text().replace(",not_started,", ",passed,")
    (tmp_path / "forged.csv").write_text(csv_export)
    merged = cli(home, "progress", "merge", str(tmp_path / "forged.csv"))
    assert "passed without a single check (0 attempts)" in merged.output
    code, _ = verify(home, str(tmp_path / "forged.csv"))
    assert code == 1
    del forged["evidence_format"]
    code, document = verify(home, str(write(forged, tmp_path / "older.json")))
    assert code == 3  # not verified: nothing says it was done
    assert {c["status"] for c in document["claims"]} == {"unverifiable"}
    assert "no evidence" in document["claims"][0]["message"]


def test_merge_of_honest_exports_flags_nothing(ada: dict[str, Any], tmp_path: Path) -> None:
    csv_path = export(ada["home"], tmp_path / "ada.csv", "csv")
    merged = cli(ada["home"], "progress", "merge", str(ada["path"]), str(csv_path), "-o", str(tmp_path / "m.csv"))
    assert merged.exit_code == 0
    assert "Suspect" not in merged.output
