"""Each concept check kind accepts a right answer, rejects wrong ones, and says what differed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from tutor.checks import CheckContext, evaluate
from tutor.pack.checks import CheckSpec

ADAPTER: TypeAdapter[Any] = TypeAdapter(CheckSpec)


def check(spec: dict[str, Any], answer: Any) -> Any:
    return evaluate(ADAPTER.validate_python(spec), CheckContext(answer=answer))


CHOICE = {
    "kind": "choice",
    "options": [
        {"id": "a", "text": "A", "why": "A is wrong because of X."},
        {"id": "b", "text": "B", "why": "B is right because of Y."},
        {"id": "c", "text": "C"},
    ],
    "correct": "b",
}
MULTI = {**CHOICE, "multiple": True, "correct": ["a", "b"]}


def test_choice_accepts_the_right_option_with_its_why() -> None:
    result = check(CHOICE, "b")
    assert result.passed
    assert result.feedback == "B is right because of Y."


def test_choice_rejects_a_wrong_option_and_explains_it() -> None:
    result = check(CHOICE, "a")
    assert not result.passed
    assert result.summary == "Not this one: A"
    assert result.feedback == "A is wrong because of X."


def test_choice_rejects_an_unknown_option() -> None:
    result = check(CHOICE, "z")
    assert not result.passed
    assert "not one of the options" in result.summary


def test_multiple_choice_needs_exactly_the_right_set() -> None:
    assert check(MULTI, ["b", "a"]).passed
    missing = check(MULTI, ["a"])
    assert not missing.passed
    assert missing.first_difference == "a right one is not picked yet"  # not which: that is the answer
    extra = check(MULTI, ["a", "b", "c"])
    assert not extra.passed
    # the option's words, never its id
    assert extra.first_difference == "“C” should not be picked"
    assert extra.got == "A; B; C"
    assert extra.summary == "Not quite: 1 picked that should not be."


def test_no_answer_is_a_failed_check_saying_so() -> None:
    result = check(CHOICE, None)
    assert not result.passed
    assert "no answer yet" in result.summary
    assert not result.error


@pytest.mark.parametrize("answer", ["409", " 409 ", "409 Conflict", "409 conflict.", "409  CONFLICT"])
def test_text_accepts_normalised_answers(answer: str) -> None:
    assert check({"kind": "text", "accept": ["409", "409 conflict"]}, answer).passed


@pytest.mark.parametrize("answer", ["422", "40 9", "4090", "conflict", ""])
def test_text_rejects_other_answers(answer: str) -> None:
    result = check({"kind": "text", "accept": ["409", "409 conflict"]}, answer)
    assert not result.passed


def test_text_case_sensitive_when_asked() -> None:
    spec = {"kind": "text", "accept": ["ETag"], "case_sensitive": True}
    assert check(spec, "ETag").passed
    assert not check(spec, "etag").passed


def test_text_pattern_must_match_whole_answer() -> None:
    spec = {"kind": "text", "pattern": r"\s*409(\s+conflict)?\s*"}
    assert check(spec, "409 Conflict").passed
    result = check(spec, "4091")
    assert not result.passed
    assert result.got == "4091"


def test_number_within_tolerance() -> None:
    spec = {"kind": "number", "value": 2.0, "tolerance": 0.1, "unit": "minutes"}
    assert check(spec, "2").passed
    assert check(spec, "2.05").passed
    assert check(spec, 1.9).passed


def test_number_outside_tolerance_says_which_way() -> None:
    spec = {"kind": "number", "value": 2.0, "tolerance": 0.1, "unit": "minutes"}
    high = check(spec, "120")
    assert not high.passed
    assert high.summary == "120 minutes is too high."
    assert high.expected == "within 0.1 minutes of the answer"
    low = check(spec, "1.5")
    assert low.summary == "1.5 minutes is too low."


def test_number_relative_tolerance_and_non_numbers() -> None:
    spec = {"kind": "number", "value": 1000, "relative_tolerance": 0.05}
    assert check(spec, "1,040").passed
    assert not check(spec, "1060").passed
    bad = check(spec, "about a thousand")
    assert not bad.passed
    assert "is not a number" in bad.summary
    assert not check(spec, "nan").passed
    assert not check(spec, True).passed


def test_all_passes_only_when_every_part_does() -> None:
    spec = {"kind": "all", "checks": [{"kind": "text", "accept": ["x"]}, {"kind": "text", "pattern": "x+"}]}
    assert check(spec, "x").passed
    spec_fail = {"kind": "all", "checks": [{"kind": "text", "accept": ["x"]}, {"kind": "number", "value": 1}]}
    result = check(spec_fail, "x")
    assert not result.passed
    assert result.summary.startswith("Part 2 of 2: ")


def test_a_crashing_check_is_reported_not_raised() -> None:
    from tutor.checks import register
    from tutor.checks.base import CheckResult

    class Spec:
        kind = "explodes"

    @register("explodes")
    def explode(spec: Any, ctx: CheckContext) -> CheckResult:
        raise ZeroDivisionError("boom")

    result = evaluate(Spec(), CheckContext(answer="x"))
    assert not result.passed
    assert result.error
    assert "ZeroDivisionError: boom" in result.summary


def test_multiple_choice_passed_gives_each_reason_under_its_option() -> None:
    """The reasons of a "pick every one" step ran together with nothing to say which option each was about."""
    spec = TypeAdapter(CheckSpec).validate_python(
        {
            "kind": "choice",
            "multiple": True,
            "options": [
                {"id": "get", "text": "GET /v1/books/3", "why": "Safe, so sending it again changes nothing."},
                {"id": "put", "text": "PUT /v1/books/3", "why": "Idempotent: the second stores the same again."},
                {"id": "post", "text": "POST /v1/orders", "why": "Each one creates an order."},
            ],
            "correct": ["get", "put"],
        }
    )
    result = evaluate(spec, CheckContext(answer=["get", "put"]))
    assert result.passed
    assert result.feedback == (
        "- GET /v1/books/3: Safe, so sending it again changes nothing.\n"
        "- PUT /v1/books/3: Idempotent: the second stores the same again."
    )
