"""Whatever a client sends (any method, path, query, headers or body), the sandbox answers below 500
and stays up. Hypothesis generates the requests; a real server on 127.0.0.1 answers them."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db
from tests.api.helpers import settings as api_settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    db = make_db(tmp_path_factory.mktemp("db") / "lesson.db")
    config = api_settings(
        idempotency_keys=True,
        caching={"etag": True, "last_modified": True, "app_cache_ttl": 30},
        auth={"users": [{"username": "ada", "password": "pw", "role": "admin"}], "refresh_tokens": True},
    )
    sandbox = ApiSandbox.start(config, database=db)
    with httpx.Client(base_url=sandbox.base_url, trust_env=False, timeout=10) as c:
        c.sandbox = sandbox  # type: ignore[attr-defined]
        yield c
    sandbox.stop()


segment = st.one_of(
    st.sampled_from(["v1", "v2", "books", "authors", "auth", "login", "refresh", "1", "0", "-1", "99999", "docs"]),
    st.text(alphabet=string.ascii_letters + string.digits + "-_.~%!$&'()*+,;=:@", min_size=1, max_size=12),
)
ROUTES = [
    "/v1/books",
    "/v1/books/1",
    "/v1/books/25",
    "/v2/books",
    "/v1/authors",
    "/v1/authors/2",
    "/auth/login",
    "/auth/register",
    "/auth/refresh",
    "/auth/logout",
    "/auth/me",
    "/auth/admin",
    "/",
    "/health",
]
paths = st.one_of(  # half real routes (so writes, auth and caching are fuzzed), half anything
    st.sampled_from(ROUTES),
    st.lists(segment, min_size=0, max_size=4).map(lambda parts: "/" + "/".join(parts)),
)
query_values = st.text(alphabet=string.printable, max_size=20)
queries = st.dictionaries(
    st.sampled_from(["limit", "offset", "cursor", "sort", "author", "year", "page", "fields", "x"]),
    query_values,
    max_size=3,
)
header_values = st.text(alphabet=string.ascii_letters + string.digits + ' ,;=-"*/:.+', max_size=40).map(str.strip)
headers = st.dictionaries(
    st.sampled_from(
        [
            "If-None-Match",
            "If-Modified-Since",
            "Authorization",
            "Idempotency-Key",
            "Content-Type",
            "Accept",
            "Cookie",
            "X-Custom",
        ]
    ),
    header_values,
    max_size=3,
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["title", "year", "price", "author_id", "id", "username", "password", "x"]),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=10,
)
bodies = st.one_of(st.none(), st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    path=paths,
    query=queries,
    extra_headers=headers,
    body=bodies,
)
def test_any_request_gets_an_answer_below_500(
    client: httpx.Client,
    method: str,
    path: str,
    query: dict[str, str],
    extra_headers: dict[str, str],
    body: bytes | None,
) -> None:
    response = client.request(method, path, params=query, headers=extra_headers, content=body)
    assert response.status_code < 500, (method, path, query, extra_headers, body, response.text[:300])
    if response.status_code >= 400 and method != "HEAD":
        assert response.headers["content-type"] == "application/problem+json"
    assert client.sandbox.alive  # type: ignore[attr-defined]
