"""The statement's month and date rules (domain/statements.py) and its CSV (no database)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.statements import (
    Month,
    day_range,
    month_of,
    months_between,
    parse_day,
    parse_month,
    totals_by_type,
)
from hotlead_app.services.statement_files import money_text, statement_csv
from hotlead_app.services.statements import Statement, StatementLine


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", " 2026-11", "1999-12", "", None, 202611]
)
def test_a_malformed_month_is_refused_naming_the_field(text):
    with pytest.raises(InvalidInput) as caught:
        parse_month(text)
    assert caught.value.details == {"month": "a month like 2026-11"}


def test_a_month_runs_from_the_first_at_local_midnight_in_the_providers_zone():
    assert parse_month("2026-11") == Month(2026, 11)
    start, end = Month(2026, 11).bounds("America/New_York")
    assert (start, end) == (datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 12, 1, 5, tzinfo=UTC))  # DST ends
    start, end = Month(2026, 12).bounds("Asia/Tokyo")
    assert (start, end) == (datetime(2026, 11, 30, 15, tzinfo=UTC), datetime(2026, 12, 31, 15, tzinfo=UTC))
    assert month_of(datetime(2026, 12, 1, 3, tzinfo=UTC), "America/New_York") == Month(2026, 11)
    assert month_of(datetime(2026, 12, 1, 3, tzinfo=UTC), "UTC") == Month(2026, 12)
    assert Month(2026, 12).next() == Month(2027, 1) and Month(2027, 1).previous() == Month(2026, 12)
    assert [m.key for m in months_between(Month(2026, 11), Month(2027, 2))] == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]
    assert Month(2026, 11).label == "November 2026"


def test_a_date_filter_is_whole_days_in_the_zone_and_names_the_bad_field():
    assert parse_day("", field="from") is None and parse_day(None, field="to") is None
    assert parse_day("2026-11-30", field="to") == date(2026, 11, 30)
    for bad in ("2026-11-31", "30/11/2026", "2026-1-3", "tomorrow", 20261130):
        with pytest.raises(InvalidInput) as caught:
            parse_day(bad, field="to")
        assert list(caught.value.details) == ["to"]
    start, end = day_range(date(2026, 11, 1), date(2026, 11, 30), "America/New_York")
    assert (start, end) == (datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 12, 1, 5, tzinfo=UTC))
    with pytest.raises(InvalidInput) as caught:
        day_range(date(2026, 11, 2), date(2026, 11, 1), "UTC")
    assert list(caught.value.details) == ["to"]


def test_totals_per_type_are_counted_summed_and_signed():
    totals = totals_by_type([("charge", Decimal("5.00")), ("deposit", Decimal("20.00")), ("charge", Decimal("2.50"))])
    assert [(t.type, t.count, t.total, t.signed_total) for t in totals] == [
        ("deposit", 1, Decimal("20.00"), Decimal("20.00")),
        ("charge", 2, Decimal("7.50"), Decimal("-7.50")),
    ]


def test_money_in_the_pdf_is_grouped_with_its_sign():
    assert money_text(Decimal("1530")) == "1,530.00"
    assert money_text(Decimal("-5")) == "-5.00"
    assert money_text(Decimal("12.5"), plus=True) == "+12.50"
    assert money_text(Decimal("0"), plus=True) == "0.00"


def test_the_csv_neutralises_formulas_and_writes_plain_decimal_amounts():
    start, end = Month(2026, 11).bounds("UTC")
    when = datetime(2026, 11, 3, 10, tzinfo=UTC)
    line = StatementLine(
        str(uuid.uuid4()),
        1,
        when,
        when,
        "deposit",
        "Deposit",
        '=HYPERLINK("x")',
        "+cmd",
        "",
        "",
        Decimal("5.00"),
        Decimal("5.00"),
    )
    st = Statement(
        uuid.uuid4(), "@Evil", "e@example.com", "UTC", Month(2026, 11), start, end, False,
        datetime(2026, 12, 1, tzinfo=UTC), Decimal("0.00"), Decimal("5.00"), [line],
        totals_by_type([("deposit", Decimal("5.00"))]),
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO("".join(statement_csv(st)))))
    assert rows[0][:3] == ["Date", "Time zone", "Type"]
    entry = rows[2]
    assert entry[3] == '\'=HYPERLINK("x")' and entry[4] == "'+cmd"
    assert (entry[5], entry[6]) == ("+5.00", "5.00")
    assert rows[-1][2:] == ["Closing balance", "November 2026", "", "+5.00", "5.00", ""]
