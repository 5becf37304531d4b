"""The published shape of NDXP traffic, month by month (pure; see ../shared/DOMAIN.md).

Anchors: Q1 2021 ≈ 134.5 M / 24 (Jan 1.4 M, Feb 1.5 M, Mar 48 M / 18); Q1 2022 = 134.5 M
(Jan 42 M, Feb 44.5 M, Mar 48 M, 18× March 2021); the rest of 2022 keeps the daily average
above 1.5 M; May 2023 ≈ 1.47 M a day. April–December 2021 grow geometrically from March 2021
to January 2022 (≈ 1.32× a month: the 18–24× a year the reports give).
"""

from __future__ import annotations

import calendar
import random
from datetime import date, datetime, timedelta, timezone

MONTHLY_REQUESTS: dict[tuple[int, int], float] = {
    (2021, 1): 1.40e6,
    (2021, 2): 1.50e6,
    (2021, 3): 48.0e6 / 18,
    (2022, 1): 42.0e6,
    (2022, 2): 44.5e6,
    (2022, 3): 48.0e6,
    (2022, 4): 45.0e6,
    (2022, 5): 46.5e6,
    (2022, 6): 45.5e6,
    (2022, 7): 46.0e6,
    (2022, 8): 47.0e6,
    (2022, 9): 45.5e6,
    (2022, 10): 47.5e6,
    (2022, 11): 47.0e6,
    (2022, 12): 48.5e6,
    (2023, 1): 39.0e6,  # Tết
    (2023, 2): 42.0e6,
    (2023, 3): 47.0e6,
    (2023, 4): 44.0e6,
    (2023, 5): 45.6e6,
}
_start, _end = MONTHLY_REQUESTS[(2021, 3)], MONTHLY_REQUESTS[(2022, 1)]
for _n in range(1, 10):  # April .. December 2021
    MONTHLY_REQUESTS[(2021, 3 + _n)] = _start * (_end / _start) ** (_n / 10)

FIRST, LAST = (2021, 1), (2023, 5)
VN = timezone(timedelta(hours=7))

# Relative load by weekday (Mon..Sun) and by local hour: office hours with a morning peak.
WEEKDAY = (1.0, 1.0, 1.0, 1.0, 0.95, 0.3, 0.12)
HOUR = (
    0.08,
    0.05,
    0.04,
    0.04,
    0.05,
    0.1,
    0.25,
    0.6,
    1.5,
    1.9,
    1.9,
    1.4,
    0.6,
    0.8,
    1.6,
    1.7,
    1.4,
    0.7,
    0.35,
    0.3,
    0.25,
    0.2,
    0.15,
    0.1,
)


def months(first: tuple[int, int] = FIRST, last: tuple[int, int] = LAST) -> list[tuple[int, int]]:
    out = []
    y, m = first
    while (y, m) <= last:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def hour_cells(year: int, month: int, total: int) -> list[tuple[int, int]]:
    """(UTC epoch ms of a local hour's start, requests in that hour) for a month, summing to
    ``total``, shaped by weekday and hour of day."""
    days = calendar.monthrange(year, month)[1]
    rng = random.Random(year * 100 + month)  # day-to-day variation, the same every run
    weights = []
    for d in range(1, days + 1):
        day = date(year, month, d)
        noise = rng.uniform(0.85, 1.15)
        for h in range(24):
            start = datetime(year, month, d, h, tzinfo=VN)
            weight = WEEKDAY[day.weekday()] * HOUR[h] * noise
            weights.append((int(start.timestamp() * 1000), weight))
    scale = total / sum(w for _, w in weights)
    cells, carried = [], 0.0
    for start_ms, w in weights:  # carry the rounding so the month sums exactly
        exact = w * scale + carried
        n = int(exact)
        carried = exact - n
        cells.append((start_ms, n))
    cells[-1] = (cells[-1][0], cells[-1][1] + (total - sum(n for _, n in cells)))
    return cells
