"""How fast the Query API client reads a large list, against the ceiling of a bare `requests` loop.

Starts an unthrottled stand-in as a separate process (100,000 items by default), then reads every item
(pages of 500, every Item field) with (a) a plain `requests` loop posting the query and (b)
`SonetQueryClient.iter_pages`, alternating, and prints items/s and the client's CPU per page (this
process runs only the client; the stand-in has its own process).

    .venv/bin/python bench/query_ceiling.py [--items 100000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import requests
from _standin import start_standin

from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.sonet.query import SonetQueryClient
from sonet_pipeline.sonet.throttle import Throttle

TOKEN = "bench-token"
COMPANY = "01"
FIRST = 500
ITEMS = entity("items")


def plain_loop(base_url: str, token: str = TOKEN, company: str = COMPANY) -> tuple[int, int]:
    """The ceiling: one keep-alive session posting the page query, following endCursor."""
    headers = {"Authorization": f"Bearer {token}", "X-Sonet-Company": company}
    query = ITEMS.page_query()
    after, records, pages = None, 0, 0
    with requests.Session() as session:
        while True:
            body = {"query": query, "variables": {"first": FIRST, "after": after}}
            answer = session.post(f"{base_url}/graphql", json=body, headers=headers, timeout=60)
            answer.raise_for_status()
            connection = answer.json()["data"][ITEMS.list_field]
            records += len(connection["edges"])
            pages += 1
            if not connection["pageInfo"]["hasNextPage"]:
                return records, pages
            after = connection["pageInfo"]["endCursor"]


def client_loop(base_url: str) -> tuple[int, int]:
    """The project's client, its throttle far above what the unthrottled stand-in can serve."""
    throttle = Throttle(rate=1_000_000, burst=1_000_000, in_flight=4)
    with SonetQueryClient(
        tenant="bench", base_url=base_url, company=COMPANY, token=TOKEN, throttle=throttle, timeout_seconds=60
    ) as client:
        records = pages = 0
        for page in client.iter_pages(ITEMS, first=FIRST):
            records += len(page.records)
            pages += 1
        return records, pages


def measure(loop: Callable[[str], tuple[int, int]], base_url: str) -> tuple[float, float]:
    """Items per second and client CPU milliseconds per page of one full read."""
    wall, cpu = time.perf_counter(), time.process_time()
    records, pages = loop(base_url)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return records / wall, cpu / pages * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    sonet = start_standin({COMPANY: TOKEN}, items=args.items, unthrottled=True)
    base_url = sonet.base_url
    print(f"stand-in with {args.items} items up in {time.perf_counter() - started:.1f} s (pid {sonet.process.pid})")
    try:
        loops = {"(a) plain requests loop (ceiling)": plain_loop, "(b) SonetQueryClient.iter_pages": client_loop}
        measure(client_loop, base_url)  # warm-up: imports, the stand-in's parsed-query cache
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in loops}
        for _ in range(args.rounds):
            for name, loop in loops.items():
                results[name].append(measure(loop, base_url))
    finally:
        sonet.stop()
    print(f"{'what':<38} {'items/s (median)':>17} {'client CPU ms/page':>19}   runs (items/s)")
    for name, runs in results.items():
        rates = [rate for rate, _ in runs]
        cpu = statistics.median(c for _, c in runs)
        listed = ", ".join(f"{rate:,.0f}" for rate in rates)
        print(f"{name:<38} {statistics.median(rates):>17,.0f} {cpu:>19.2f}   {listed}")
    ceiling = statistics.median(rate for rate, _ in results["(a) plain requests loop (ceiling)"])
    client = statistics.median(rate for rate, _ in results["(b) SonetQueryClient.iter_pages"])
    print(f"client / ceiling: {client / ceiling:.2f}   (cores: {os.cpu_count()}, first={FIRST}, every Item field)")


if __name__ == "__main__":
    main()
