"""A learner whose requests are one of the step's declared wrong answers gets the author's feedback for it:
the requests may come with others in between, a `{name}` placeholder stands for any value, and when
several declared mistakes are in the traffic, the one made last (then the most specific) is meant."""

from __future__ import annotations

from pathlib import Path

from tests.pack.helpers import write_pack
from tutor.pack.actions import Action
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home
from tutor.session import Session

LESSON = """\
id: del
title: Delete it
track: http
sandboxes:
  sql:
    tables:
      - name: books
        rows: 20
        seed: 1
        primary_key: id
        columns:
          - {name: id, gen: sequence}
          - {name: title, gen: words}
  api:
    resources:
      - {name: books, table: books, writable: true}
steps:
  - id: delete
    title: Delete book 7
    text: Delete book 7.
    check:
      kind: http_traffic
      expect:
        - request: {method: DELETE, path: /v1/books/7}
          response: {status: 204}
    solution:
      requests: [{method: DELETE, path: /v1/books/7}]
    wrong_answers:
      - requests: [{method: GET, path: /v1/books/7}]
        feedback: GET only reads it.
      - requests: [{method: DELETE, path: /v1/books, query: {id: 7}}]
        feedback: The item has its own URL.
      - requests: [{method: DELETE, path: "/v1/books/{id}", headers: {X-Reason: "{why}"}}]
        feedback: That is another book, with a reason.
      - requests: [{method: DELETE, path: /v1/books/8, headers: {Idempotency-Key: made-up-by-the-author}}]
        feedback: Book 8, with a key of your own.
"""


def test_wrong_requests_get_their_feedback(tmp_path: Path, tutor_home: Path) -> None:
    pack = load_pack_or_raise(write_pack(tmp_path / "pack", {"http/01.yaml": LESSON}))
    lesson = pack.lesson("del")
    assert lesson is not None
    step = lesson.steps[0]
    with Session(pack, lesson, Home(tutor_home)) as session:
        session.start()
        assert session.api is not None
        session.begin_step(step)
        session.api.send("GET", "/v1/books", source=None)
        nothing = session.check(step)
        assert not nothing.passed and nothing.feedback is None  # a list request is none of the mistakes

        session.api.send("GET", "/v1/books/7", source=None)
        session.api.send("GET", "/v1/books", source=None)  # something else in between does not matter
        assert session.check(step).feedback == "GET only reads it."

        session.api.send("DELETE", "/v1/books", source=None, params={"id": "7", "force": "1"})
        assert session.check(step).feedback == "GET only reads it."  # an extra query parameter: not that one

        session.api.send("DELETE", "/v1/books", source=None, params={"id": "7"})
        assert session.check(step).feedback == "The item has its own URL."  # the latest mistake wins

        session.api.send("DELETE", "/v1/books/3", source=None, headers={"X-Reason": "tidy"})
        assert session.check(step).feedback == "That is another book, with a reason."

        session.api.send("DELETE", "/v1/books/8", source=None, headers={"Idempotency-Key": "a-learner-uuid"})
        assert session.check(step).feedback == "Book 8, with a key of your own."  # any key is that mistake

        session.api.send("DELETE", "/v1/books/7", source=None)
        assert session.check(step).passed


def test_a_request_with_a_token_or_a_condition_is_not_a_mistake_declared_without_one(
    tmp_path: Path, tutor_home: Path
) -> None:
    """A declared "GET only reads it" sent with no headers must not speak to a learner whose GET carried
    credentials or a condition: that is another request, and the feedback would contradict their screen."""
    pack = load_pack_or_raise(write_pack(tmp_path / "pack", {"http/01.yaml": LESSON}))
    lesson = pack.lesson("del")
    assert lesson is not None
    step = lesson.steps[0]
    with Session(pack, lesson, Home(tutor_home)) as session:
        session.start()
        assert session.api is not None
        session.begin_step(step)
        for headers in ({"Authorization": "Bearer abc"}, {"If-None-Match": '"v1"'}, {"Cookie": "sid=1"}):
            session.api.send("GET", "/v1/books/7", source=None, headers=headers)
            assert session.check(step).feedback is None, headers
        session.api.send("GET", "/v1/books/7", source=None, headers={"User-Agent": "curl/8.5", "Accept": "*/*"})
        assert session.check(step).feedback == "GET only reads it."  # what every client adds changes nothing


