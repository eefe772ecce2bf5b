"""The access log page: filtered by login, days and record, the exports follow the filters,
and a filter that makes no sense is a 400 with a message (never a 500)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AccountRole
from privacy.models import AccessLogEntry
from tests.security.test_personal_data import login, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(world):  # noqa: F811
    district = world.district.code

    def entry(username: str, records: list[str]) -> AccessLogEntry:
        return AccessLogEntry.objects.create(
            username=username,
            method="GET",
            path=f"/cases/{len(records)}/",
            district_code=district,
            fields=["phone"],
            records=records,
        )

    return [
        entry("leader-a", ["household:12", "worker:3"]),
        entry("leader-b", ["household:13"]),
    ]


def test_filters_by_login_and_record_and_the_export_follows(world, rows):  # noqa: F811
    client = login(AccountRole.DISTRICT_ADMIN, world)

    by_login = client.get("/privacy/access-log/", {"login": "leader-a"})
    by_record = client.get("/privacy/access-log/", {"record_type": "household", "record_id": "13"})
    exported = client.get(
        "/privacy/access-log/", {"record_type": "household", "record_id": "13", "format": "csv"}
    )

    assert by_login.status_code == 200
    assert "leader-a" in by_login.content.decode()
    assert "leader-b" not in by_login.content.decode()
    assert "leader-b" in by_record.content.decode()
    assert "leader-a" not in by_record.content.decode()
    lines = list(csv.reader(io.StringIO(exported.content.decode())))
    assert [line[1] for line in lines[1:]] == ["leader-b"]
    # The export link on the page keeps the filters.
    assert "record_id=13&amp;format=csv" in by_record.content.decode()


def test_records_read_as_words_not_keys(world, rows):  # noqa: F811
    client = login(AccountRole.DISTRICT_ADMIN, world)

    zh = client.get("/privacy/access-log/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    en = client.get("/privacy/access-log/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "household:12" not in zh and "household:12" not in en
    assert "household 12, worker 3" in en
    assert "住户 12、" in zh


def test_days_filter_both_ends_included(world, rows):  # noqa: F811
    client = login(AccountRole.DISTRICT_ADMIN, world)
    today = timezone.localdate()

    today_only = client.get(
        "/privacy/access-log/", {"since": today.isoformat(), "until": today.isoformat()}
    )
    yesterday = client.get(
        "/privacy/access-log/",
        {"until": (today - timedelta(days=1)).isoformat()},
    )

    assert "leader-a" in today_only.content.decode()
    assert "leader-a" not in yesterday.content.decode()


@pytest.mark.parametrize(
    "query, message",
    [
        ({"since": "2026-12-05", "until": "2026-12-01"}, "起始日期晚于截止日期"),
        ({"record_id": "13"}, "请选择编号所属的记录类型"),
        ({"since": "not-a-day"}, "日期"),
        ({"record_type": "nonsense", "record_id": "1"}, "选择"),
        ({"record_type": "household", "record_id": "1" * 40}, "确保"),
    ],
)
def test_a_filter_that_makes_no_sense_is_a_400_with_a_message(world, rows, query, message):  # noqa: F811
    client = login(AccountRole.DISTRICT_ADMIN, world)

    answer = client.get("/privacy/access-log/", query, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert answer.status_code == 400
    assert message in answer.content.decode()
