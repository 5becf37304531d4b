import sys
from confluent_kafka import Consumer, TopicPartition
from common import BOOT
group, topic = sys.argv[1], sys.argv[2]
c = Consumer({"bootstrap.servers": BOOT, "group.id": group, "enable.auto.commit": False})
parts = c.list_topics(topic, timeout=10).topics[topic].partitions
tps = [TopicPartition(topic, p) for p in parts]
for tp in c.committed(tps, timeout=10):
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
    print(f"{topic}[{tp.partition}] committed={tp.offset} end={hi} lag={hi-tp.offset if tp.offset>=0 else 'n/a'}")
c.close()
