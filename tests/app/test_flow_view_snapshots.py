"""How the flow view looks, at 80x24 and 120x40: an N+1 request (auth, cache miss, a scan, twenty
lookups) and a cache hit. Built from fixed traces, so timings never change between runs."""

from __future__ import annotations

import pytest

from tests.app.test_flow_view import FlowHost, cached_exchange, n_plus_one_exchange


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_flow_view_n_plus_one(snap_compare, size) -> None:
    assert snap_compare(FlowHost(n_plus_one_exchange()), terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_flow_view_cache_hit(snap_compare, size) -> None:
    assert snap_compare(FlowHost(cached_exchange()), terminal_size=size)
