"""The router's counters, shown on its health endpoint."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ndxp.core.errors import RejectionCode


@dataclass
class RouterStats:
    started_at: float = field(default_factory=time.time)
    routed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    last_message_at: float | None = None

    def on_routed(self) -> None:
        self.routed += 1
        self.last_message_at = time.time()

    def on_rejected(self, code: RejectionCode) -> None:
        self.rejected[code.value] += 1
        self.last_message_at = time.time()

    def snapshot(self) -> dict[str, Any]:
        return {
            "routed": self.routed,
            "rejected": dict(self.rejected),
            "rejected_total": sum(self.rejected.values()),
            "uptime_s": round(time.time() - self.started_at, 1),
            "last_message_at": self.last_message_at,
        }
