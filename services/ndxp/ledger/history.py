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


# The document exchange axis (VXP), month by month: documents sent and deliveries received
# (../shared/DOMAIN.md, issue 14). Anchors: March 2022 = 463,910 (111,456 sent, 352,454
# received), 1.8× March 2021; the first half of 2022 = 3.7 M, 3.8× the first half of 2021. The
# months between are a plausible ramp that sums to those totals; each month is split into sent
# and received as March 2022 is.
DOCUMENT_TOTALS: dict[tuple[int, int], int] = {
    (2021, 1): 120_000,
    (2021, 2): 90_000,  # Tết
    (2021, 3): 257_728,  # March 2022 / 1.8
    (2021, 4): 150_000,
    (2021, 5): 170_000,
    (2021, 6): 185_956,  # the first half of 2021: 973,684 = 3.7 M / 3.8
    (2021, 7): 220_000,
    (2021, 8): 250_000,
    (2021, 9): 290_000,
    (2021, 10): 330_000,
    (2021, 11): 370_000,
    (2021, 12): 420_000,
    (2022, 1): 480_000,
    (2022, 2): 400_000,  # Tết
    (2022, 3): 463_910,
    (2022, 4): 700_000,
    (2022, 5): 780_000,
    (2022, 6): 876_090,  # the first half of 2022: 3,700,000
    (2022, 7): 880_000,
    (2022, 8): 890_000,
    (2022, 9): 900_000,
    (2022, 10): 920_000,
    (2022, 11): 930_000,
    (2022, 12): 960_000,
    (2023, 1): 760_000,  # Tết
    (2023, 2): 850_000,
    (2023, 3): 950_000,
    (2023, 4): 930_000,
    (2023, 5): 960_000,
}
MARCH_2022_SENT, MARCH_2022_RECEIVED = 111_456, 352_454


def monthly_documents(year: int, month: int, scale: float = 1.0) -> tuple[int, int]:
    """(documents sent, deliveries received) in a month, at ``scale``."""
    total = DOCUMENT_TOTALS[(year, month)]
    sent = round(total * MARCH_2022_SENT / (MARCH_2022_SENT + MARCH_2022_RECEIVED))
    return round(sent * scale), round((total - sent) * scale)
