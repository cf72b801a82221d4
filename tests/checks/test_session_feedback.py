"""A learner whose SQL is one of the step's declared wrong answers gets the author's feedback for it."""

from __future__ import annotations

from pathlib import Path

from tests.pack.helpers import write_pack
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home
from tutor.session import Session

LESSON = """\
id: idx
title: Index it
track: databases
sandboxes:
  sql:
    tables:
      - name: books
        rows: 200
        seed: 1
        primary_key: id
        columns:
          - {name: id, gen: sequence}
          - {name: title, gen: words}
          - {name: author_id, gen: int, min: 1, max: 20}
steps:
  - id: fix
    title: Fix it
    text: Index the column the author query filters on.
    check:
      kind: sql_schema
      indexes: [{table: books, columns: [author_id]}]
    solution: {sql: "CREATE INDEX ix_a ON books(author_id)"}
    wrong_answers:
      - sql: CREATE INDEX ix_t ON books(title);
        feedback: An index helps only the columns a query filters or sorts on.
"""


def test_wrong_sql_gets_its_feedback_and_other_sql_does_not(tmp_path: Path, tutor_home: Path) -> None:
    pack = load_pack_or_raise(write_pack(tmp_path / "pack", {"databases/01.yaml": LESSON}))
    lesson = pack.lesson("idx")
    assert lesson is not None
    step = lesson.steps[0]
    with Session(pack, lesson, Home(tutor_home)) as session:
        session.start()
        session.begin_step(step)
        session.sql.run_learner("create   index IX_T on books(title)")  # same statement, other spacing and case
        wrong = session.check(step)
        assert not wrong.passed
        assert wrong.feedback == "An index helps only the columns a query filters or sorts on."
        session.sql.run_learner("SELECT count(*) FROM books")  # the learner moved on: no longer that answer
        other = session.check(step)
        assert not other.passed and other.feedback is None
        session.sql.run_learner("CREATE INDEX ix_a ON books(author_id);")
        assert session.check(step).passed
