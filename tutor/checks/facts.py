"""What a check measured, quoted in the words around it.

A check puts the figures it measured on the learner's own work in `CheckResult.facts` (`hits`,
`misses`, `requests`, `p50_ms`, `statements`, `vm_steps`, `rows`, ...). An explanation or a feedback
quotes one as `{{hits}}`: the learner reads their own numbers, never the ones the author happened to
get. `pack test` holds the text to it: a placeholder the check does not measure, or a figure written
out ("95 hits") that the solution's own run contradicts, fails the lesson.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
SANDBOX_VALUES = frozenset({"api_url", "db_path", "log_path", "webhook_secret"})
"""Filled by the app from the running sandboxes, not by a check (and `upstream_url_NAME`, one per upstream)."""


def is_sandbox_value(name: str) -> bool:
    return name in SANDBOX_VALUES or name.startswith("upstream_url_")


UNITS: dict[str, str] = {
    "hits": "hits",
    "misses": "misses",
    "sql statements": "statements",
    "vm steps": "vm_steps",
}
"""A figure written in the text ("95 hits") and the fact it states."""
_FIGURE = re.compile(r"(?<![\w.])(\d[\d,]*)\s+(" + "|".join(re.escape(u) for u in UNITS) + r")\b", re.I)


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def fill(text: str, facts: Mapping[str, Any]) -> str:
    """`{{name}}` replaced by the measured value; other placeholders are left for the app."""
    return PLACEHOLDER.sub(lambda m: show(facts[m.group(1)]) if m.group(1) in facts else m.group(0), text)


def unknown(text: str, facts: Mapping[str, Any]) -> list[str]:
    """Placeholders in `text` that neither the check nor the sandboxes fill."""
    return [n for n in PLACEHOLDER.findall(text) if n not in facts and not is_sandbox_value(n)]


_ELSEWHERE = re.compile(r"\b(before|without|instead|had|was|were|would|used to|earlier|previous|compared)\b", re.I)
"""Words that put a figure on another run than the learner's ("before the fix, 102 statements")."""


def contradicted(text: str, facts: Mapping[str, Any]) -> list[str]:
    """Figures written out in `text` ("95 hits") that the measured facts contradict, in words. A sentence
    that compares with another run ("before the fix", "without the index", "was") is about that run."""
    out: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", text):
        if _ELSEWHERE.search(sentence):
            continue
        for number, unit in _FIGURE.findall(sentence):
            key = UNITS[unit.lower()]
            if key in facts and int(number.replace(",", "")) != facts[key]:
                out.append(f"'{number} {unit}', where this run measured {show(facts[key])}")
    return out


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p50 of 100 values is the 50th smallest)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def traffic(exchanges: Iterable[Any]) -> dict[str, Any]:
    """The learner's traffic in figures: how many requests, cache hits and misses, and latency percentiles."""
    sent = list(exchanges)
    durations = [e.duration_ms for e in sent]
    caches = [(e.header("x-cache") or "").upper() for e in sent]
    return {
        "requests": len(sent),
        "hits": caches.count("HIT"),
        "misses": caches.count("MISS"),
        "p50_ms": round(percentile(durations, 0.50), 1),
        "p95_ms": round(percentile(durations, 0.95), 1),
        "p99_ms": round(percentile(durations, 0.99), 1),
    }
