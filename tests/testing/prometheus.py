"""Reading a server's `/metrics` in tests, with prometheus-client's own parser."""

from __future__ import annotations

import math

import httpx
from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """The samples of one scrape of `/metrics`."""

    def __init__(self, text: str) -> None:
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a labelled series not seen yet (a counter never bumped)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum over the series of `name` whose labels include `labels`."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls and not math.isnan(v))


def scrape(url: str, *, token: str | None = None) -> Scrape:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    res = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/plain"), res.headers
    return Scrape(res.text)
