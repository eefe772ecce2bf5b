"""Timing helpers shared by scenarios."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


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


def channels() -> list[list]:
    """``[name, off]`` of each named outbound channel (``inbox.deliveries.channels``): the
    raw baselines of incident creation write a delivery record per channel, as ours does."""
    from inbox.deliveries import channels as configured

    return [[c.name, bool(c.off_because())] for c in configured() if c.name]
