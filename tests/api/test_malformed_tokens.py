"""Weak must mean permissive, never broken: with every weak mode on, and with none, each malformed bearer
token is a 401 with a Bearer challenge, never a 500. Tokens are generated (hypothesis) from parts that
are not what a JWT holds: headers and payloads that are JSON but not objects, claims of the wrong type,
bytes that are not UTF-8, nesting deeper than a parser goes. Over real HTTP."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandboxes.api.sandbox import ApiSandbox
from tutor.pack.sandbox_api import ApiSettings

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

WEAK = {"accept_alg_none": True, "guessable_secret": True, "skip_expiry": True, "switchable": True}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _part(value: object) -> str:
    return _b64(json.dumps(value).encode())


@pytest.fixture(scope="module", params=["weak", "strict"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiSandbox]:
    db = tmp_path_factory.mktemp("tokens") / "books.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT)")
    conn.commit()
    conn.close()
    settings_ = ApiSettings.model_validate(
        {
            "resources": [{"name": "books", "table": "books", "auth": "read"}],
            "auth": {
                "users": [{"username": "alice", "password": "wonderland-42", "role": "reader"}],
                "weak": WEAK if request.param == "weak" else None,
            },
        }
    )
    sandbox = ApiSandbox.start(settings_, database=db)
    yield sandbox
    sandbox.stop()


def _ask(api: ApiSandbox, token: str) -> httpx.Response:
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as client:
        return client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})


NOT_OBJECTS = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
)
WRONG_TYPED = st.one_of(
    st.lists(st.integers(), max_size=2), st.integers(), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


@st.composite
def malformed(draw: st.DrawFn) -> str:
    header = {"alg": "none", "typ": "JWT"}
    payload: dict[str, object] = {"sub": "alice", "role": "admin", "exp": 4102444800}
    kind = draw(st.sampled_from(["header", "payload", "claim", "bytes", "deep", "parts"]))
    if kind == "header":
        return f"{_part(draw(NOT_OBJECTS))}.{_part(payload)}."
    if kind == "payload":
        return f"{_part(header)}.{_part(draw(NOT_OBJECTS))}."
    if kind == "claim":
        name = draw(st.sampled_from(["sub", "role", "jti"]))
        return f"{_part(header)}.{_part({**payload, name: draw(WRONG_TYPED)})}."
    if kind == "bytes":
        garbled = draw(st.binary(min_size=1, max_size=12)) + b"\xff"  # never UTF-8 JSON
        return f"{_b64(garbled)}.{_part(payload)}."
    if kind == "deep":
        depth = draw(st.integers(min_value=1_000, max_value=2_500))
        return f"{_b64(b'[' * depth + b']' * depth)}.{_part(payload)}."
    dots = draw(st.sampled_from(["", ".", "..", "...", "...."]))
    return f"{_part(header)}{dots}"


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=malformed())
def test_every_malformed_token_is_a_401_with_a_bearer_challenge(api: ApiSandbox, token: str) -> None:
    answer = _ask(api, token)
    assert answer.status_code == 401, (token, answer.status_code, answer.text[:300])
    assert answer.headers["www-authenticate"].startswith('Bearer realm="sandbox"')


@pytest.mark.parametrize(
    "token",
    [
        "WzFd.eyJzdWIiOiJhbGljZSJ9.",  # header [1]
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImp0aSI6WzFdfQ.",  # jti [1]
    ],
)
def test_the_two_tokens_that_broke_the_weak_lesson(api: ApiSandbox, token: str) -> None:
    assert _ask(api, token).status_code == 401


def test_the_weak_lesson_still_lets_a_forged_unsigned_token_in(api: ApiSandbox) -> None:
    forged = f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part({'sub': 'alice', 'role': 'admin', 'exp': 4102444800})}."
    answer = _ask(api, forged)
    assert answer.status_code == (200 if api.weak_auth_modes else 401), answer.text
