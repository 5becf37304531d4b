"""Secured mode against a real secured broker (infra/kafka/secure.sh): SASL/SCRAM-SHA-512,
Kafka's StandardAuthorizer, ACLs derived from the registry; the router and the ledger each run
under their own principal. Agencies can only write their own ingress topic, read their own
egress topic and use their own consumer groups; they cannot get a message routed as another
agency; the X-Road REST gateway calls as its own principal, for the member a client certificate
names, and cannot bypass the router's checks; a wrong password is refused; no password appears
in a log or a settings repr."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from ndxp.core.acl import MEMBER_BYTES_PER_S
from ndxp.kafka.auth import KafkaAuth
from ndxp.kafka.quotas import read_quotas
from ndxp.pki import ca_files, client_ssl_context, issue_member, member_files
from ndxp.settings import GatewaySettings, LedgerSettings, RouterSettings

from .kafka_tools import (
    NDXP,
    REPO,
    GatewayProcess,
    LedgerProcess,
    RouterProcess,
    free_port,
    hdr,
    request,
)
from .kafka_tools import simulator as start_simulator

pytestmark = pytest.mark.integration

H41, H42, G01 = "000.00.00.H41", "000.00.00.H42", "000.00.01.G01"
MOTCUA_H41 = f"VN:GOV:{H41}:motcua"
MOTCUA_H42 = f"VN:GOV:{H42}:motcua"
SERVICE = f"VN:GOV:{G01}:dancu:tra-cuu:v1"
REGISTRY = {
    "version": "secure-test-1",
    "members": [
        {
            "id": f"VN:GOV:{code}",
            "name": f"{code} (test)",
            "kind": "province_platform",
            "connected": True,
            "synthetic": True,
            "subsystems": [{"code": "motcua"}],
        }
        for code in (H41, H42)
    ]
    + [
        {
            "id": f"VN:GOV:{G01}",
            "name": "population database (test)",
            "kind": "national_database",
            "connected": True,
            "synthetic": True,
            "subsystems": [{"code": "dancu", "services": [{"code": "tra-cuu", "version": "v1"}]}],
        }
    ],
    "access": [{"service": SERVICE, "member": f"VN:GOV:{m}"} for m in (H41, H42)],
}


@dataclass
class Secured:
    bootstrap: str
    var: Path
    registry: Path
    outputs: list[str] = field(default_factory=list)  # what the scripts and commands printed

    @property
    def secrets(self) -> Path:
        return self.var / "secrets"

    def password(self, user: str) -> str:
        return (self.secrets / f"{user}.password").read_text().strip()

    def env(self, user: str) -> dict[str, str]:
        """The environment that makes an ndxp process run as ``user`` (a password file)."""
        return {
            "NDXP_VAR": str(self.var),
            "NDXP_BOOTSTRAP": self.bootstrap,
            "NDXP_REGISTRY": str(self.registry),
            "NDXP_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "NDXP_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "NDXP_KAFKA_USER": user,
            "NDXP_KAFKA_PASSWORD_FILE": str(self.secrets / f"{user}.password"),
        }

    def conf(self, user: str, password: str | None = None) -> dict[str, Any]:
        """confluent-kafka configuration for ``user`` (a second client, on the wire)."""
        return {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": user,
            "sasl.password": self.password(user) if password is None else password,
        }

    def ndxp(self, user: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(NDXP), *args],
            env={**clean_environ(), **self.env(user)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.outputs += [done.stdout, done.stderr]
        if check and done.returncode != 0:
            raise AssertionError(f"ndxp {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NDXP_KAFKA_")}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """A secured broker on free ports, its users, ACLs and topics (as ndxp-admin)."""
    var = tmp_path_factory.mktemp("secure")
    registry = var / "registry.json"
    registry.write_bytes(orjson.dumps(REGISTRY))
    port = free_port(pair=True)
    env = {**clean_environ(), "NDXP_SECURE_PORT": str(port), "NDXP_VAR": str(var)}
    script = str(REPO / "infra" / "kafka" / "secure.sh")
    s = Secured(f"127.0.0.1:{port}", var, registry)
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True)
    s.outputs += [started.stdout, started.stderr]
    if started.returncode != 0:
        pytest.fail(f"secure.sh start failed:\n{started.stdout}\n{started.stderr}")
    try:
        s.ndxp("ndxp-admin", "users", "--registry", str(registry))
        s.ndxp("ndxp-admin", "acls", "apply", "--registry", str(registry))
        s.ndxp("ndxp-admin", "quotas", "--registry", str(registry))
        s.ndxp("ndxp-admin", "topics", "--registry", str(registry))
        yield s
    finally:
        stopped = subprocess.run([script, "stop"], env=env, capture_output=True, text=True)
        s.outputs += [stopped.stdout, stopped.stderr]


@dataclass
class Services:
    router: RouterProcess
    ledger: LedgerProcess
    gateway: GatewayProcess


@pytest.fixture(scope="module")
def services(secured: Secured) -> Iterator[Services]:
    """The router and the ledger, each under its own principal."""
    router = RouterProcess(
        secured.bootstrap,
        secured.var / "router.log",
        env={**clean_environ(), **secured.env("ndxp-router")},
        registry=secured.registry,
        group="ndxp-router",
    )
    ledger = LedgerProcess(
        secured.bootstrap,
        secured.var / "ledger.log",
        env={
            **clean_environ(),
            **secured.env("ndxp-ledger"),
            "NDXP_LEDGER_BATCH_SECONDS": "0.2",
        },
        dsn=f"chdb://{secured.var / 'ledger'}",
    )
    # the X-Road REST gateway as ndxp-gateway, with mutual TLS (member certificates of the
    # platform CA in the secrets folder, as `ndxp certs issue` writes them)
    for member in (H41, H42):
        issue_member(secured.secrets, f"VN:GOV:{member}")
    gateway = GatewayProcess(
        secured.bootstrap,
        secured.var / "gateway.log",
        env={**clean_environ(), **secured.env("ndxp-gateway"), "NDXP_GATEWAY_TLS": "on"},
        timeout_s=10.0,
        tls=member_tls(secured, H41),
    )
    router.start()
    ledger.start()
    gateway.start()
    simulator: subprocess.Popen[bytes] | None = None
    try:
        # the population database's simulator, as its member (G01)
        simulator = start_simulator(
            [G01, "--group", f"{G01}.simulator", "--service-time-ms", "0"],
            {**clean_environ(), **secured.env(G01)},
            secured.var / "simulator.log",
        )
        router.wait_ready()
        ledger.wait_ready()
        gateway.wait_ready()
        yield Services(router, ledger, gateway)
    finally:
        gateway.stop()
        if simulator is not None:
            simulator.terminate()
            simulator.wait(30)
        router.stop()
        ledger.stop()


def member_tls(secured: Secured, member: str) -> ssl.SSLContext:
    files = member_files(secured.secrets, member)
    return client_ssl_context(files.cert, files.key, ca_files(secured.secrets).cert)


def gateway_call(
    g: GatewayProcess, context: ssl.SSLContext, client: str, call_id: str
) -> tuple[int, dict[str, str], bytes]:
    """``GET`` the population database's service through the gateway, over mutual TLS."""

    async def go() -> tuple[int, dict[str, str], bytes]:
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session,
            session.get(
                f"https://127.0.0.1:{g.web_port}/r1/VN/GOV/{G01}/dancu/tra-cuu~v1/ca-nhan",
                headers={"X-Road-Client": client, "X-Road-Id": call_id},
            ) as r,
        ):
            return r.status, dict(r.headers), await r.read()

    return asyncio.run(go())


