"""Companion to f6: the broker's byte quota counts the bytes a producer sends, compressed. The
same refused requests sent with zstd take far fewer bytes on disk/wire: records/s under 4 MiB/s.
Run: cd docs/hostile-runs/round2 && ../../../.venv/bin/python f6b_compressed_ratio.py"""
import glob, os, time, uuid
from common import *
A = "0100100079"; A_CLIENT = f"VN:COM:{A}:xacthuc"
def disk():
    return sum(os.path.getsize(f) for f in glob.glob(f"{ROOT}/var/kafka-19392/data/ndxp.in.{A}-*/*.log"))
N = 100_000
for codec in ("none", "zstd"):
    tag = uuid.uuid4().hex[:8]
    d0 = disk()
    p = producer(**{"compression.type": codec, "linger.ms": 50, "batch.size": 1_000_000})
    for i in range(N):
        p.produce(f"ndxp.in.{A}", key=A.encode(), value=b"", headers=request(f"{tag}-{i}", A_CLIENT, POP))
        if i % 5000 == 0: p.poll(0)
    p.flush(); time.sleep(1)
    b = disk() - d0
    print(f"{codec}: {N:,} records took {b:,} bytes in the log ({b/N:.1f} B/record) -> {4*2**20/(b/N):,.0f} records/s fit in 4 MiB/s")
