"""`sandboxes.api.cors` and `sandboxes.api.redirects`: which web pages may read the API's answers (the
Fetch standard's CORS protocol), and old paths that answer a redirect to new ones (RFC 9110 §15.4)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tutor.pack.base import Model

ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
CorsMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def _simple_methods() -> list[CorsMethod]:
    return ["GET", "HEAD", "POST"]


HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")


class CorsWeak(Model):
    """Deliberately wrong CORS, for an "exploit it, then see it" lesson only."""

    reflect_origin: bool = Field(
        default=False,
        description="Echo any `Origin` a request sends in `Access-Control-Allow-Origin`, with "
        "`Access-Control-Allow-Credentials: true`: every web page may read a logged-in user's answers.",
    )
    switchable: bool = Field(
        default=False,
        description="The learner may turn the weak mode off (and on) through `PUT /_sandbox/cors`, standing in "
        "for the code change.",
    )


class Cors(Model):
    """Which web pages' scripts may read this API's answers. The browser enforces it from the headers the
    API sends; curl, servers and other clients ignore it."""

    allow_origins: list[str] = Field(
        default_factory=list,
        description="Origins (`scheme://host[:port]`, no path) whose pages may read answers, compared exactly; "
        "`['*']` for any page, without credentials.",
    )
    allow_methods: list[CorsMethod] = Field(
        default_factory=_simple_methods,
        description="What a preflight answers in `Access-Control-Allow-Methods`.",
    )
    allow_headers: list[str] = Field(
        default_factory=lambda: ["Content-Type"],
        description="Request headers a preflight allows (`Access-Control-Allow-Headers`).",
    )
    expose_headers: list[str] = Field(
        default_factory=list,
        description="Response headers a page's script may read beyond the safelisted ones "
        "(`Access-Control-Expose-Headers`).",
    )
    allow_credentials: bool = Field(
        default=False,
        description="`Access-Control-Allow-Credentials: true`: a page may send the user's cookies and read "
        "the answer. Not with `*`: browsers refuse that answer.",
    )
    max_age: int = Field(default=600, ge=0, le=86400, description="Seconds a browser may keep a preflight's answer.")
    weak: CorsWeak | None = Field(default=None, description="A deliberately wrong mode, for an exploit lesson.")

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        if "*" in value and len(value) > 1:
            raise ValueError("`*` stands alone: it means any origin")
        for origin in value:
            if origin != "*" and not ORIGIN.match(origin):
                raise ValueError(f"'{origin}' is not an origin: scheme://host[:port], with no path or slash at the end")
        return value

    @field_validator("allow_headers", "expose_headers")
    @classmethod
    def _headers(cls, value: list[str]) -> list[str]:
        for name in value:
            if not HEADER_NAME.match(name):
                raise ValueError(f"'{name}' is not a header name")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Cors:
        if self.allow_credentials and self.allow_origins == ["*"]:
            raise ValueError(
                "`allow_credentials` with `allow_origins: ['*']`: browsers refuse an answer that allows any origin "
                "with credentials (the Fetch standard's CORS check); list the origins"
            )
        return self


class Redirect(Model):
    """An old path that answers a redirect to a new one, for every method: `{path: /v1/purchases, to:
    /v1/orders, status: 308}`. Paths under it move too (`/v1/purchases/5` -> `/v1/orders/5`), and the query
    string is kept."""

    path: str = Field(description="The old path: /v1/purchases")
    to: str = Field(description="The new path on this API (never another site: no open redirect).")
    status: Literal[301, 302, 303, 307, 308] = Field(
        description="301 and 302 (clients turn a POST into a GET), 303 (always a GET), 307 and 308 (same method "
        "and body); 301 and 308 are permanent."
    )

    @field_validator("path", "to")
    @classmethod
    def _path(cls, value: str) -> str:
        if (
            not re.fullmatch(r"/[A-Za-z0-9._~/-]{0,200}", value)
            or "//" in value
            or (value.endswith("/") and value != "/")
        ):
            raise ValueError(f"'{value}' is not a path of this API: /letters/digits, with no // and no / at the end")
        return value
