"""Timing helpers shared by scenarios."""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode


@dataclass
class Timing:
    label: str
    samples: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.samples, n=20)[18] * 1000


def time_each(label: str, fn: Callable[[object], object], inputs: list, warmup: int = 20) -> Timing:
    for item in inputs[:warmup]:
        fn(item)
    samples = []
    for item in inputs:
        t0 = time.perf_counter()
        fn(item)
        samples.append(time.perf_counter() - t0)
    return Timing(label, samples)


def time_pair(
    ours: tuple[str, Callable[[object], object]],
    baseline: tuple[str, Callable[[object], object]],
    inputs: list,
    warmup: int = 20,
) -> tuple[Timing, Timing]:
    """Ours and the baseline timed on the same inputs, interleaved: each input runs through
    both, ours first on even inputs and the baseline first on odd ones. A slow spell of the
    machine (another process, the CPU's clock) then falls on both sides alike instead of on
    whichever ran during it; timed one after the other, the same code's ratio moved by 1.5x
    between runs."""
    (ours_label, ours_fn), (base_label, base_fn) = ours, baseline
    for item in inputs[:warmup]:
        ours_fn(item)
        base_fn(item)
    ours_samples: list[float] = []
    base_samples: list[float] = []
    for i, item in enumerate(inputs):
        order = [(ours_fn, ours_samples), (base_fn, base_samples)]
        for fn, samples in order if i % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            fn(item)
            samples.append(time.perf_counter() - t0)
    return Timing(ours_label, ours_samples), Timing(base_label, base_samples)


def report(title: str, ours: Timing, baseline: Timing, note: str = "") -> None:
    ratio = ours.median_ms / baseline.median_ms
    print(f"\n== {title}")
    if note:
        print(f"   {note}")
    for t in (ours, baseline):
        stats = f"median {t.median_ms:8.3f} ms   p95 {t.p95_ms:8.3f} ms   n={len(t.samples)}"
        print(f"   {t.label:<44} {stats}")
    print(f"   ratio ours/baseline (median): {ratio:.2f}x")
    # What ours spends around the same work (where the baseline is a bare statement of a
    # few ms, the framework's fixed cost decides the ratio).
    print(f"   difference ours-baseline (median): {ours.median_ms - baseline.median_ms:+.3f} ms")


def channels() -> list[list]:
    """``[name, off]`` of each named outbound channel (``inbox.deliveries.channels``): the
    raw baselines of incident creation write a delivery record per channel, as ours does."""
    from inbox.deliveries import channels as configured

    return [[c.name, bool(c.off_because())] for c in configured() if c.name]


class InProcess:
    """Requests to Django's WSGI handler in this process, as gunicorn makes them (the
    handler's signals included: the connection's health check and its age), without the test
    client's own work (building its request, reconnecting signals, keeping the templates and
    context of each answer for assertions: 0.1-0.3 ms of the point lookup's 2 ms).
    ``headers`` are WSGI environ keys (``HTTP_AUTHORIZATION``, ``HTTP_COOKIE``)."""

    def __init__(self, **headers: str) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()
        self.headers = headers

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: bytes = b"",
        content_type: str = "",
    ) -> tuple[int, bytes]:
        """``(status, body)`` of one request."""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": urlencode(params or {}),
            "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": content_type,
            **self.headers,
        }
        status: list[str] = []
        chunks = self.handler(environ, lambda s, headers, *exc: status.append(s))
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return int(status[0].split()[0]), content

    def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, bytes]:
        return self.request("GET", path, params)

    def post(self, path: str, body: str, content_type: str) -> tuple[int, bytes]:
        return self.request("POST", path, body=body.encode(), content_type=content_type)