def delivery_errors(p: Producer, sends: list[tuple[str, list[tuple[str, bytes]]]]) -> list[Any]:
    """Produce each (topic, headers); the error code of each delivery (None when written)."""
    results: list[Any] = [...] * len(sends)

    def on_delivery(i: int) -> Callable[[KafkaError | None, Message], None]:
        def done(err: KafkaError | None, _: Message) -> None:
            results[i] = None if err is None else err.code()

        return done

    for i, (topic, headers) in enumerate(sends):
        p.produce(topic, value=b"{}", key=b"k", headers=headers, on_delivery=on_delivery(i))
    p.flush(30)
    assert ... not in results, "a delivery report did not arrive"
    return results


def own_tap(secured: Secured, member: str) -> Consumer:
    """``member``'s consumer on its own egress topic, at its end (a group of its own)."""
    c = Consumer(
        {
            **secured.conf(member),
            "group.id": f"{member}.tap-{uuid.uuid4()}",
            "enable.auto.commit": False,
        }
    )
    topic = f"ndxp.out.{member}"
    tps = []
    for p in c.list_topics(topic, timeout=10).topics[topic].partitions:
        _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        tps.append(TopicPartition(topic, p, high))
    c.assign(tps)
    return c


def collect(
    c: Consumer, until: Callable[[list[Message]], bool], timeout: float = 30
) -> tuple[list[Message], list[int]]:
    """Messages and error codes consumed until ``until(messages)`` or the timeout."""
    messages: list[Message] = []
    errors: list[int] = []
    deadline = time.monotonic() + timeout
    while not until(messages) and time.monotonic() < deadline:
        for m in c.consume(num_messages=100, timeout=0.2):
            err = m.error()
            if err is None:
                messages.append(m)
            else:
                errors.append(err.code())
        if errors:
            break
    return messages, errors


