"""Shared helpers for the hostile findings (run with the repository's .venv/bin/python)."""
from __future__ import annotations
import json, os, subprocess, time, uuid, urllib.request
from confluent_kafka import Producer, Consumer, TopicPartition

BOOT = os.environ.get("NDXP_BOOTSTRAP", "127.0.0.1:9092")
ROOT = os.environ.get("NDXP_HOSTILE_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))  # the clone whose `make run` platform is attacked

def producer(**extra):
    cfg = {"bootstrap.servers": BOOT, "linger.ms": 5, "message.max.bytes": 5 * 1024 * 1024,
           "partitioner": "murmur2_random", "queue.buffering.max.messages": 1_000_000,
           "queue.buffering.max.kbytes": 2_000_000}
    cfg.update(extra)
    return Producer(cfg)

def hdrs(d):
    return [(k, v.encode() if isinstance(v, str) else v) for k, v in d.items()]

def request(mid, client, service, **extra):
    return hdrs({"ndxp-id": mid, "ndxp-kind": "request", "ndxp-client": client,
                 "ndxp-service": service, **extra})

def status(mid, client, doc_id, receiver, code, **extra):
    return hdrs({"ndxp-id": mid, "ndxp-kind": "status", "ndxp-client": client,
                 "ndxp-doc-id": doc_id, "ndxp-doc-receiver": receiver,
                 "ndxp-doc-status": code, **extra})

def document(mid, client, doc_id, to, **extra):
    return hdrs({"ndxp-id": mid, "ndxp-kind": "document", "ndxp-client": client,
                 "ndxp-doc-id": doc_id, "ndxp-doc-to": ",".join(to), "ndxp-doc-type": "CV", **extra})

def sql(q):
    out = subprocess.run([f"{ROOT}/.venv/bin/ndxp", "sql", "--format", "json", q] , capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        out = subprocess.run([f"{ROOT}/.venv/bin/ndxp", "sql", q], capture_output=True, text=True, cwd=ROOT)
    return out.stdout + out.stderr

def health(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
        return json.loads(r.read())

def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()

def tap(topics):
    c = Consumer({"bootstrap.servers": BOOT, "group.id": f"tap-{uuid.uuid4()}", "enable.auto.commit": False})
    meta = c.list_topics(timeout=10)
    tps = []
    for t in topics:
        for p in meta.topics[t].partitions:
            _, high = c.get_watermark_offsets(TopicPartition(t, p), timeout=10)
            tps.append(TopicPartition(t, p, high))
    c.assign(tps)
    return c

def collect(c, secs, until=None):
    out = []
    end = time.time() + secs
    while time.time() < end:
        for m in c.consume(num_messages=1000, timeout=0.2):
            if m.error() is None:
                out.append(m)
        if until and until(out):
            break
    return out

def h(m, name):
    for k, v in (m.headers() or []):
        if k == name:
            return v.decode("utf-8", "replace") if v is not None else None
    return None
