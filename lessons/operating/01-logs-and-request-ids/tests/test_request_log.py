"""What the app's request log must be. Each test's docstring is what a learner reads when it fails."""

import json

import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client():
    with TestClient(app.app, raise_server_exceptions=False) as c:
        yield c


def lines_about(captured, request_id):
    """The lines the app printed (stdout and stderr) that mention this request id."""
    return [line for line in (captured.out + captured.err).splitlines() if request_id in line]


def parsed(line):
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def one_json_line(capfd, request_id):
    """The line about this request that has its status; every line that names the request must be JSON."""
    lines = lines_about(capfd.readouterr(), request_id)
    assert lines, f"no line printed with {request_id}"
    records = []
    for line in lines:
        record = parsed(line)
        assert record is not None, f"this line is not one JSON object: {line}"
        records.append(record)
    with_status = [r for r in records if "status" in r]
    assert len(with_status) == 1, f"lines with a status for {request_id}: {with_status}"
    return with_status[0]


def test_one_json_line_per_request(client, capfd):
    """Each request is one line of JSON (one object) with request_id, method, path, status, duration_ms."""
    client.get("/books/1", headers={"X-Request-Id": "t-json-1"})
    record = one_json_line(capfd, "t-json-1")
    assert record.get("request_id") == "t-json-1"
    assert record.get("method") == "GET" and record.get("path") == "/books/1"
    assert record.get("status") == 200
    assert isinstance(record.get("duration_ms"), (int, float)) and record["duration_ms"] >= 0


def test_a_404_is_logged_with_its_status(client, capfd):
    """A request for a book that does not exist is logged too, with "status": 404."""
    client.get("/books/999999", headers={"X-Request-Id": "t-json-404"})
    assert one_json_line(capfd, "t-json-404").get("status") == 404


def test_a_crash_is_logged_with_its_status(client, capfd):
    """A request whose handler raises (book 13 has no price) is logged too, with "status": 500."""
    response = client.get("/books/13", headers={"X-Request-Id": "t-json-500"})
    assert response.status_code == 500
    assert one_json_line(capfd, "t-json-500").get("status") == 500


def test_a_replaced_id_is_the_one_logged(client, capfd):
    """An id with a quote and spaces is replaced, and the line logs the id the answer carries."""
    bad = 'x" "status": 200'
    response = client.get("/books/2", headers={"X-Request-Id": bad})
    given = response.headers.get("x-request-id", "")
    assert given and given != bad, f"the answer's X-Request-Id: {given!r}"
    captured = capfd.readouterr()
    assert bad not in captured.out + captured.err, "the id as sent was written to the log"
    records = [parsed(line) for line in lines_about(captured, given)]
    assert any(r and r.get("request_id") == given for r in records), f"no JSON line with request_id {given}"