def test_a_member_may_write_its_own_ingress_topic_only(secured: Secured) -> None:
    p = Producer({**secured.conf(H41), "linger.ms": 0, "message.timeout.ms": 20000})
    good = request(f"own-{uuid.uuid4()}", MOTCUA_H41, SERVICE)
    sends = [
        (f"ndxp.in.{H41}", good),
        (f"ndxp.in.{H42}", good),  # another member's ingress: sending as H42
        (f"ndxp.out.{H42}", good),  # forging a delivery to another member
        (f"ndxp.out.{H41}", good),  # ... or to itself
        ("ndxp.rejected", good),
    ]
    denied = KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert delivery_errors(p, sends) == [None, denied, denied, denied, denied]


def test_ndxp_send_as_another_member_is_refused_by_the_broker(secured: Secured) -> None:
    done = secured.ndxp(
        H41,
        "send",
        *("--as", H42, "--client", MOTCUA_H42, "--service", SERVICE, "--data", "{}"),
        check=False,
    )
    assert done.returncode == 2
    assert f"TopicAuthorizationFailedError: ndxp.in.{H42}" in done.stderr


def test_a_member_may_read_its_own_egress_topic_only_in_its_own_groups(
    secured: Secured,
) -> None:
    mid = f"delivery-{uuid.uuid4()}"
    admin = Producer(secured.conf("ndxp-admin"))
    admin.produce(f"ndxp.out.{H41}", value=b"{}", headers=[("ndxp-id", mid.encode())])
    admin.flush(10)

    def member_consumer(group: str) -> Consumer:
        return Consumer({**secured.conf(H41), "group.id": group, "auto.offset.reset": "earliest"})

    own = member_consumer(f"{H41}.reader-{uuid.uuid4()}")
    own.subscribe([f"ndxp.out.{H41}"])
    got, errors = collect(own, lambda ms: any(hdr(m, "ndxp-id") == mid for m in ms))
    own.close()
    assert errors == [] and any(hdr(m, "ndxp-id") == mid for m in got)

    other_topic = member_consumer(f"{H41}.peek-{uuid.uuid4()}")
    other_topic.subscribe([f"ndxp.out.{H42}"])
    got, errors = collect(other_topic, lambda ms: False, timeout=15)
    with pytest.raises(KafkaException) as refused:  # reading by partition: no offsets either
        other_topic.get_watermark_offsets(TopicPartition(f"ndxp.out.{H42}", 0), timeout=10)
    other_topic.close()
    assert got == [] and KafkaError.TOPIC_AUTHORIZATION_FAILED in errors
    # the topic is not even visible to it
    assert refused.value.args[0].code() in (
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError._UNKNOWN_PARTITION,
    )

    for group in (f"{H42}.steal", "ndxp-router", "ndxp-ledger", "shared"):
        intruder = member_consumer(group)
        intruder.subscribe([f"ndxp.out.{H41}"])
        got, errors = collect(intruder, lambda ms: False, timeout=15)
        intruder.close()
        assert got == [] and KafkaError.GROUP_AUTHORIZATION_FAILED in errors, group


