"""A declared wrong answer's JSON body may hold a saved value in a string (`{"endpoint": "{url}/hooks"}`,
a URL read from an earlier answer): the placeholder stands for any text there, slashes included, since a
body's string is not a path."""

from __future__ import annotations

from tutor.session import _same_json


def test_a_placeholder_in_a_json_string_stands_for_a_url() -> None:
    assert _same_json({"endpoint": "{url}/webhooks"}, {"endpoint": "http://127.0.0.1:8123/webhooks"})
    assert _same_json({"endpoint": "{url}"}, {"endpoint": "http://127.0.0.1:8123"})


def test_the_text_around_the_placeholder_still_counts() -> None:
    assert not _same_json({"endpoint": "{url}/webhooks"}, {"endpoint": "http://127.0.0.1:8123/hooks"})
    assert not _same_json({"endpoint": "{url}/webhooks"}, {"target": "http://127.0.0.1:8123/webhooks"})
    assert not _same_json({"amount": "{n}"}, {"amount": 12})
