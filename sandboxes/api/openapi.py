"""The sandbox's OpenAPI 3.1 document, generated from the lesson's settings and its database schema,
and an offline `/docs` page.

The document is meant to be the truth about the API, so that a schema-driven client or fuzzer can rely
on it (tests/api/test_openapi_fuzz.py runs schemathesis against every built-in lesson's API):

- request bodies list exactly the fields a resource accepts, with their types from the table's columns,
  the required ones, and `additionalProperties: false` (an unknown field is a 422);
- query parameters carry the bounds and patterns the server enforces (`limit`, `offset`, `sort`);
- every status a route can answer is listed with its body: JSON for success, problem details for errors.

The docs page is one self-contained HTML file (no CDN, no network): it reads `/openapi.json`, lists
every operation and lets the learner send requests from the browser.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sandboxes.api.database import Column, Database
from sandboxes.api.jsonio import MAX_INT, MAX_TEXT
from sandboxes.api.problems import VALIDATION_TYPE
from tutor.pack.sandbox_api import ApiSettings, Resource

STRING = {"type": "string"}


def _problem(description: str, problem_json: bool, *, retry_after: bool = False) -> dict[str, Any]:
    media = "application/problem+json" if problem_json else "application/json"
    answer: dict[str, Any] = {
        "description": description,
        "content": {media: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if retry_after:  # RFC 9110 §10.2.3, in seconds
        answer["headers"] = {
            "Retry-After": {"description": "Seconds to wait", "required": True, "schema": {"type": "integer"}}
        }
    return answer


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _param(
    name: str, where: str, description: str, schema: dict[str, Any] | None = None, required: bool | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path" if required is None else required,
        "description": description,
        "schema": schema or dict(STRING),
    }


def column_schema(column: Column, nullable: bool) -> dict[str, Any]:
    """What a JSON value for `column` may be: the rules `resources._check_value` enforces."""
    affinity = column.affinity
    if affinity == "INTEGER":
        schema: dict[str, Any] = {"type": "integer", "minimum": -MAX_INT, "maximum": MAX_INT}
    elif affinity in ("REAL", "NUMERIC"):
        schema = {"type": "number", "minimum": -(2.0**1023), "maximum": 2.0**1023}
    elif affinity == "TEXT":
        schema = {"type": "string", "maxLength": MAX_TEXT}
    else:  # no declared type: any single value (numbers in the range every number column keeps)
        return {
            "type": ["string", "number", "boolean", "null"] if nullable else ["string", "number", "boolean"],
            "minimum": -(2.0**1023),
            "maximum": 2.0**1023,
        }
    if nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def _value_schema(column: Column) -> dict[str, Any]:
    """A stored value as a response shows it (whatever SQLite holds: its affinity is not a constraint)."""
    schema = column_schema(column, nullable=not column.notnull)
    if column.affinity in ("INTEGER", "REAL", "NUMERIC", "TEXT"):
        # SQLite keeps a value that does not convert as it came ('abc' in an INTEGER column)
        return {"type": ["string", "number", "null"] if not column.notnull else ["string", "number"]}
    return schema


class _Columns:
    """The columns of the lesson database's tables, read once (None when there is no database)."""

    def __init__(self, state: Any) -> None:
        self.db: Database | None = getattr(state, "db", None)
        self.cache: dict[str, list[Column] | None] = {}

    def of(self, table: str) -> list[Column] | None:
        if table not in self.cache:
            self.cache[table] = None
            if self.db is not None and self.db.available:
                try:
                    with self.db.connect() as conn:
                        self.cache[table] = Database.columns(conn, table) or None
                except (sqlite3.Error, OSError):
                    self.cache[table] = None
        return self.cache[table]