def test_a_member_cannot_get_a_message_routed_as_another_agency(
    secured: Secured, services: Services
) -> None:
    tap_h41, tap_g01 = own_tap(secured, H41), own_tap(secured, G01)
    good = f"good-{uuid.uuid4()}"
    as_h42 = f"as-h42-{uuid.uuid4()}"
    forged = {
        f"forged-route-{uuid.uuid4()}": ("ndxp-route", G01),
        f"forged-internal-{uuid.uuid4()}": ("ndxp-x-route", G01),
        f"forged-error-{uuid.uuid4()}": ("ndxp-error", "NOT_SENDER"),
        f"forged-routed-at-{uuid.uuid4()}": ("ndxp-routed-at", "1"),
    }
    p = Producer({**secured.conf(H41), "linger.ms": 0})
    sends = [
        (f"ndxp.in.{H41}", request(good, MOTCUA_H41, SERVICE)),
        (f"ndxp.in.{H41}", request(as_h42, MOTCUA_H42, SERVICE)),  # naming another agency
        *(
            (f"ndxp.in.{H41}", request(mid, MOTCUA_H41, SERVICE, **{name: value}))
            for mid, (name, value) in forged.items()
        ),
    ]
    assert delivery_errors(p, sends) == [None] * len(sends)
    wanted = {as_h42, *forged}

    notices, errors = collect(
        tap_h41,
        lambda ms: wanted <= {hdr(m, "ndxp-correlation-id") for m in ms},
    )
    assert errors == []
    by_id = {hdr(m, "ndxp-correlation-id"): m for m in notices}
    assert hdr(by_id[as_h42], "ndxp-kind") == "error"
    assert hdr(by_id[as_h42], "ndxp-error") == "NOT_SENDER"
    for mid in forged:
        assert hdr(by_id[mid], "ndxp-error") == "MALFORMED", mid

    delivered, errors = collect(tap_g01, lambda ms: any(hdr(m, "ndxp-id") == good for m in ms))
    assert errors == []
    ids = {hdr(m, "ndxp-id") for m in delivered}
    assert good in ids and not ids & wanted  # the provider got the good one only
    [m] = [m for m in delivered if hdr(m, "ndxp-id") == good]
    assert hdr(m, "ndxp-route") == G01 and hdr(m, "ndxp-client") == MOTCUA_H41
    tap_h41.close()
    tap_g01.close()

    # the ledger (its own principal) recorded the routed request and the refusals
    deadline = time.monotonic() + 20
    rows: list[list[Any]] = []
    while time.monotonic() < deadline:
        rows = services.ledger.sql(
            "SELECT message_id, outcome, error FROM ndxp.ledger WHERE message_id IN "
            f"('{good}', '{as_h42}')"
        )
        if len(rows) >= 2:
            break
        time.sleep(0.3)
    recorded = {r[0]: (r[1], r[2] or "") for r in rows}
    assert recorded == {good: ("routed", ""), as_h42: ("rejected", "NOT_SENDER")}


def test_the_gateway_calls_as_its_own_principal_for_the_member_its_caller_proved(
    secured: Secured, services: Services
) -> None:
    good = f"gw-{uuid.uuid4()}"
    status, headers, body = gateway_call(
        services.gateway, member_tls(secured, H41), f"VN/GOV/{H41}/motcua", good
    )
    assert status == 200, body
    assert headers["X-Road-Request-Id"] == good
    # another province's certificate may not call as Nghệ An
    status, headers, _ = gateway_call(
        services.gateway, member_tls(secured, H42), f"VN/GOV/{H41}/motcua", f"gw-{uuid.uuid4()}"
    )
    assert status == 403 and headers["X-Road-Error"] == "Server.ClientProxy.SslAuthenticationFailed"

    # the gateway's principal writes calls and nothing else: no forged delivery, no rejection
    p = Producer({**secured.conf("ndxp-gateway"), "linger.ms": 0, "message.timeout.ms": 20000})
    as_h42 = f"gw-as-h42-{uuid.uuid4()}"
    sends = [
        (f"ndxp.in.{H41}", request(as_h42, MOTCUA_H42, SERVICE)),  # H42's client on H41's topic
        (f"ndxp.out.{G01}", request(f"gw-forged-{uuid.uuid4()}", MOTCUA_H41, SERVICE)),
        ("ndxp.rejected", request(f"gw-rejected-{uuid.uuid4()}", MOTCUA_H41, SERVICE)),
    ]
    denied = KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert delivery_errors(p, sends) == [None, denied, denied]
    # ... and what it writes still passes the router's checks: the client names its topic
    deadline = time.monotonic() + 30
    recorded: dict[str, tuple[str, str, str]] = {}
    while time.monotonic() < deadline and len(recorded) < 2:
        rows = services.ledger.sql(
            "SELECT message_id, outcome, error, client FROM ndxp.ledger "
            f"WHERE message_id IN ('{good}', '{as_h42}') AND kind = 'request'"
        )
        recorded = {r[0]: (r[1], r[2] or "", r[3]) for r in rows}
        time.sleep(0.3)
    assert recorded == {
        good: ("routed", "", MOTCUA_H41),
        as_h42: ("rejected", "NOT_SENDER", MOTCUA_H42),
    }


