"""Vietnamese calendar days (pure): quotas' daily caps and the ledger's days are counted in
Asia/Ho_Chi_Minh, UTC+7 with no daylight saving since 1975."""

from __future__ import annotations

VN_UTC_OFFSET_S = 7 * 3600  # Asia/Ho_Chi_Minh: UTC+7, no daylight saving since 1975


def local_day(epoch_ms: int) -> int:
    """Days since 1970-01-01 of the Vietnamese calendar day of an epoch-millisecond time."""
    return (epoch_ms // 1000 + VN_UTC_OFFSET_S) // 86400