def _item_schema(resource: Resource, columns: _Columns) -> dict[str, Any]:
    cols = columns.of(resource.table)
    if cols is None:
        return {"type": "object"}
    shown = [c for c in cols if not resource.fields or c.name in {resource.id_column, *resource.fields}]
    properties: dict[str, Any] = {c.name: _value_schema(c) for c in shown}
    for relation in resource.relations:
        related = columns.of(relation.table)
        embedded: dict[str, Any] = {"type": ["object", "null"]}
        if related is not None:
            embedded["properties"] = {c.name: _value_schema(c) for c in related}
        properties[relation.name] = embedded
    return {"type": "object", "properties": properties, "required": [c.name for c in shown]}


def _body_schemas(resource: Resource, columns: _Columns) -> dict[str, dict[str, Any]] | None:
    """Request bodies of POST, PUT and PATCH, from the same rules `ResourceApi._validate` applies."""
    cols = columns.of(resource.table)
    if cols is None:
        return None
    by_name = {c.name: c for c in cols}
    writable = [c for c in cols if not resource.fields or c.name in {resource.id_column, *resource.fields}]
    required = list(resource.required)
    for column in cols:
        auto = column.pk and column.affinity == "INTEGER"
        if column.notnull and not column.has_default and not auto and column.name not in required:
            required.append(column.name)
    required = [name for name in required if name in by_name]

    def schema(mode: str) -> dict[str, Any]:
        props = {
            c.name: column_schema(c, nullable=not c.notnull and c.name not in required)
            for c in writable
            if mode == "create" or c.name != resource.id_column
        }
        body: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        needed = [n for n in required if n in props] if mode != "patch" else []
        if needed:
            body["required"] = needed
        return body

    return {"create": schema("create"), "replace": schema("replace"), "patch": schema("patch")}


