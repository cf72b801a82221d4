"""How a check names things to a learner: JSON paths, path patterns and option words, never the check's
own notation (`items[4].id`, `\\d+`, option ids)."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

_PATTERN_PARTS = [
    (r"\(\?P<(\w+)>[^)]*\)", r"<\1>"),
    (r"\\d\+|\[0-9\]\+|\\d\*", "<number>"),
    (r"\[\^/\]\+|\.\+|\.\*|\\w\+", "<id>"),
]


def human_path(path: str) -> str:
    """`items[4].author.name` -> `items #5 > author > name` (numbers count from 1, as people do)."""
    words = []
    for name, index in _TOKEN.findall(path):
        words.append(f"#{int(index) + 1}" if index else name)
    joined: list[str] = []
    for word in words:
        if word.startswith("#") and joined:
            joined[-1] = f"{joined[-1]} {word}"
        else:
            joined.append(word)
    return " > ".join(joined) or path


def human_pattern(pattern: str) -> str:
    """A path pattern as an example shape: `/v1/books/\\d+` -> `/v1/books/<number>`."""
    text = pattern.strip("^$")
    for regex, replacement in _PATTERN_PARTS:
        text = re.sub(regex, replacement, text)
    return text.replace("\\", "")


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"
