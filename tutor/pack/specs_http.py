"""Check kinds that read the sandbox API's traffic log, send their own requests, or read a request's flow."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from tutor.pack.actions import HttpMethod, HttpRequest
from tutor.pack.base import Model, NonEmpty

JSON_PATH_HELP = "Dotted path into the JSON body: 'items[0].id', 'token', 'meta.total'."


class RequestMatch(Model):
    """Which recorded requests count. Every given field must match."""

    method: HttpMethod | None = None
    path: str | None = Field(default=None, description="Exact path without the query string: /v1/books")
    path_pattern: str | None = Field(default=None, description="A regular expression the path fully matches.")
    query: dict[str, str] = Field(default_factory=dict, description="Query parameters that must be present.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Request headers that must be present; '*' matches any value."
    )
    absent_headers: list[str] = Field(
        default_factory=list, description="Request headers that must not be sent: [If-None-Match]."
    )
    json_fields: dict[str, Any] = Field(default_factory=dict, alias="json", description=JSON_PATH_HELP)


class ResponseExpect(Model):
    status: int | list[int] | None = Field(default=None, description="A status code, or a list of allowed ones.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Response headers that must be present; '*' matches any value."
    )
    absent_headers: list[str] = Field(default_factory=list)
    header_lists: dict[str, list[str]] = Field(
        default_factory=dict,
        description="List-valued headers (Cache-Control, Vary, Allow) that must hold these elements, in any "
        "order and case: {Cache-Control: [no-store]}. 'max-age' matches any max-age=N; 'max-age=30' only "
        "that value; '!public' means the element must not be there.",
    )
    json_fields: dict[str, Any] = Field(default_factory=dict, alias="json", description=JSON_PATH_HELP)


class TrafficExpectation(Model):
    request: RequestMatch = Field(default_factory=RequestMatch)
    response: ResponseExpect = Field(default_factory=ResponseExpect)
    at_least: int = Field(default=1, ge=1, description="How many matching exchanges there must be.")


class HttpTrafficCheck(Model):
    """The traffic log (since the step opened) holds exchanges matching each expectation."""

    kind: Literal["http_traffic"]
    expect: list[TrafficExpectation] = Field(min_length=1)
    in_order: bool = False
    source: Literal["any", "outside", "workbench"] = Field(
        default="any", description="'outside': only requests from curl, a browser or another client count."
    )


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
    value_from: NonEmpty = Field(description="'json:PATH', 'header:NAME' or 'status'.")
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
