"""Names the tables of :mod:`ndxp.internals` share: the library classes they reach into, and
the ndxp modules that rely on them."""

CONSUMER = "faust.transport.drivers.aiokafka:Consumer"  # the class of ``app.consumer``
BASE_CONSUMER = "faust.transport.consumer:Consumer"  # where Faust's consumer logic lives
THREAD = "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread"  # ``consumer._thread``
PRODUCER = "faust.transport.drivers.aiokafka:Producer"  # the class of ``app.producer``
ACCUMULATOR = "aiokafka.producer.message_accumulator:MessageAccumulator"
BATCH = "aiokafka.producer.message_accumulator:MessageBatch"
RECORDS = "kafka/records.py"
SESSIONS = "kafka/fetch_session.py"
BUFFER = "kafka/fetch_buffer.py"
PLAN = "kafka/fetch_plan.py"
FAIR = "kafka/fair_drain.py"
# aiokafka's own plan: once fetch_session is installed the class holds ndxp's, whose
# __wrapped__ is aiokafka's (inspect.getsource reads that one)
AIOKAFKA_PLAN = "aiokafka.consumer.fetcher:Fetcher._get_actions_per_node"
FETCHER = "aiokafka.consumer.fetcher:Fetcher"
SUBSCRIPTION = "aiokafka.consumer.subscription_state"
FIXES = "router/faust_fixes.py"
IN_ORDER = "router/in_order.py"
RUNS = "router/runs.py"
OUTBOX = "router/outbox.py"
WATCH = "router/recovery_watch.py"
STATE = "kafka/fetch_state.py"
AIOKAFKA_CONSUMER = "aiokafka.consumer.consumer:AIOKafkaConsumer"
RECOVERY = "faust.tables.recovery:Recovery"