def admin_auth(secured: Secured) -> KafkaAuth:
    return KafkaAuth(
        "SASL_PLAINTEXT", "SCRAM-SHA-512", "ndxp-admin", secured.password("ndxp-admin")
    )


def test_every_member_has_a_byte_rate_and_the_platforms_principals_none(
    secured: Secured,
) -> None:
    """`ndxp quotas` (run by the fixture, as make secure runs it): the broker holds the
    default rate for each connected member's principal and nothing for ndxp's own."""
    held = read_quotas(secured.bootstrap, admin_auth(secured))
    assert held == {m: float(MEMBER_BYTES_PER_S) for m in (G01, H41, H42)}


def test_a_member_writing_faster_than_its_rate_is_throttled_by_the_broker(
    secured: Secured, services: Services
) -> None:
    """A member's rate lowered to 64 KiB/s: writing 1 MB to its ingress topic at once (the
    broker measures a rate over at least 10 s: 100 KB/s), its producer is told to wait (the
    broker's throttle time, reported to librdkafka's throttle callback); a member within its
    rate is not; the platform goes on routing (its own principal has no quota). Then the
    default rate again."""
    registry = str(secured.registry)
    secured.ndxp("ndxp-admin", "quotas", "--registry", registry, "--bytes-per-s", "65536")
    try:
        throttled: dict[str, list[int]] = {H41: [], H42: []}
        for member, records in ((H42, 16), (H41, 1)):
            p = Producer(
                {
                    **secured.conf(member),
                    "linger.ms": 0,
                    "throttle_cb": lambda e, m=member: throttled[m].append(e.throttle_time),
                }
            )
            client = MOTCUA_H42 if member == H42 else MOTCUA_H41
            for i in range(records):
                headers = request(f"quota-{member}-{i}-{uuid.uuid4().hex[:6]}", client, SERVICE)
                p.produce(f"ndxp.in.{member}", value=b"v" * 65_000, key=b"k", headers=headers)
                p.poll(0)
            assert p.flush(60) == 0
            deadline = time.monotonic() + 5
            while member == H42 and not any(throttled[H42]) and time.monotonic() < deadline:
                p.poll(0.2)
        assert max(throttled[H42], default=0) > 0, throttled
        assert max(throttled[H41], default=0) == 0, throttled
        held = read_quotas(secured.bootstrap, admin_auth(secured))
        assert held[H42] == 65536.0 and "ndxp-router" not in held
    finally:
        secured.ndxp("ndxp-admin", "quotas", "--registry", registry)
    assert services.router.proc is not None and services.router.proc.poll() is None


@pytest.mark.parametrize("user", [H41, "ndxp-admin", "nobody"])
def test_a_wrong_password_is_refused(secured: Secured, user: str) -> None:
    errors: list[KafkaError] = []
    conf = secured.conf(H41, password="not-the-password")
    conf["sasl.username"] = user
    p = Producer({**conf, "error_cb": errors.append})
    deadline = time.monotonic() + 20
    while not errors and time.monotonic() < deadline:
        p.poll(0.2)
    assert errors and errors[0].code() == KafkaError._AUTHENTICATION
    assert "Authentication failed" in errors[0].str()


