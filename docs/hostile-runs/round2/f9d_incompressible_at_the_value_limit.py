"""Incompressible values at the router's highest value limit (NDXP_MAX_VALUE_BYTES=4091828),
zstd-compressed by the sender, through the live router: routed whole, or refused; never stuck.

Run: cd docs/hostile-runs/round2 && NDXP_MAX_VALUE_BYTES=4091828 make -C ../../.. run, then ../../../.venv/bin/python f9d_incompressible_at_the_value_limit.py
"""
import os, sys, time, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import *
from confluent_kafka import Consumer
tag = uuid.uuid4().hex[:8]
p = producer(**{"compression.type": "zstd", "message.max.bytes": 5_000_000})
sizes = [4_091_828, 4_091_828 - 1, 4_091_828 + 1, 3_000_000]
for i, n in enumerate(sizes):
    p.produce("ndxp.in.000.00.00.H41", key=b"VN:GOV:000.00.00.H41:motcua", value=os.urandom(n),
              headers=request(f"{tag}-{i}", "VN:GOV:000.00.00.H41:motcua", POP)); p.poll(0)
print("unflushed:", p.flush(60))
time.sleep(8)
print(sql(f"SELECT message_id, outcome, error, payload_size FROM ndxp.ledger WHERE message_id LIKE '{tag}%' ORDER BY message_id"))
