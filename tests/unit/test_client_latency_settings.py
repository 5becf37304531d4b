"""What the shipped clients must not add to a round trip (measured in ``make bench``'s round
trips: each lingering producer held every request or answer for its whole linger)."""

from __future__ import annotations

import sys

import pytest

from ndxp.cli import simulate
from ndxp.paths import REPO
from ndxp.settings import RouterSettings

sys.path.insert(0, str(REPO / "loadtest"))

from kafka_client import consumer_config, producer_config


def test_the_locust_users_requests_are_sent_at_once_keyed_for_the_inline_stage() -> None:
    config = producer_config("127.0.0.1:1")
    assert config["linger.ms"] == 0
    assert config["acks"] == "all" and config["enable.idempotence"] is True
    assert config["partitioner"] == "murmur2_random"  # a client's requests on its partition


def test_the_locust_users_consumer_keeps_librdkafkas_fetch_wait() -> None:
    # one fetch of every egress partition in flight, answered when any has a record: a short
    # wait only made the broker answer ~300 empty partitions a hundred times a second
    config = consumer_config("127.0.0.1:1")
    assert "fetch.wait.max.ms" not in config
    assert config["enable.auto.commit"] is False


def test_the_simulator_answers_at_once() -> None:
    assert simulate.LINGER_MS == 0


def test_the_router_routes_at_once_by_default() -> None:
    # a routed request, or an answer on its way back, waits for no batch to fill
    assert RouterSettings().producer_linger_s == 0
    assert RouterSettings.from_env({}).producer_linger_s == 0


def test_the_routers_agents_wait_little_for_the_consumer_thread() -> None:
    # Faust's consumer thread hands each fetch to the agents' thread, which then waited for
    # the interpreter while the consumer planned its next fetch (Python switches every 5 ms)
    assert RouterSettings().switch_interval_ms == 0.2
    assert RouterSettings.from_env({"NDXP_ROUTER_SWITCH_INTERVAL_MS": "5"}).switch_interval_ms == 5
    with pytest.raises(ValueError, match="switch interval"):
        RouterSettings.from_env({"NDXP_ROUTER_SWITCH_INTERVAL_MS": "0"})


def test_behind_a_backlog_the_router_switches_threads_at_pythons_interval() -> None:
    # the 0.2 ms interval had the two threads trade the interpreter behind a backlog: one
    # client's drain ran 6-20 % slower than at Python's 5 ms (2026-12-04)
    settings = RouterSettings()
    assert settings.busy_switch_interval_ms == 5.0
    env = {"NDXP_ROUTER_BUSY_SWITCH_INTERVAL_MS": "0.2"}
    assert RouterSettings.from_env(env).busy_switch_interval_ms == 0.2
    for bad in ("-1", "0", "nan", "inf", "1001"):  # set while routing: refused at start
        with pytest.raises(ValueError, match="switch interval"):
            RouterSettings.from_env({"NDXP_ROUTER_BUSY_SWITCH_INTERVAL_MS": bad})
