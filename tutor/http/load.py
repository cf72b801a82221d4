"""The load tool's arithmetic and its runner: N requests at concurrency C against the lesson's API, with
p50/p95/p99, errors, status counts and the cache hit ratio. No Textual.

    stats = await run_load(base_url, "GET", "/v1/books/7", {}, None, requests=100, concurrency=5)
    stats.summary()      # '100 requests x5: p50 1.2 ms  p95 ... | cache hits 95% (95/100) | ...'
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from tutor.http.request import REF_HEADER


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


@dataclass(frozen=True)
class LoadStats:
    requests: int
    concurrency: int
    latencies_ms: tuple[float, ...]  # in completion order
    errors: int  # transport failures and 5xx
    statuses: dict[int, int]
    cache_hits: int
    cache_answers: int  # responses that carried X-Cache
    seconds: float
    method: str = ""
    url: str = ""  # the request the run sent (path on the lesson's API)

    @classmethod
    def build(
        cls,
        requests: int,
        concurrency: int,
        results: list[tuple[float, int, str | None]],
        seconds: float,
        *,
        method: str = "",
        url: str = "",
    ) -> LoadStats:
        statuses: dict[int, int] = {}
        for _, status, _ in results:
            statuses[status] = statuses.get(status, 0) + 1
        cache = [c for _, _, c in results if c]
        return cls(
            requests,
            concurrency,
            tuple(ms for ms, _, _ in results),
            sum(1 for _, s, _ in results if s == 0 or s >= 500),
            statuses,
            sum(1 for c in cache if c.upper() == "HIT"),
            len(cache),
            seconds,
            method,
            url,
        )

    def p(self, fraction: float) -> float:
        return percentile(sorted(self.latencies_ms), fraction)

    @property
    def hit_ratio(self) -> float | None:
        return self.cache_hits / self.cache_answers if self.cache_answers else None

    def summary(self) -> str:
        rate = self.requests / self.seconds if self.seconds > 0 else 0.0
        hits = f"{self.hit_ratio:.0%} ({self.cache_hits}/{self.cache_answers})" if self.hit_ratio is not None else "n/a"
        codes = ", ".join(f"{code or 'failed'}: {n}" for code, n in sorted(self.statuses.items()))
        what = f"{self.method} {self.url}: " if self.url else ""
        return (
            f"{what}{self.requests} requests x{self.concurrency}: p50 {self.p(0.5):.1f} ms  p95 {self.p(0.95):.1f} ms  "
            f"p99 {self.p(0.99):.1f} ms  |  errors {self.errors}  |  cache hits {hits}  |  {rate:.0f} req/s"
            f"  |  {codes}"
        )


async def run_load(
    base_url: str, method: str, url: str, headers: dict[str, str], body: bytes | None, requests: int, concurrency: int
) -> LoadStats:
    import httpx

    results: list[tuple[float, int, str | None]] = []
    queue = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=30, limits=limits) as client:

        async def worker() -> None:
            for number in queue:
                begin = time.perf_counter()
                try:
                    sent = {**headers, REF_HEADER: f"load-{number}"}
                    response = await client.request(method, url, headers=sent, content=body)
                    status, cache = response.status_code, response.headers.get("x-cache")
                except httpx.HTTPError:
                    status, cache = 0, None
                results.append(((time.perf_counter() - begin) * 1000, status, cache))

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - begin
    return LoadStats.build(requests, concurrency, results, seconds, method=method, url=url)
