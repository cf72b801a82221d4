"""Words that follow the learner: the next hint is the one for the mistake they made; a verdict says what
is wrong without handing over the answer; an explanation quotes the learner's own figures, and
`pack test` refuses one that states a figure the check measured differently."""

from __future__ import annotations

from pathlib import Path

from tests.pack.helpers import write_pack
from tutor.checks.base import CheckResult
from tutor.checks.facts import fill
from tutor.checks.hints import next_hint
from tutor.pack.loader import load_pack_or_raise
from tutor.packtest import run_pack_test
from tutor.paths import Home
from tutor.session import Session

CHOICE = """\
id: choose
title: Choose
track: http
steps:
  - id: one
    title: One
    text: Pick.
    check:
      kind: choice
      options:
        - {id: a, text: A}
        - {id: b, text: B}
        - {id: c, text: C}
      correct: a
    hints: [General one., General two.]
    solution: {answer: a}
    wrong_answers:
      - answer: b
        feedback: B is the other thing.
        hints: [Think about what B does., General one.]
      - answer: c
"""


def test_the_next_hint_is_the_one_for_the_mistake_just_made(tmp_path: Path) -> None:
    pack = load_pack_or_raise(write_pack(tmp_path / "pack", {"http/01.yaml": CHOICE}))
    lesson = pack.lessons[0].lesson
    step = lesson.steps[0]
    with Session(pack, lesson, Home(tmp_path / "home").ensure()) as session:
        session.start()
        session.begin_step(step)
        wrong_b = session.check(step, "b")
        wrong_c = session.check(step, "c")
        right = session.check(step, "a")
    assert (wrong_b.mistake, wrong_c.mistake, right.mistake) == (0, 1, None)
    assert next_hint(step, [], wrong_b.mistake) == "Think about what B does."
    assert next_hint(step, ["Think about what B does."], wrong_b.mistake) == "General one."
    assert next_hint(step, ["Think about what B does.", "General one."], wrong_b.mistake) == "General two."
    assert next_hint(step, [], wrong_c.mistake) == "General one."  # no ladder of its own: the step's
    assert next_hint(step, ["General one.", "General two."], None) is None


def test_a_verdict_without_the_solution_says_where_not_what() -> None:
    result = CheckResult(
        False,
        "Same number of rows (2), but not the same rows.",
        expected="2 rows",
        got="2 rows",
        first_difference="row 1: expected (4711, 'Dune'), got (17, 'Emma')",
        details=("missing: 1 row:", "  (4711, 'Dune')", "extra: 1 row:", "  (17, 'Emma')"),
    )
    shown = result.redacted().explain()
    assert "4711" not in shown and "Dune" not in shown
    assert "row 1: got (17, 'Emma')" in shown and "(17, 'Emma')" in shown
    assert "expected" not in shown
    assert "Dune" in result.explain()  # after the solution is viewed, everything shows


TRAFFIC = """\
id: count-hits
title: Hits
track: http
sandboxes:
  sql:
    tables:
      - name: books
        rows: 30
        seed: 1
        primary_key: id
        columns:
          - {{name: id, gen: sequence}}
          - {{name: title, gen: template, template: "Book {{n}}"}}
  api:
    resources: [{{name: books, table: books}}]
    caching: {{app_cache_ttl: 300}}
steps:
  - id: load
    title: Load
    text: Send the same GET ten times.
    check:
      kind: http_traffic
      expect:
        - request: {{method: GET, path: /v1/books/3}}
          response: {{status: 200, headers: {{X-Cache: HIT}}}}
          at_least: 5
    hints: [Repeat it.]
    solution:
      requests: [{{method: GET, path: /v1/books/3, repeat: 10}}]
    wrong_answers:
      - requests: [{{method: GET, path: /v1/books/3}}]
    explanation: {explanation}
"""


def _explained(tmp_path: Path, explanation: str) -> list[str]:
    root = write_pack(tmp_path, {"http/01.yaml": TRAFFIC.format(explanation=explanation)})
    report = run_pack_test(load_pack_or_raise(root))
    return [c.message for c in report.cases if c.case == "explanation"]


def test_an_explanation_quotes_the_learners_figures(tmp_path: Path) -> None:
    assert _explained(tmp_path / "a", "'{{hits}} hits out of {{requests}}: p50 {{p50_ms}} ms.'") == []
    assert fill("{{hits}} of {{requests}}", {"hits": 9, "requests": 10}) == "9 of 10"
    (unknown,) = _explained(tmp_path / "b", "'About {{stampedes}} stampedes.'")
    assert unknown.startswith("the explanation quotes {{stampedes}}, which this check does not measure")
    (contradiction,) = _explained(tmp_path / "c", "'Roughly 5 hits out of 10.'")
    assert contradiction.startswith("the explanation says '5 hits', where this run measured 9")


def test_a_choice_mistake_shows_its_options_why_and_its_own_feedback(tmp_path: Path) -> None:
    lesson = CHOICE.replace("        - {id: b, text: B}", "        - {id: b, text: B, why: B does the other thing.}")
    pack = load_pack_or_raise(write_pack(tmp_path / "pack", {"http/01.yaml": lesson}))
    step = pack.lessons[0].lesson.steps[0]
    with Session(pack, pack.lessons[0].lesson, Home(tmp_path / "home").ensure()) as session:
        session.start()
        session.begin_step(step)
        result = session.check(step, "b")
    assert result.feedback == "B does the other thing.\n\nB is the other thing."
