"""Calendar arithmetic with the conventions of CRITERIA.md.

- Whole calendar days; "within N days before" is ``0 <= index - date <= N``.
- Calendar months and years are added with the day clamped to the month end
  (31 March minus one month is 28/29 February; 29 February minus one year is
  28 February).
- A partial date (``2024-05``, ``2024``) denotes an interval of days.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T.*)?$")


@dataclass(frozen=True, slots=True)
class DateInterval:
    """The days a (possibly partial) date may denote; ``earliest == latest`` when exact."""

    earliest: dt.date
    latest: dt.date

    @property
    def exact(self) -> bool:
        return self.earliest == self.latest


@lru_cache(maxsize=1 << 16)  # a record's dates are read more than once, and dates repeat across records
def parse_date(text: str) -> DateInterval:
    """Parse ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or an ISO date-time.

    A date-time keeps its calendar date as written (its local date).
    Raises ``ValueError`` for anything else.
    """
    m = _DATE_RE.match(text.strip())
    if not m:
        raise ValueError(f"not a date: {text!r}")
    year, month, day = m.group(1), m.group(2), m.group(3)
    y = int(year)
    if month is None:
        return DateInterval(dt.date(y, 1, 1), dt.date(y, 12, 31))
    mo = int(month)
    if day is None:
        last = calendar.monthrange(y, mo)[1]
        return DateInterval(dt.date(y, mo, 1), dt.date(y, mo, last))
    d = dt.date(y, mo, int(day))
    return DateInterval(d, d)


def add_months(date: dt.date, months: int) -> dt.date:
    """``date`` plus ``months`` calendar months (negative to go back), clamped to month end."""
    total = date.year * 12 + (date.month - 1) + months
    year, month0 = divmod(total, 12)
    month = month0 + 1
    day = min(date.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def add_years(date: dt.date, years: int) -> dt.date:
    """``date`` plus ``years`` calendar years, 29 February clamped to 28 February."""
    return add_months(date, 12 * years)


def whole_years(birth: dt.date, on: dt.date) -> int:
    """Age in whole years on ``on`` (a 29 February birthday counts on 28 February)."""
    years = on.year - birth.year
    if add_years(birth, years) > on:
        years -= 1
    return years


def window_start(index: dt.date, *, days: int = 0, months: int = 0, years: int = 0) -> dt.date:
    """The first day of the window ``[index - N, index]``."""
    start = index - dt.timedelta(days=days)
    if months:
        start = add_months(start, -months)
    if years:
        start = add_years(start, -years)
    return start
