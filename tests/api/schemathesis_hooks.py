"""schemathesis hooks for the fuzz test (loaded through SCHEMATHESIS_HOOKS).

A client sends a fresh Idempotency-Key with every new request; a key reused with a different body
is refused with 422, as the IETF draft on the header says (draft-ietf-httpapi-idempotency-key-header,
"Error Scenarios"). A fuzzer that draws keys from a small pool of boundary values reuses them across
different bodies, which is a misuse, not a schema-valid request wrongly refused. So each valid key
the fuzzer draws is made unique before the request is sent; invalid ones (empty, blank, too long)
are left as drawn, so the server must still refuse them.

A cursor is opaque in the OpenAPI document (docs/sandbox-api.md gives its format: unpadded base64url
of a JSON array of the last item's sort values); one the API never gave out is refused with 400,
which no schema can express. So a drawn cursor is wrapped into that format, its drawn text as the
sort value, and the fuzzer still reaches the paging code with values nobody chose.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import schemathesis

HEADER = "Idempotency-Key"


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: Any) -> None:
    query = case.query
    if query and isinstance(query.get("cursor"), str):
        raw = json.dumps([query["cursor"]]).encode()
        query["cursor"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    headers = case.headers
    if not headers:
        return
    for name in list(headers):
        value = headers[name]
        if name.lower() == HEADER.lower() and isinstance(value, str) and 1 <= len(value) <= 200 and value.strip():
            headers[name] = f"{value.strip()}-{uuid.uuid4().hex}"