def _list_schema(resource: Resource, version: str, item: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"limit": {"type": "integer"}}
    if resource.pagination == "offset":
        meta.update(total={"type": "integer"}, offset={"type": "integer"})
    if resource.pagination == "cursor":
        meta["next_cursor"] = {"type": ["string", "null"]}
    items = {"type": "array", "items": item}
    if version == "v1":
        return {"type": "object", "properties": {"items": items, **meta}, "required": ["items"]}
    return {
        "type": "object",
        "properties": {
            "data": items,
            "meta": {"type": "object", "properties": meta},
            "links": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["data", "meta", "links"],
    }


def _resource_paths(resource: Resource, version: str, settings: ApiSettings, columns: _Columns) -> dict[str, Any]:
    from sandboxes.api.resources import sort_pattern

    pj = settings.problem_json
    tag = f"{resource.name} ({version})"
    params = [_param(q, "query", f"Only items whose {c} equals this") for q, c in resource.filters.items()]
    if resource.sortable:
        most = 1 if resource.pagination == "cursor" else None
        params.append(
            _param(
                "sort",
                "query",
                "Comma-separated columns, '-' before one for descending: " + ", ".join(resource.sortable),
                {"type": "string", "pattern": sort_pattern(resource.sortable, most)},
            )
        )
    if resource.pagination != "none":
        params.append(
            _param(
                "limit",
                "query",
                f"Page size (default {resource.page_size}, at most {resource.max_page_size})",
                {"type": "integer", "minimum": 1, "maximum": resource.max_page_size},
            )
        )
    if resource.pagination == "offset":
        params.append(_param("offset", "query", "Items to skip", {"type": "integer", "minimum": 0, "maximum": 10**12}))
    if resource.pagination == "cursor":
        params.append(_param("cursor", "query", "The next_cursor of the previous page (opaque)"))
    headers = []
    if settings.caching and settings.caching.etag:
        headers.append(_param("If-None-Match", "header", "An ETag you hold: 304 if unchanged"))
    item = _item_schema(resource, columns)
    item_body = item if version == "v1" else {"type": "object", "properties": {"data": item}, "required": ["data"]}
    errors: dict[str, Any] = {}
    if settings.rate_limit is not None:
        errors["429"] = _problem("Too many requests: wait Retry-After seconds", pj)
    errors["413"] = _problem("The request body is over 1 MiB", pj)
    reads: dict[str, Any] = {"200": _ok("OK", _list_schema(resource, version, item)), **errors}
    if settings.caching or resource.require_preconditions:
        reads["304"] = {"description": "Not Modified: the copy you hold (If-None-Match) is current"}
        reads["412"] = _problem("If-Match or If-Unmodified-Since does not hold", pj)
    if resource.auth == "read":
        reads["401"] = _problem("Not logged in, or the token is not valid", pj)
    if params:
        reads["400"] = _problem("A query parameter is not valid", pj)
    security: list[dict[str, list[str]]] = [{"bearer": []}] if resource.auth == "read" else []
    protected = resource.auth != "none" or resource.write_role
    write_security: list[dict[str, list[str]]] = [{"bearer": []}] if protected else []
    collection: dict[str, Any] = {
        "get": {
            "tags": [tag],
            "summary": f"List {resource.name}",
            "parameters": params + headers,
            "responses": reads,
            "security": security,
        },
    }
    item_id = _param("id", "path", "The item's id")
    item_reads = {k: v for k, v in reads.items() if k != "400"}
    item_reads["200"] = _ok("OK", item_body)
    item_reads["404"] = _problem("No item with this id", pj)
    item_ops: dict[str, Any] = {
        "get": {
            "tags": [tag],
            "summary": f"One of {resource.name}",
            "parameters": [item_id, *headers],
            "responses": item_reads,
            "security": security,
        },
    }
    if resource.writable:
        bodies = _body_schemas(resource, columns)
        write_errors: dict[str, Any] = {
            **errors,
            "400": _problem("The body is not JSON", pj),
            "409": _problem("It conflicts with a stored item (a unique value, a missing referenced item)", pj),
            "415": _problem("The body is not sent as application/json", pj),
            "422": _problem("The body breaks the resource's rules (see `errors`)", pj),
        }
        if protected:
            write_errors["401"] = _problem("Not logged in, or the token is not valid", pj)
        forbidden = []
        if resource.write_role:
            forbidden.append(f"Logged in without role '{resource.write_role}'")
        if resource.owner_column and settings.auth is not None:
            forbidden.append(f"The body gives the row to another user ('{resource.owner_column}')")
        if forbidden:
            write_errors["403"] = _problem("; or ".join(forbidden), pj)

        def request_body(mode: str) -> dict[str, Any]:
            schema = bodies[mode] if bodies else {"type": "object"}
            return {"required": True, "content": {"application/json": {"schema": schema}}}

        post_params = []
        if settings.idempotency_keys:
            post_params.append(
                _param(
                    "Idempotency-Key",
                    "header",
                    "Retry-safe key (1 to 255 characters)",
                    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S"},
                )
            )
        collection["post"] = {
            "tags": [tag],
            "summary": f"Create one of {resource.name}",
            "requestBody": request_body("create"),
            "parameters": post_params,
            "security": write_security,
            "responses": {"201": _ok("Created (Location: its URL)", item_body), **write_errors},
        }
        item_write_errors = {
            **write_errors,
            "404": _problem("No item with this id", pj),
            "412": _problem("If-Match, If-Unmodified-Since or If-None-Match does not hold", pj),
        }
        if resource.require_preconditions:
            item_write_errors["428"] = _problem("Send If-Match (or If-Unmodified-Since)", pj)
        for method, mode, summary in (("put", "replace", "Replace"), ("patch", "patch", "Change some fields of")):
            item_ops[method] = {
                "tags": [tag],
                "summary": f"{summary} one of {resource.name}",
                "parameters": [item_id],
                "requestBody": request_body(mode),
                "security": write_security,
                "responses": {"200": _ok("Changed", item_body), **item_write_errors},
            }
        delete_errors = {k: v for k, v in item_write_errors.items() if k not in ("400", "415", "422")}
        item_ops["delete"] = {
            "tags": [tag],
            "summary": f"Delete one of {resource.name}",
            "parameters": [item_id],
            "security": write_security,
            "responses": {"204": {"description": "Deleted"}, **delete_errors},
        }
    base = f"/{version}/{resource.name}"
    return {base: collection, base + "/{id}": item_ops}


def spec(settings: ApiSettings, state: Any = None) -> dict[str, Any]:
    columns = _Columns(state)
    pj = settings.problem_json
    paths: dict[str, Any] = {}
    for version in settings.versions:
        for resource in settings.resources:
            paths.update(_resource_paths(resource, version, settings, columns))
    description = "The sandbox API of a backend-tutor lesson, on your own machine."
    limited = {"429": _problem("Too many requests", pj)} if settings.rate_limit is not None else {}
    bad_body = {
        "400": _problem("The body is not JSON", pj),
        "413": _problem("The request body is over 1 MiB", pj),
        "415": _problem("The body is not sent as application/json", pj),
        "422": _problem("The body breaks the rules (see `errors`)", pj),
        **limited,
    }
    unauthorized = _problem("Not logged in, or the credentials are not valid (WWW-Authenticate says why)", pj)
    if settings.auth is not None:
        account = {
            "type": "object",
            "required": ["username", "password"],
            "properties": {
                "username": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"},
                "password": {"type": "string", "minLength": 8},
            },
        }
        login = {
            "type": "object",
            "required": ["username", "password"],
            "properties": {
                "username": {"type": "string", "minLength": 1},
                "password": {"type": "string", "minLength": 1},
            },
        }
        tokens: dict[str, Any] = {
            "type": "object",
            "required": ["username", "role"],
            "properties": {
                "username": STRING,
                "role": STRING,
                "access_token": STRING,
                "token_type": {"const": "bearer"},
                "expires_in": {"type": "integer"},
                "refresh_token": STRING,
            },
        }
        who = {
            "type": "object",
            "required": ["username", "role"],
            "properties": {"username": STRING, "role": STRING, "via": {"enum": ["bearer", "cookie"]}},
        }

        def body(schema: dict[str, Any]) -> dict[str, Any]:
            return {"required": True, "content": {"application/json": {"schema": schema}}}

        throttled: dict[str, Any] = {}
        if settings.auth.login_throttle is not None:
            throttled["429"] = _problem(
                "Too many failed logins for this account: wait Retry-After seconds", pj, retry_after=True
            )
        paths["/auth/register"] = {
            "post": {
                "tags": ["auth"],
                "summary": "Create an account (role 'user')",
                "requestBody": body(account),
                "responses": {
                    "201": _ok("Created", who),
                    "409": _problem("The username is taken", pj),
                    **bad_body,
                },
            }
        }
        paths["/auth/login"] = {
            "post": {
                "tags": ["auth"],
                "summary": "Log in: tokens (and a session cookie)",
                "requestBody": body(login),
                "responses": {
                    "200": _ok("Logged in", tokens),
                    "401": unauthorized,
                    **bad_body,
                    **throttled,
                },
            }
        }
        if settings.auth.refresh_tokens:
            refresh = {
                "type": "object",
                "required": ["refresh_token"],
                "properties": {"refresh_token": {"type": "string", "minLength": 1}},
            }
            paths["/auth/refresh"] = {
                "post": {
                    "tags": ["auth"],
                    "summary": "Swap a refresh token for new tokens (the old one is spent)",
                    "requestBody": body(refresh),
                    "responses": {"200": _ok("New tokens", tokens), "401": unauthorized, **bad_body},
                }
            }
        paths["/auth/logout"] = {
            "post": {
                "tags": ["auth"],
                "summary": "Revoke the access token, a refresh token and the session",
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": {"refresh_token": STRING}}}
                    },
                },
                "responses": {"204": {"description": "Logged out"}, "401": unauthorized, **bad_body},
            }
        }
        paths["/auth/me"] = {
            "get": {
                "tags": ["auth"],
                "summary": "Who am I",
                "security": [{"bearer": []}],
                "responses": {"200": _ok("You", who), "401": unauthorized, **limited},
            }
        }
        paths["/auth/admin"] = {
            "get": {
                "tags": ["auth"],
                "summary": "Admins only",
                "security": [{"bearer": []}],
                "responses": {
                    "200": _ok(
                        "Welcome",
                        {
                            "type": "object",
                            "properties": {
                                "users": {"type": "array"},
                                "token_alg": {"enum": ["HS256", "none"]},
                            },
                        },
                    ),
                    "401": unauthorized,
                    "403": _problem("Logged in without role 'admin'", pj),
                    **limited,
                },
            }
        }
        from sandboxes.api.password_reset import openapi_paths

        paths.update(
            openapi_paths(
                getattr(state, "password_reset", None),
                lambda description: _problem(description, pj),
                _ok,
                bad_body,
            )
        )
        mfa = getattr(state, "mfa", None)
        if mfa is not None:
            from sandboxes.api.mfa import openapi_paths as mfa_paths

            paths.update(mfa_paths(mfa, lambda description: _problem(description, pj), _ok, bad_body))
            second_step = {
                "type": "object",
                "required": ["mfa_required", "mfa_token"],
                "properties": {"mfa_required": {"const": True}, "mfa_token": STRING, "detail": STRING},
            }
            answers = paths["/auth/login"]["post"]["responses"]
            answers["200"] = _ok(
                "Logged in, or (with a second factor) the code is next", {"anyOf": [tokens, second_step]}
            )
        weak = state.weak_auth_modes() if hasattr(state, "weak_auth_modes") else []
        if weak:
            description += f" WARNING: deliberately weak auth for this lesson: {', '.join(weak)}."
    paths["/health"] = {"get": {"summary": "Liveness", "responses": {"200": _ok("OK", {"type": "object"})}}}
    clock = {
        "type": "object",
        "required": ["now", "date", "offset_seconds"],
        "properties": {"now": {"type": "number"}, "date": STRING, "offset_seconds": {"type": "number"}},
    }
    paths["/_sandbox/clock"] = {
        "get": {
            "summary": "The lesson clock",
            "tags": ["sandbox controls"],
            "responses": {"200": _ok("The lesson time", clock)},
        },
        "post": {
            "summary": "Move the lesson clock forward",
            "tags": ["sandbox controls"],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["advance"],
                            "properties": {"advance": {"type": "number", "minimum": 0, "maximum": 366 * 24 * 3600}},
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {
                "200": _ok("The new lesson time", clock),
                **{k: v for k, v in bad_body.items() if k != "429"},
            },
        },
    }
    if any(rel.switchable for r in settings.resources for rel in r.relations):
        tag = ["sandbox controls"]
        relation = {
            "type": "object",
            "properties": {"resource": STRING, "relation": STRING, "strategy": {"enum": ["per_row", "select_in"]}},
        }
        switchable = [(r.name, rel.name) for r in settings.resources for rel in r.relations if rel.switchable]
        paths["/_sandbox/relations"] = {
            "get": {
                "summary": "How each switchable relation is loaded now",
                "tags": tag,
                "responses": {
                    "200": _ok(
                        "per_row (one query per item) or select_in (one IN query)",
                        {"type": "object", "properties": {"relations": {"type": "array", "items": relation}}},
                    )
                },
            }
        }
        paths["/_sandbox/relations/{resource}/{relation}"] = {
            "parameters": [
                _param("resource", "path", "A resource name", {"enum": sorted({r for r, _ in switchable})}),
                _param("relation", "path", "A relation", {"enum": sorted({n for _, n in switchable})}),
            ],
            "get": {
                "summary": "One relation's loading strategy",
                "tags": tag,
                "responses": {"200": _ok("OK", relation), "404": _problem("No such switchable relation", pj)},
            },
            "put": {
                "summary": "Switch the loading strategy (stands in for a code change such as eager loading)",
                "tags": tag,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"strategy": {"enum": ["per_row", "select_in", "join"]}},
                                "required": ["strategy"],
                            }
                        }
                    },
                },
                "responses": {
                    "200": _ok("Switched", relation),
                    "404": _problem("No such switchable relation", pj),
                    **{k: v for k, v in bad_body.items() if k != "429"},
                },
            },
        }
    if settings.caching is not None and settings.caching.switchable:
        tag = ["sandbox controls"]
        caching_now: dict[str, Any] = {
            "type": "object",
            "required": ["app_cache_ttl", "single_flight", "cache_control"],
            "properties": {
                "app_cache_ttl": {"type": ["number", "null"]},
                "single_flight": {"type": "boolean"},
                "cache_control": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
                "negative_ttl": {"type": ["number", "null"]},
                "invalidate_on_create": {"type": "boolean"},
            },
        }
        paths["/_sandbox/caching"] = {
            "get": {
                "summary": "The application cache's TTL and single-flight setting now",
                "tags": tag,
                "responses": {"200": _ok("The caching settings now", caching_now)},
            },
            "put": {
                "summary": "Change them (stands in for the code change that adds a cache or a per-key lock)",
                "tags": tag,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "app_cache_ttl": {
                                        "type": ["number", "null"],
                                        "exclusiveMinimum": 0,
                                        "maximum": 86400,
                                    },
                                    "single_flight": {"type": "boolean"},
                                    "negative_ttl": {
                                        "type": ["number", "null"],
                                        "exclusiveMinimum": 0,
                                        "maximum": 86400,
                                    },
                                    "invalidate_on_create": {"type": "boolean"},
                                    "cache_control": {
                                        "type": "object",
                                        "minProperties": 1,
                                        "propertyNames": {"enum": [r.name for r in settings.resources]},
                                        "additionalProperties": {
                                            "type": "string",
                                            "maxLength": 200,
                                            "pattern": "^[\\x20-\\x7e]*$",
                                        },
                                    },
                                },
                                "additionalProperties": False,
                                "minProperties": 1,
                            }
                        }
                    },
                },
                "responses": {
                    "200": _ok("Changed", caching_now),
                    **{k: v for k, v in bad_body.items() if k != "429"},
                },
            },
            "delete": {
                "summary": "Empty the application cache (as a FLUSHDB after a fix made in the database)",
                "tags": tag,
                "responses": {
                    "200": _ok(
                        "Emptied; `emptied` says how many entries",
                        {**caching_now, "properties": {**caching_now["properties"], "emptied": {"type": "integer"}}},
                    )
                },
            },
        }
    if settings.jobs is not None and any(k.route for k in settings.jobs.kinds):
        paths.update(_job_paths(settings, bad_body, pj))
    if settings.edge is not None:
        from sandboxes.api.edge import edge_paths

        paths.update(edge_paths(settings.edge, bad_body))
    if settings.cors is not None or settings.redirects:
        paths.update(_cors_paths(settings, bad_body, pj))
    problem_schema: dict[str, Any] = {
        "type": "object",
        "required": ["detail"],
        "properties": {
            "type": {"type": "string", "enum": ["about:blank", VALIDATION_TYPE]},
            "title": STRING,
            "status": {"type": "integer"},
            "detail": STRING,
            "instance": STRING,
            "errors": {
                "type": "array",
                "items": {"type": "object", "properties": {"field": STRING, "message": STRING}},
            },
        },
    }
    if pj:
        problem_schema["required"] = ["type", "title", "status", "detail"]
    return {
        "openapi": "3.1.0",
        "info": {"title": "backend-tutor sandbox API", "version": "1.0", "description": description},
        "paths": paths,
        "components": {
            "schemas": {"Problem": problem_schema},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _job_paths(settings: ApiSettings, bad_body: dict[str, Any], pj: bool) -> dict[str, Any]:
    """A job kind's `route` (202 Accepted) and the job status monitor (docs/sandbox-api.md, "Background
    jobs")."""
    assert settings.jobs is not None
    number = {"type": ["number", "null"]}
    job = {
        "type": "object",
        "required": ["id", "kind", "status", "attempts"],
        "properties": {
            "id": {"type": "integer"},
            "kind": STRING,
            "payload": {"type": "object"},
            "status": {"enum": ["queued", "running", "done", "failed", "dead"]},
            "attempts": {"type": "integer"},
            "run_at": {"type": "number"},
            "created_at": {"type": "number"},
            "started_at": number,
            "finished_at": number,
            "lease_until": number,
            "worker": {"type": ["string", "null"]},
            "last_error": {"type": ["string", "null"]},
            "result": {},
        },
    }
    seconds = {"description": "Lesson seconds until it may have changed", "schema": {"type": "integer"}}
    location = {"description": "Where to look", "schema": STRING}
    tag = ["background jobs"]
    missing = _problem("There is no such job (or, for its result, it is not done yet)", pj)
    job_id = _param("id", "path", "The job's id", {"type": "integer", "minimum": 1})
    paths: dict[str, Any] = {
        "/v1/jobs/{id}": {
            "parameters": [job_id],
            "get": {
                "summary": "A job's status monitor",
                "tags": tag,
                "responses": {
                    "200": {
                        **_ok("The job, not done: Retry-After says when to look again", job),
                        "headers": {"Retry-After": {**seconds, "required": False}},
                    },
                    "303": {"description": "Done: Location is its result", "headers": {"Location": location}},
                    "404": missing,
                },
            },
        },
        "/v1/jobs/{id}/result": {
            "parameters": [job_id],
            "get": {
                "summary": "A done job's result",
                "tags": tag,
                "responses": {
                    "200": _ok(
                        "The rows of the kind's result_sql",
                        {"type": "object", "properties": {"job": {"type": "integer"}, "kind": STRING, "result": {}}},
                    ),
                    "404": missing,
                },
            },
        },
    }
    for kind in settings.jobs.kinds:
        if kind.route is None:
            continue
        paths[kind.route] = {
            "post": {
                "summary": f"Enqueue a {kind.name} job (it takes {kind.seconds:g} s of lesson time)",
                "tags": tag,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object", "description": "The payload"}}},
                },
                "responses": {
                    "202": {
                        **_ok("Accepted: the job is queued; Location is its status monitor", job),
                        "headers": {"Location": {**location, "required": True}, "Retry-After": seconds},
                    },
                    **bad_body,
                },
            }
        }
    return paths


def _cors_paths(settings: ApiSettings, bad_body: dict[str, Any], pj: bool) -> dict[str, Any]:
    """`/_sandbox/cors` and the old paths of `redirects` (docs/sandbox-api.md, "CORS" and "Redirects")."""
    paths: dict[str, Any] = {}
    if settings.cors is not None:
        tag = ["sandbox controls"]
        policy = {
            "type": "object",
            "required": ["allow_origins", "allow_methods", "allow_headers", "allow_credentials", "max_age"],
            "properties": {
                "allow_origins": {"type": "array", "items": STRING},
                "allow_methods": {"type": "array", "items": STRING},
                "allow_headers": {"type": "array", "items": STRING},
                "expose_headers": {"type": "array", "items": STRING},
                "allow_credentials": {"type": "boolean"},
                "max_age": {"type": "integer"},
                "weak_modes": {"type": "object", "properties": {"reflect_origin": {"type": "boolean"}}},
            },
        }
        switch: dict[str, Any] = {
            "summary": "Turn the weak mode off or on (stands in for the code fix)",
            "tags": tag,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"reflect_origin": {"type": "boolean"}},
                            "required": ["reflect_origin"],
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {
                "200": _ok("Switched", policy),
                "403": _problem("This lesson's policy cannot be switched", pj),
                **{k: v for k, v in bad_body.items() if k != "429"},
            },
        }
        paths["/_sandbox/cors"] = {
            "get": {
                "summary": "The CORS policy in force",
                "tags": tag,
                "responses": {"200": _ok("The policy", policy)},
            },
            "put": switch,
        }
    for moved in settings.redirects:
        answer = {
            str(moved.status): {
                "description": f"Moved: Location is {moved.to} (with the rest of the path and the query)",
                "headers": {"Location": {"description": "Where it moved", "schema": STRING, "required": True}},
                "content": {"application/json": {"schema": {"type": "object", "properties": {"moved_to": STRING}}}},
            }
        }
        rest = _param("rest", "path", "The rest of the old path, kept", {"type": "string"})

        def operations(answer: dict[str, Any] = answer, old: str = moved.path) -> dict[str, Any]:
            return {
                method: {"summary": f"An old path: {old} moved", "tags": ["redirects"], "responses": answer}
                for method in ("get", "post", "put", "patch", "delete")
            }

        paths[moved.path] = operations()
        paths[moved.path + "/{rest}"] = {"parameters": [rest], **operations()}
    return paths


DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox API docs</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
.op{border:1px solid #ccc;border-radius:6px;margin:.6em 0;padding:.4em .8em}
.m{display:inline-block;min-width:4.5em;font-weight:bold}
.get{color:#1a7f37}.post{color:#0550ae}.put,.patch{color:#9a6700}.delete{color:#cf222e}
input,textarea{font:13px monospace;width:100%;box-sizing:border-box}
pre{background:#f6f8fa;padding:.6em;overflow:auto;max-height:25em}
details summary{cursor:pointer}
</style></head><body>
<h1>Sandbox API</h1><p id="desc"></p>
<p>Bearer token for requests (optional): <input id="token" placeholder="paste an access_token"></p>
<div id="ops">Loading /openapi.json ...</div>
<script>
const esc = s => String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
fetch('/openapi.json').then(r => r.json()).then(spec => {
  document.getElementById('desc').textContent = spec.info.description || '';
  const ops = document.getElementById('ops'); ops.innerHTML = '';
  let n = 0;
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const id = 'op' + (n++);
      const params = (op.parameters || []).map(p =>
        `<label>${esc(p.name)} <small>(${esc(p.in)}) ${esc(p.description || '')}</small>
         <input data-in="${esc(p.in)}" data-name="${esc(p.name)}"></label>`).join('');
      const body = op.requestBody ? '<label>JSON body<textarea rows="4" data-body></textarea></label>' : '';
      const el = document.createElement('details'); el.className = 'op';
      el.innerHTML = `<summary><span class="m ${method}">${method.toUpperCase()}</span> ${esc(path)}
        &nbsp; <small>${esc(op.summary || '')}</small></summary>${params}${body}
        <button id="${id}">Send</button><pre hidden></pre>`;
      ops.appendChild(el);
      el.querySelector('button').onclick = async () => {
        let url = path; const q = new URLSearchParams(); const headers = {};
        for (const i of el.querySelectorAll('input')) {
          if (!i.value) continue;
          if (i.dataset.in === 'path') url = url.replace('{' + i.dataset.name + '}', encodeURIComponent(i.value));
          else if (i.dataset.in === 'query') q.set(i.dataset.name, i.value);
          else if (i.dataset.in === 'header') headers[i.dataset.name] = i.value;
        }
        const token = document.getElementById('token').value.trim();
        if (token) headers['Authorization'] = 'Bearer ' + token;
        const init = {method: method.toUpperCase(), headers};
        const ta = el.querySelector('textarea');
        if (ta && ta.value) { init.body = ta.value; headers['Content-Type'] = 'application/json'; }
        const out = el.querySelector('pre'); out.hidden = false;
        const t0 = performance.now();
        try {
          const r = await fetch(url + (q.toString() ? '?' + q : ''), init);
          const text = await r.text();
          const hs = [...r.headers].map(([k, v]) => k + ': ' + v).join('\\n');
          let pretty = text; try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
          const ms = (performance.now() - t0).toFixed(1);
          out.textContent = `${r.status} ${r.statusText}  (${ms} ms)\\n${hs}\\n\\n${pretty}`;
        } catch (e) { out.textContent = String(e); }
      };
    }
  }
});
</script></body></html>
"""
