"""Calendar arithmetic: month-end clamping, leap days, partial dates."""

from __future__ import annotations

import datetime as dt

import pytest

from eligo.dates import add_months, add_years, parse_date, whole_years, window_start

D = dt.date


@pytest.mark.parametrize(("start", "months", "expected"), [
    (D(2026, 3, 31), -1, D(2026, 2, 28)),
    (D(2024, 3, 31), -1, D(2024, 2, 29)),
    (D(2026, 12, 1), -6, D(2026, 6, 1)),
    (D(2026, 8, 31), 6, D(2027, 2, 28)),
    (D(2026, 1, 15), -13, D(2024, 12, 15)),
    (D(2026, 5, 31), 0, D(2026, 5, 31)),
])
def test_add_months_clamps_to_month_end(start: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(start, months) == expected


def test_add_years_leap_day() -> None:
    assert add_years(D(2024, 2, 29), 1) == D(2025, 2, 28)
    assert add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)
    assert add_years(D(2027, 2, 28), -3) == D(2024, 2, 28)


@pytest.mark.parametrize(("birth", "on", "age"), [
    (D(2008, 12, 1), D(2026, 12, 1), 18),
    (D(2008, 12, 2), D(2026, 12, 1), 17),
    (D(2008, 2, 29), D(2026, 2, 28), 18),
    (D(2008, 2, 29), D(2026, 2, 27), 17),
    (D(2008, 2, 29), D(2028, 2, 28), 19),  # leap year: the birthday is the 29th
    (D(2008, 2, 29), D(2028, 2, 29), 20),
])
def test_whole_years(birth: dt.date, on: dt.date, age: int) -> None:
    assert whole_years(birth, on) == age


def test_parse_partial_dates() -> None:
    assert parse_date("2024-05") .earliest == D(2024, 5, 1)
    assert parse_date("2024-05").latest == D(2024, 5, 31)
    assert parse_date("2024-02").latest == D(2024, 2, 29)
    assert parse_date("2024").earliest == D(2024, 1, 1) and parse_date("2024").latest == D(2024, 12, 31)
    assert parse_date("2024-05-07T23:30:00+02:00").exact
    assert parse_date("2024-05-07").earliest == D(2024, 5, 7)


@pytest.mark.parametrize("bad", ["", "2024-13", "2024-02-30", "May 2024", "24-05-01"])
def test_parse_rejects_non_dates(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_date(bad)


def test_window_start() -> None:
    index = D(2026, 12, 1)
    assert window_start(index, days=28) == D(2026, 11, 3)
    assert window_start(index, months=6) == D(2026, 6, 1)
    assert window_start(D(2027, 2, 28), years=3) == D(2024, 2, 28)
    assert window_start(D(2026, 8, 31), months=6) == D(2026, 2, 28)
