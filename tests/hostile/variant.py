"""The suite's two variants and its knobs (environment): short in ``make test``, long
(≥ 1,000,000 records) in ``make faults``."""

from __future__ import annotations

import os

LONG = "long" in (os.environ.get("NDXP_HOSTILE"), os.environ.get("NDXP_FAULTS"))
TOTAL = int(os.environ.get("NDXP_HOSTILE_RECORDS", 1_000_000 if LONG else 5_000))
REPEAT = 5 if LONG else 1  # passes over the edge cases
SEED = int(os.environ.get("NDXP_HOSTILE_SEED", "20261"))
COMPRESSED = os.environ.get("NDXP_HOSTILE_COMPRESSED", "on") != "off"
BOMB_MIB = 256 if LONG else 32  # the gzip bomb's size once decompressed
VALID_AROUND = 20_000 if LONG else 600  # ordinary requests around the compressed batches
DEADLINE_S = 900 if LONG else max(90, TOTAL // 1000)  # after the last send; then stalled
COMPRESSED_DEADLINE_S = 120 if LONG else 15  # lz4/zstd/snappy: today they stall for good
MAX_RESTARTS = 1000  # per service: a supervisor restarts for ever (the deadlines end a run)
TIMEOUT_S = 5400 if LONG else 600
