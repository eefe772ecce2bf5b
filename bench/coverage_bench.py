"""Coverage at city scale (issue 16 point 5): the report cold and repeated, and the coverage
page's data calls, with sizes.

- The report: the service circle's cache emptied (cold: every village computed), then the
  same report again (every fingerprint matches: nothing recomputed), against the circle
  computed from scratch the old way (``service_circle_uncached``) in the same run.
- The page's data calls as a signed-in city administrator makes them (Django's test client,
  in process): the page itself (figures), the village, grid and station layers, and the
  uncovered households as clusters per map cell at the city's zoom, against the marker
  layer the page used to load (``/api/coverage/uncovered-households/``, one GeoJSON point per
  household).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.common import Timing, report

USERNAME = "bench-coverage-admin"


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def report_cold_and_repeated(area_code: str, repeats: int = 3, scratch_runs: int = 2) -> None:
    from coverage.models import ServiceCircleVillage
    from coverage.report import coverage_report
    from coverage.service_circle import service_circle_uncached

    ServiceCircleVillage.objects.all().delete()
    cold, first = _timed(lambda: coverage_report(area_code))
    again = [_timed(lambda: coverage_report(area_code)) for _ in range(repeats)]
    repeated = [seconds for seconds, _report in again]
    circle = [r["timings"]["service_circle"] for _seconds, r in again]
    scratch = [_timed(lambda: service_circle_uncached(area_code))[0] for _ in range(scratch_runs)]
    circle_cold = first["timings"]["service_circle"]
    print(f"\n== coverage report of {area_code}: cold (cache emptied) and repeated")
    print(f"   cold report (every village computed): {cold:8.2f} s "
          f"(service circle {circle_cold:.2f} s)   target < 60 s")  # fmt: skip
    print(f"   repeated report (median of {repeats}): "
          f"{sorted(repeated)[len(repeated) // 2]:8.2f} s")  # fmt: skip
    report(
        f"service circle of {area_code}: repeated (cached) vs from scratch",
        Timing("ours: service circle in a repeated report", circle),
        Timing("baseline: circle from scratch (old path)", scratch),
    )


def page_data_calls(area_code: str, zoom: int, *, baseline: bool = True) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings
    from django.urls import reverse

    user, _created = get_user_model().objects.get_or_create(
        username=USERNAME, defaults={"is_superuser": True, "is_staff": True}
    )
    if "testserver" not in settings.ALLOWED_HOSTS:  # the test client's host, for this run
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(user)
    area = {"area": area_code}
    calls = [
        ("page /coverage/ (figures)", reverse("coverage"), area),
        ("villages layer", reverse("layer", kwargs={"level": "village"}), {}),
        ("grids layer", reverse("layer", kwargs={"level": "grid"}), {}),
        ("stations layer", reverse("layer", kwargs={"level": "station"}), {}),
        (f"uncovered clusters, zoom {zoom}", "/api/coverage/uncovered-clusters/",
         {**area, "zoom": zoom}),
    ]  # fmt: skip
    if baseline:
        calls.append(
            ("baseline: uncovered households (points)", "/api/coverage/uncovered-households/", area)
        )
    print(f"\n== coverage page data calls for {area_code} (in process, test client)")
    sizes: dict[str, int] = {}
    # Pages name their static files; the bench has not run collectstatic (no manifest).
    plain_static = override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    )
    try:
        plain_static.enable()
        for label, url, query in calls:
            seconds, response = _timed(lambda url=url, query=query: client.get(url, query))
            size = len(response.content)
            sizes[label] = size
            print(f"   {label:<44} {response.status_code}  {seconds:8.2f} s  "
                  f"{size / 1e6:10.3f} MB")  # fmt: skip
    finally:
        plain_static.disable()
        user.delete()
    if baseline:
        ours = sizes[f"uncovered clusters, zoom {zoom}"]
        base = sizes["baseline: uncovered households (points)"]
        print(f"   ratio clusters/points (bytes): {ours / max(base, 1):.5f}")
