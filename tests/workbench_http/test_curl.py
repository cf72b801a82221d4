"""curl in and out: a pasted curl command becomes the request it sends, and copy as curl gives a command
that sends the same request back (every header and cookie)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import BUILTIN
from tutor.http.curl import CurlError, looks_like_curl, parse_curl, to_curl
from tutor.http.request import RequestSpec

BASE = "http://127.0.0.1:8765"


def round_trip(spec: RequestSpec) -> RequestSpec:
    return parse_curl(to_curl(spec, BASE), BASE)


def same_request(a: RequestSpec, b: RequestSpec) -> bool:
    """Equal as sent: method, URL, headers (names in any case) and body."""
    ha, ba = a.prepared()
    hb, bb = b.prepared()
    return (a.method, a.url, {k.lower(): v for k, v in ha.items()}, ba) == (
        b.method,
        b.url,
        {k.lower(): v for k, v in hb.items()},
        bb,
    )


def test_the_workbench_s_own_suggestion_is_a_get_of_that_path() -> None:
    assert parse_curl(f"curl -i {BASE}/v1/books", BASE) == RequestSpec("GET", "/v1/books")
    assert parse_curl(f"curl {BASE}/v1/books", BASE) == RequestSpec("GET", "/v1/books")


def test_a_post_with_json_and_headers() -> None:
    command = (
        f"curl -i -X POST {BASE}/v1/books -H 'Content-Type: application/json' -H 'Idempotency-Key: k1' "
        """-d '{"title": "Dune"}'"""
    )
    spec = parse_curl(command, BASE)
    assert spec == RequestSpec(
        "POST", "/v1/books", {"Content-Type": "application/json", "Idempotency-Key": "k1"}, '{"title": "Dune"}'
    )
    assert same_request(round_trip(spec), spec)


def test_a_multi_line_command_copied_from_a_page() -> None:
    command = (
        f"curl -i -X PUT {BASE}/_sandbox/caching \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        "  -d '{\"single_flight\": true}'"
    )
    spec = parse_curl(command, BASE)
    assert (spec.method, spec.url, spec.body) == ("PUT", "/_sandbox/caching", '{"single_flight": true}')


def test_data_without_a_content_type_is_sent_as_curl_sends_it() -> None:
    """curl -d with no Content-Type sends a form: the API answers 415, as it did to curl."""
    spec = parse_curl(f"""curl -X PATCH {BASE}/v1/books/3 -d '{{"year":2001}}'""", BASE)
    assert spec.headers == {"Content-Type": "application/x-www-form-urlencoded"}
    assert spec.method == "PATCH"
    assert parse_curl(f"curl -d a=1 -d b=2 {BASE}/x", BASE) == RequestSpec(
        "POST", "/x", {"Content-Type": "application/x-www-form-urlencoded"}, "a=1&b=2"
    )


def test_cookies_round_trip() -> None:
    spec = parse_curl(f"curl -i -b 'session=abc123' {BASE}/auth/me", BASE)
    assert spec == RequestSpec("GET", "/auth/me", {"Cookie": "session=abc123"})
    assert "-b session=abc123" in to_curl(spec, BASE)
    assert same_request(round_trip(spec), spec)


def test_copy_includes_the_cookie_the_client_sends() -> None:
    """The workbench's client sends the cookies a login set; a copy without them would get 401."""
    command = to_curl(RequestSpec("GET", "/auth/me"), BASE, cookie="session=s1; csrf=t")
    assert shlex.split(command)[-2:] == ["-b", "session=s1; csrf=t"]
    assert parse_curl(command, BASE).headers == {"Cookie": "session=s1; csrf=t"}
    # a Cookie header typed by hand is what is sent: the client's cookies are not added to it
    typed = RequestSpec("GET", "/auth/me", {"Cookie": "session=mine"})
    assert "session=s1" not in to_curl(typed, BASE, cookie="session=s1")


@pytest.mark.parametrize(
    ("flags", "method"),
    [("-I", "HEAD"), ("--head", "HEAD"), ("-X DELETE", "DELETE"), ("-XPATCH", "PATCH"), ("--request put", "PUT")],
)
def test_methods(flags: str, method: str) -> None:
    assert parse_curl(f"curl {flags} {BASE}/v1/books/1", BASE).method == method


def test_output_options_are_ignored_and_short_flags_combine() -> None:
    spec = parse_curl(f"curl -sSiv -L --compressed -o /dev/null -w '%{{http_code}}' -m 5 {BASE}/v1/books", BASE)
    assert spec == RequestSpec("GET", "/v1/books")


def test_json_option_basic_auth_get_data() -> None:
    spec = parse_curl(f"""curl --json '{{"a": 1}}' {BASE}/x""", BASE)
    assert (spec.method, spec.body, spec.headers["Content-Type"]) == ("POST", '{"a": 1}', "application/json")
    assert parse_curl(f"curl -u alice:pw {BASE}/x", BASE).headers == {"Authorization": "Basic YWxpY2U6cHc="}
    spec = parse_curl(f"curl -G -d limit=5 --data-urlencode 'q=a b' {BASE}/v1/books", BASE)
    assert (spec.method, spec.url, spec.body) == ("GET", "/v1/books?limit=5&q=a+b", "")


