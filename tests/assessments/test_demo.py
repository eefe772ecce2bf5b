"""load_demo_assessments: two closed monthly cycles of the village assistants' scheme over the
demo (with its presence), with the party organisation's and cadres' scores, ranks, trends
and one open appeal; loading again is refused unless replaced; replacing the demo removes them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from assessments.models import Appeal, Cycle, EvaluationEntry, Score
from demo.assessments import demo_assessments_count, load_demo_assessments
from demo.loader import delete_demo, demo_loaded
from demo.presence import load_demo_presence

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 6)


def test_two_closed_monthly_cycles(demo):
    load_demo_presence(days=92, seed=3, end=TODAY - dt.timedelta(days=1))
    older, newer = load_demo_assessments(seed=3, today=TODAY)
    assert (older.starts_on, older.ends_on) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert (newer.starts_on, newer.ends_on) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert all(c.is_closed for c in Cycle.objects.filter(pk__in=[older.pk, newer.pk]))
    scores = Score.objects.filter(cycle=newer)
    assert scores.count() >= 1
    assert EvaluationEntry.objects.filter(score__cycle=newer).exists()
    assert scores.filter(previous_total__isnull=False).exists()  # the trend
    assert Appeal.objects.filter(score__cycle=newer, answered_at__isnull=True).count() == 1
    assert demo_assessments_count() == 2
    call_command("load_demo_assessments", if_empty=True)
    with pytest.raises(CommandError):
        call_command("load_demo_assessments")
    # Replacing the demo removes its frozen cycles first (maintenance: their scores name the
    # demo's workers, which go with it).
    delete_demo()
    assert not demo_loaded() and demo_assessments_count() == 0
    assert not Score.objects.filter(cycle__in=[older.pk, newer.pk]).exists()