STALE = """\
id: stale
title: Stale
track: http
sandboxes:
  sql:
    tables:
      - name: books
        rows: 20
        seed: 1
        primary_key: id
        columns:
          - {name: id, gen: sequence}
          - {name: price, gen: int, min: 1, max: 9}
  api:
    resources: [{name: books, table: books}]
    caching: {app_cache_ttl: 300}
steps:
  - id: stale-read
    title: A stale read
    text: Read book 2, change its price in SQL, read it again.
    check:
      kind: http_traffic
      expect:
        - request: {method: GET, path: /v1/books/2}
          response: {status: 200, headers: {X-Cache: HIT}, json: {price: {not: 5}}}
          after_sql: {keyword: UPDATE}
    solution:
      requests:
        - {method: GET, path: /v1/books/2}
        - {sql: "UPDATE books SET price = 5 WHERE id = 2"}
        - {method: GET, path: /v1/books/2}
    wrong_answers:
      - requests:
          - {sql: "UPDATE books SET price = 5 WHERE id = 2"}
          - {method: GET, path: /v1/books/2}
          - {method: GET, path: /v1/books/2}
        feedback: The first read came after the change, so the cache stored the new price.
      - requests:
          - {method: GET, path: /v1/books/2}
          - {method: GET, path: /v1/books/2}
          - {sql: "UPDATE books SET price = 5 WHERE id = 2"}
        feedback: Both reads came before the change; read once more after it.
"""


def test_two_mistakes_that_differ_in_where_the_sql_ran_get_their_own_feedback(tmp_path: Path, tutor_home: Path) -> None:
    pack = load_pack_or_raise(write_pack(tmp_path / "pack", {"http/01.yaml": STALE}))
    lesson = pack.lesson("stale")
    assert lesson is not None
    step = lesson.steps[0]
    with Session(pack, lesson, Home(tutor_home)) as session:
        session.start()
        feedback = []
        for wrong in step.wrong_answers:
            session.begin_step(step)
            session.apply(wrong)
            result = session.check(step)
            assert not result.passed
            feedback.append(result.feedback)
            session.reset_step()
    assert feedback == [w.feedback for w in step.wrong_answers]


ORDERED = """\
id: ordered
title: Before and after
track: http
sandboxes:
  sql:
    tables:
      - name: books
        rows: 20
        seed: 1
        primary_key: id
        columns:
          - {name: id, gen: sequence}
          - {name: title, gen: words}
  api:
    resources: [{name: books, table: books, latency_ms: 50}]
steps:
  - id: after-the-index
    title: After the index
    text: Create the index, then send the request with your id.
    check:
      kind: http_traffic
      expect:
        - request: {method: DELETE, path: /v1/books/1}
    solution:
      requests: [{method: DELETE, path: /v1/books/1}]
    wrong_answers:
      - sql: CREATE INDEX ix_title ON books(title)
        requests: [{method: GET, path: /v1/books/1}]
        feedback: The index first, but the request without your id.
      - requests:
          - {method: GET, path: /v1/books/1, headers: {X-Request-Id: mine}}
          - {sql: "CREATE INDEX ix_title ON books(title)"}
        feedback: Your request came before the index.
      - requests: [{method: GET, path: /v1/books/1, repeat: 5, concurrency: 1}]
        feedback: A load test one at a time.
      - requests:
          - {sql: "UPDATE books SET title = 'a' WHERE id = 2"}
          - {method: GET, path: /v1/books/1, repeat: 5, concurrency: 2}
          - {sql: "UPDATE books SET title = 'b' WHERE id = 2"}
        feedback: The load test ran between the two changes.
      - requests: [{method: GET, path: /v1/books/1, repeat: 3, concurrency: 5}]
        feedback: Only three.
"""


def test_a_mistake_with_sql_between_its_requests_is_as_specific_as_one_with_sql_before(
    tmp_path: Path, tutor_home: Path
) -> None:
    """SQL between a wrong answer's requests (a request before the index, a load test run while the index
    was gone) makes it as specific as SQL before them: each of these mistakes gets its own feedback, not
    that of a mistake whose requests its traffic also contains."""
    pack = load_pack_or_raise(write_pack(tmp_path / "pack", {"http/01.yaml": ORDERED}))
    lesson = pack.lesson("ordered")
    assert lesson is not None
    step = lesson.steps[0]
    with Session(pack, lesson, Home(tutor_home)) as session:
        session.start()
        feedback = []
        for wrong in step.wrong_answers:
            session.begin_step(step)
            session.apply(wrong)
            result = session.check(step)
            assert not result.passed
            feedback.append(result.feedback)
            session.reset_step()
    assert feedback == [w.feedback for w in step.wrong_answers]


def test_a_load_test_gets_the_feedback_of_a_slower_one_only_when_it_was_as_slow(
    tmp_path: Path, tutor_home: Path
) -> None:
    """A declared load test describes a burst with no more in flight than it declares, and no more
    requests: the same requests sent five at once that fail for another reason get neither the feedback
    of the run one at a time nor that of the run of three."""
    pack = load_pack_or_raise(write_pack(tmp_path / "pack", {"http/01.yaml": ORDERED}))
    lesson = pack.lesson("ordered")
    assert lesson is not None
    step = lesson.steps[0]
    with Session(pack, lesson, Home(tutor_home)) as session:
        session.start()
        session.begin_step(step)
        session.apply(Action.model_validate({"requests": [{"path": "/v1/books/1", "repeat": 5, "concurrency": 5}]}))
        result = session.check(step)
    assert not result.passed
    assert result.feedback not in ("A load test one at a time.", "Only three."), result.feedback