def test_ndxp_with_a_wrong_password_exits_with_the_reason(secured: Secured, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password\n")
    done = subprocess.run(
        [str(NDXP), "tail", H41, "--max", "1"],
        env={**clean_environ(), **secured.env(H41), "NDXP_KAFKA_PASSWORD_FILE": str(wrong)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "SaslAuthenticationFailed" in done.stderr


def test_a_client_without_credentials_gets_nothing(secured: Secured) -> None:
    c = Consumer(
        {
            "bootstrap.servers": secured.bootstrap,
            "group.id": "anonymous",
            "socket.timeout.ms": 5000,
        }
    )
    with pytest.raises(KafkaException) as refused:  # the broker hangs up on it at once
        c.list_topics(timeout=5)
    c.close()
    assert refused.value.args[0].code() == KafkaError._TRANSPORT


def test_secrets_are_private_files(secured: Secured) -> None:
    assert secured.secrets.stat().st_mode & 0o777 == 0o700
    files = sorted(secured.secrets.glob("*.password"))
    names = {f.name.removesuffix(".password") for f in files}
    assert names == {H41, H42, G01, "ndxp-router", "ndxp-ledger", "ndxp-gateway", *_SUPER}
    for f in files:
        assert f.stat().st_mode & 0o777 == 0o600, f
    passwords = [f.read_text().strip() for f in files]
    assert len(set(passwords)) == len(passwords) and all(len(p) >= 32 for p in passwords)


_SUPER = ("ndxp-admin", "ndxp-broker", "ndxp-controller")


def test_apply_again_is_a_no_op_and_prune_removes_what_the_registry_does_not_imply(
    secured: Secured,
) -> None:
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    admin = AdminClient(secured.conf("ndxp-admin"))
    stray = AclBinding(
        ResourceType.TOPIC,
        f"ndxp.out.{H42}",
        ResourcePatternType.LITERAL,
        f"User:{H41}",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    for future in admin.create_acls([stray]).values():
        future.result()
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096)
    for future in admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion("stray-user", info, b"stray-password")]
    ).values():
        future.result()

    args = ("--registry", str(secured.registry))
    assert "0 created" in secured.ndxp("ndxp-admin", "acls", "apply", *args).stdout
    pruned = secured.ndxp("ndxp-admin", "acls", "apply", "--prune", *args).stdout
    assert "0 created" in pruned and "1 others deleted" in pruned
    users = secured.ndxp("ndxp-admin", "users", "--prune", *args).stdout
    assert "0 new password file(s)" in users and "deleted stray-user" in users
    # what the members, the router and the ledger need is still there
    p = Producer({**secured.conf(H41), "linger.ms": 0})
    ok = request(f"after-prune-{uuid.uuid4()}", MOTCUA_H41, SERVICE)
    assert delivery_errors(p, [(f"ndxp.in.{H41}", ok), (f"ndxp.out.{H42}", ok)]) == [
        None,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
    ]


def test_no_password_in_logs_outputs_command_lines_or_settings(
    secured: Secured, services: Services
) -> None:
    """Runs last: everything above has written to the logs by now."""
    passwords = {f.name: f.read_text().strip() for f in sorted(secured.secrets.glob("*.password"))}
    broker = secured.var / f"kafka-secure-{secured.bootstrap.rsplit(':', 1)[1]}"
    texts = {
        "router log": services.router.log.read_text(errors="replace"),
        "ledger log": services.ledger.log.read_text(errors="replace"),
        "gateway log": services.gateway.log.read_text(errors="replace"),
        "broker log": (broker / "server.log").read_text(errors="replace"),
        "format log": (broker / "format.log").read_text(errors="replace"),
        "script and command output": "\n".join(secured.outputs),
    }
    assert "rejected NOT_SENDER" in texts["router log"] or "NOT_SENDER" in texts["router log"]
    for process in (services.router.proc, services.ledger.proc, services.gateway.proc):
        assert process is not None
        proc = Path(f"/proc/{process.pid}")
        texts[f"command line of {process.pid}"] = (proc / "cmdline").read_bytes().decode()
        texts[f"environment of {process.pid}"] = (proc / "environ").read_bytes().decode()
    for user in ("ndxp-router", "ndxp-ledger", "ndxp-gateway"):
        env = secured.env(user)
        texts[f"{user} settings"] = (
            repr(RouterSettings.from_env(env))
            + repr(LedgerSettings.from_env(env))
            + repr(GatewaySettings.from_env(env))
        )
        assert user in texts[f"{user} settings"]
    assert not list(broker.glob("*.args"))  # the format arguments file is gone
    for where, text in texts.items():
        for name, password in passwords.items():
            assert password not in text, f"the password of {name} is in the {where}"
