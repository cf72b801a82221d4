"""Check kinds that read the sandbox API's traffic log, send their own requests, or read a request's flow."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tutor.pack.actions import HttpMethod, HttpRequest
from tutor.pack.base import Identifier, Model, NonEmpty
from tutor.pack.specs_sql import StatementFilter

JSON_PATH_HELP = "Dotted path into the JSON body: 'items[0].id', 'token', 'meta.total'."
VALUE_SOURCE_HELP = (
    "Where a response holds the value: 'header:NAME', 'json:PATH' ('items[*].id' for every item, "
    "'items[-1].id' for the last), 'cookie:NAME' (set by Set-Cookie), 'sf:NAME[MEMBER][;PARAM]' (a member or "
    "parameter of a Structured Field such as RateLimit-Policy, RFC 9651: 'sf:RateLimit-Policy;q'), or 'status'."
)
MATCHER_HELP = (
    "A literal value, '*' (present, any value), or a matcher: {given: ...} (a value the server gave the "
    "learner), {not: V}, {one_of: [...]}, {pattern: REGEX}, {at_least: N, at_most: M}."
)


def _valid_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


def _valid_source(value: str) -> str:
    kind, sep, rest = value.partition(":")
    if value == "status" or (sep and kind in ("header", "json", "cookie", "sf") and rest.strip()):
        return value
    raise ValueError(f"'{value}' is not 'header:NAME', 'json:PATH', 'cookie:NAME', 'sf:NAME' or 'status'")


class Given(Model):
    """A value with provenance: the learner sent a value the server gave them (in a response of theirs),
    not one they made up or copied from the lesson text. `which` says which of the given values counts:
    `latest` (the newest one before this request: the current ETag, the newest refresh token, the
    cursor of the previous page) or `superseded` (one a later response replaced: a stale ETag, an
    old refresh token)."""

    given: NonEmpty = Field(description=VALUE_SOURCE_HELP)
    from_: RequestMatch | None = Field(
        default=None,
        alias="from",
        description="Only responses to requests like this count as giving it (default: any response the learner got).",
    )
    which: Literal["any", "latest", "superseded"] = Field(
        default="any",
        description="`any`: any value given before this request; `latest`: the newest given before it; "
        "`superseded`: one given earlier and replaced by a newer one before this request.",
    )
    since: Literal["step", "lesson"] = Field(
        default="step",
        description="`step`: given since the step opened; `lesson`: at any time in this lesson (a login of an "
        "earlier step).",
    )
    add: float | None = Field(
        default=None, description="Compare with the given number plus this (the id after the last one shown)."
    )

    _source = field_validator("given")(_valid_source)


class NotEqual(Model):
    """Present, and not this value."""

    not_: Any = Field(alias="not")


class OneOf(Model):
    """Equal to one of these values."""

    one_of: list[Any] = Field(min_length=1)


class Pattern(Model):
    """Text that fully matches this regular expression."""

    pattern: NonEmpty

    _regex = field_validator("pattern")(_valid_regex)


class Between(Model):
    """A number within these bounds (inclusive)."""

    at_least: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Between:
        if self.at_least is None and self.at_most is None:
            raise ValueError("give `at_least`, `at_most` or both")
        return self


Matcher = Given | NotEqual | OneOf | Pattern | Between
TextValue = Matcher | str
"""A header, query or path value: text, '*', or a matcher."""
AnyValue = Matcher | Any
"""A JSON body field: any JSON value, '*', or a matcher."""


class RequestMatch(Model):
    """Which recorded requests count. Every given field must match."""

    method: HttpMethod | None = None
    head_for_get: bool = Field(
        default=False,
        description="With `method: GET`: a HEAD request counts too (use it when the step reads only headers; "
        "a HEAD is a GET without the body, RFC 9110 §9.3.2).",
    )
    path: str | None = Field(default=None, description="Exact path without the query string: /v1/books")
    path_pattern: str | None = Field(
        default=None,
        description="A regular expression the path fully matches; named groups (?P<id>...) can be matched "
        "with `path_groups`.",
    )
    path_groups: dict[str, TextValue] = Field(
        default_factory=dict,
        description="Values of `path_pattern`'s named groups: {id: {given: 'json:items[*].id'}} (an id the "
        "learner was shown).",
    )
    query: dict[str, TextValue] = Field(
        default_factory=dict, description="Query parameters that must be present. " + MATCHER_HELP
    )
    headers: dict[str, TextValue] = Field(
        default_factory=dict,
        description="Request headers that must be present. " + MATCHER_HELP + " Compared as HTTP means them: "
        "If-None-Match and If-Match as lists of entity tags (weak and strong comparison, RFC 9110 §13.1), "
        "If-Modified-Since and If-Unmodified-Since as dates, Authorization by its credentials (the scheme is "
        "case-insensitive).",
    )
    cookies: dict[str, TextValue] = Field(
        default_factory=dict, description="Cookies the request's Cookie header must carry, by name."
    )
    absent_headers: list[str] = Field(
        default_factory=list, description="Request headers that must not be sent: [If-None-Match]."
    )
    json_fields: dict[str, AnyValue] = Field(
        default_factory=dict, alias="json", description=JSON_PATH_HELP + " " + MATCHER_HELP
    )

    _pattern = field_validator("path_pattern")(lambda v: v if v is None else _valid_regex(v))

    @model_validator(mode="after")
    def _check(self) -> RequestMatch:
        if self.head_for_get and self.method != "GET":
            raise ValueError("`head_for_get` goes with `method: GET`")
        if self.path_groups:
            if self.path_pattern is None:
                raise ValueError("`path_groups` needs a `path_pattern` with named groups")
            names = set(re.compile(self.path_pattern).groupindex)
            unknown = sorted(set(self.path_groups) - names)
            if unknown:
                raise ValueError(f"`path_pattern` has no group named {', '.join(unknown)}")
        return self


class AnyOf(Model):
    """One of several sets of list elements: {any_of: [[no-cache], [max-age=0, must-revalidate]]}."""

    any_of: list[list[NonEmpty]] = Field(min_length=2)


class ResponseExpect(Model):
    status: int | list[int] | None = Field(default=None, description="A status code, or a list of allowed ones.")
    headers: dict[str, TextValue] = Field(
        default_factory=dict, description="Response headers that must be present. " + MATCHER_HELP
    )
    absent_headers: list[str] = Field(default_factory=list)
    header_lists: dict[str, list[AnyOf | NonEmpty]] = Field(
        default_factory=dict,
        description="List-valued headers (Cache-Control, Vary, Allow) that must hold these elements, in any "
        "order and case: {Cache-Control: [no-store]}. 'max-age' matches any max-age=N; 'max-age=30' only "
        "that value; '!public' means the element must not be there; {any_of: [[no-cache], [max-age=0, "
        "must-revalidate]]} accepts either set (equivalent spellings of one policy).",
    )
    etag: bool = Field(
        default=False, description="The response carries an ETag that is a well-formed entity tag (with its quotes)."
    )
    json_fields: dict[str, AnyValue] = Field(
        default_factory=dict, alias="json", description=JSON_PATH_HELP + " " + MATCHER_HELP
    )


class TrafficExpectation(Model):
    request: RequestMatch = Field(default_factory=RequestMatch)
    response: ResponseExpect = Field(default_factory=ResponseExpect)
    at_least: int = Field(default=1, ge=1, description="How many matching exchanges there must be.")
    after_sql: StatementFilter | None = Field(
        default=None,
        description="This request came after the learner ran a statement like this in the SQL workbench (a "
        "read of a cached copy after a change the API did not see).",
    )
    wait_after_previous: float | NonEmpty | None = Field(
        default=None,
        description="With `in_order`: this request came at least this long after the previous expectation's, "
        "by the lesson clock: seconds, or a value read from that response ('header:Retry-After').",
    )

    none_between: list[RequestMatch] = Field(
        default_factory=list,
        description="With `in_order`: no request like these came between the previous expectation's request and "
        "this one (the cache emptied by hand between a write and the read that shows the write's effect).",
    )
    at_once: int | None = Field(
        default=None,
        ge=2,
        description="At least this many of the matching requests were in flight at one moment: a burst or a load "
        "test sent concurrently, not one request after another.",
    )
    max_p99_ms: float | None = Field(
        default=None,
        gt=0,
        description="The server's p99 over the matching requests (the time from arrival to the last byte, as the "
        "log's `duration_ms`) is at most this many milliseconds: a fix proven on the learner's own load test. "
        "Needs `at_least` of 100 or more, so that a p99 means something.",
    )
    no_full_scan: list[Identifier] = Field(
        default_factory=list,
        description="Only the matching requests whose own flow read none of these tables end to end count (for "
        "`at_least`, `at_once` and `max_p99_ms`): a load test proves an index only when run after it, whatever "
        "the machine's speed.",
    )
    given_before_previous: bool = Field(
        default=False,
        description="With `in_order`: every `{given: ...}` value of this request (its headers, query and cookies) "
        "was given before the previous expectation's request: the token from the login before the logout, not one "
        "from a login after it.",
    )

    @model_validator(mode="after")
    def _p99_of_enough(self) -> TrafficExpectation:
        if self.max_p99_ms is not None and self.at_least < 100:
            raise ValueError("`max_p99_ms` needs `at_least` of 100 or more: the p99 of fewer requests is their slowest")
        return self

    @field_validator("wait_after_previous")
    @classmethod
    def _wait(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, str):
            return _valid_source(value)
        return value


class HttpTrafficCheck(Model):
    """The traffic log (since the step opened) holds exchanges matching each expectation."""

    kind: Literal["http_traffic"]
    expect: list[TrafficExpectation] = Field(min_length=1)
    in_order: bool = False
    source: Literal["any", "outside", "workbench"] = Field(
        default="any", description="'outside': only requests from curl, a browser or another client count."
    )
    same_caller: bool = Field(
        default=False,
        description="Every matched request came from the same caller (the same credentials, or with none "
        "the same address), as a rate limit or a session sees callers.",
    )

    @model_validator(mode="after")
    def _order(self) -> HttpTrafficCheck:
        if any(e.wait_after_previous is not None for e in self.expect[1:]) and not self.in_order:
            raise ValueError("`wait_after_previous` needs `in_order: true`")
        if self.expect[0].wait_after_previous is not None:
            raise ValueError("the first expectation has no previous one to wait after")
        return self


class ProbeStep(Model):
    request: HttpRequest
    expect: ResponseExpect = Field(default_factory=ResponseExpect)
    save: dict[str, str] = Field(
        default_factory=dict,
        description="Values to carry to later requests: name -> 'json:PATH', 'header:NAME' or 'status'.",
    )


class HttpProbeCheck(Model):
    """The checker sends its own requests, in order, and asserts on each response."""

    kind: Literal["http_probe"]
    steps: list[ProbeStep] = Field(min_length=1)


class HttpValueCheck(Model):
    """The learner types a value that must equal one read from the sandbox."""

    kind: Literal["http_value"]
    request: HttpRequest
    value_from: NonEmpty = Field(description=VALUE_SOURCE_HELP)
    case_sensitive: bool = True
    what: str | None = Field(
        default=None,
        description="The value in the learner's words, for a wrong answer: 'That is not {what}.' Without it, "
        "the text names the request and the field to read, which is right when reading the response is the task.",
    )


class HttpFlowCheck(Model):
    """Assertions over what happened inside a request: SQL statements, scans, cache, auth order.

    They read the flow of the learner's last request (since the step opened) that matches `request`.
    Cost is judged in SQL statements or SQLite VM steps, never in wall time."""

    kind: Literal["http_flow"]
    request: RequestMatch = Field(default_factory=RequestMatch, description="The last request matching this.")
    max_sql_statements: int | None = Field(default=None, ge=0)
    no_full_scan: bool | list[str] = Field(
        default=False,
        description="true: no statement reads a whole table; or a list of tables that must not be read whole.",
    )
    cache_hit_on_repeat: bool = Field(
        default=False,
        description="The checker sends the same GET again itself (with the learner's headers); "
        "the application cache must answer it (X-Cache HIT, no SQL).",
    )
    auth_before_db: bool = Field(
        default=False, description="Auth was decided (allowed or refused) before the first SQL statement."
    )
    max_vm_steps: int | None = Field(
        default=None,
        ge=1,
        description="Total SQLite VM steps of the request's SQL: exact for statements of up to 25,000 steps, "
        "counted to the thousand beyond.",
    )
    status: int | None = None
    response: ResponseExpect | None = Field(
        default=None, description="The same request's response must also match this (a full page, say)."
    )

    @model_validator(mode="after")
    def _check(self) -> HttpFlowCheck:
        if not (
            self.max_sql_statements is not None
            or self.no_full_scan
            or self.cache_hit_on_repeat
            or self.auth_before_db
            or self.max_vm_steps is not None
            or self.status is not None
            or self.response is not None
        ):
            raise ValueError("give at least one assertion about the flow")
        return self


Given.model_rebuild()