def test_a_url_on_an_older_port_is_this_api_and_another_host_is_refused() -> None:
    assert parse_curl("curl -i http://127.0.0.1:40845/v1/books?limit=5", BASE).url == "/v1/books?limit=5"
    assert parse_curl("curl localhost:9/x", BASE).url == "/x"
    with pytest.raises(CurlError, match=re.escape("only sends to this lesson's API at 127.0.0.1:8765")):
        parse_curl("curl https://example.com/v1/books", BASE)


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("curl -i -b jar.txt http://127.0.0.1:8765/auth/me", "cookie jar"),
        ("curl -d @body.json http://127.0.0.1:8765/x", "reads the body from a file"),
        ('curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8765/x', "shell variable `$TOKEN`"),
        ("curl http://127.0.0.1:8765/x | jq .", "without `|`"),
        ("curl http://127.0.0.1:8765/x?a=1&b=2", "put the URL in quotes"),
        ("curl -i 'http://127.0.0.1:8765/x", "quote is not closed"),
        ("curl --proxy http://p:1 http://127.0.0.1:8765/x", "--proxy option is not something"),
        ("curl -i", "has no URL"),
        ("curl -H 'nonsense' http://127.0.0.1:8765/x", "not a header"),
    ],
)
def test_what_it_cannot_take_is_said_clearly(command: str, says: str) -> None:
    with pytest.raises(CurlError, match=re.escape(says)):
        parse_curl(command, BASE)


@pytest.mark.parametrize(
    "spec",
    [
        RequestSpec("GET", "/v1/books?limit=5&offset=5"),
        RequestSpec("GET", "/v1/books/1", {"If-None-Match": '"abc"'}),
        RequestSpec("GET", "/v1/books", body='{"odd": "a GET with a body"}'),
        RequestSpec("HEAD", "/v1/books/7"),
        RequestSpec("DELETE", "/v1/books/7", {"Authorization": "Bearer e.y.j"}),
        RequestSpec("PUT", "/v1/books/3", {"If-Match": '"06b2"'}, '{"title": "It\'s", "price": 9.99}'),
        RequestSpec("POST", "/auth/login", {"Cookie": "a=1; b=2"}, '{"username": "alice", "password": "pw"}'),
        RequestSpec("OPTIONS", "/v1/books"),
    ],
    ids=lambda s: s.label(),
)
def test_copy_then_paste_is_the_same_request(spec: RequestSpec) -> None:
    assert same_request(round_trip(spec), spec)
    # and once more: the copy of the pasted request is the same command
    assert to_curl(round_trip(spec), BASE) == to_curl(spec, BASE)


def _lesson_curl_lines() -> list[str]:
    """Every curl command in the built-in lessons' texts and hints (code blocks, `code` spans and
    hints that are one command), with the API's address filled in."""
    from tutor.pack.loader import load_pack_or_raise

    pack = load_pack_or_raise(BUILTIN)
    found = []
    for entry in pack.lessons:
        for step in entry.lesson.steps:
            for text in [step.text, step.task or "", step.explanation or "", *step.hints]:
                text = re.sub(r"\{\{\s*api_url\s*\}\}", BASE, text)
                lines = text.splitlines()
                for number, line in enumerate(lines):
                    spans = re.findall(r"`(curl [^`]+)`", line)
                    if line.startswith("    ") and line.strip().startswith("curl "):
                        command = line.strip()
                        for more in lines[number + 1 :]:
                            if not command.endswith("\\"):
                                break
                            command += "\n" + more
                        spans.append(command)
                    elif line.strip().startswith("curl ") and not spans:
                        spans.append(line.strip())
                    found += [c for c in spans if BASE in c]
    return found


def test_the_lessons_curl_lines_round_trip_or_say_why_not(tmp_path: Path) -> None:
    """The tutor's own curl lines: each pastes into the workbench as the request it sends, and copying
    that request back gives a command that sends the same; those it cannot take (a cookie jar file, a
    shell loop) get a sentence, never a wrong request."""
    from sandboxes.api.sandbox import ApiSandbox
    from tests.api.helpers import make_db, settings

    lines = _lesson_curl_lines()
    assert len(lines) >= 15, lines
    taken = refused = 0
    for command in lines:
        try:
            spec = parse_curl(command, BASE)
        except CurlError as exc:
            refused += 1
            assert str(exc).endswith(".") and len(str(exc)) > 30, (command, exc)
            continue
        taken += 1
        assert spec.url.startswith("/") and " " not in spec.url, (command, spec)
        assert same_request(round_trip(spec), spec), command
    assert taken > refused
    # the workbench's own `try:` line, from a real sandbox
    api = ApiSandbox.start(settings(), database=make_db(tmp_path / "lesson.db"))
    try:
        assert parse_curl(api.curl_example(), api.base_url) == RequestSpec("GET", "/v1/books")
    finally:
        api.stop()


def test_looks_like_curl() -> None:
    assert looks_like_curl("  curl -i http://x/") and not looks_like_curl("/v1/curly")
