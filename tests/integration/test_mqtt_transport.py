"""The MQTT transport alone against a real mosquitto broker on a loopback port.

Each test starts its own broker (Debian's mosquitto; scripts/setup installs it) from a temporary
configuration that listens on 127.0.0.1 only, and kills it at teardown. Sockets: the Home
Assistant test plugin blocks socket creation and allows connections to 127.0.0.1 only; the
`socket_enabled` fixture of pytest-socket lifts the first and keeps the second, so these tests
reach the local broker and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from collections.abc import Callable

import aiomqtt
import pytest
import pytest_socket

from custom_components.energy_ledger.sources import mqtt as mqtt_source
from custom_components.energy_ledger.sources.mqtt import (
    MqttNotConnectedError,
    MqttSettings,
    MqttSource,
)

from .mqtt_broker import LOOPBACK, PASSWORD, USER, Broker, Certificates, free_port
from .test_tic_end_to_end import wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")


class Recorder:
    """The source's callbacks, kept for assertions."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.links: list[bool] = []

    def on_message(self, topic: str, payload: bytes, retain: bool) -> None:
        self.messages.append((topic, payload, retain))

    def payloads(self) -> list[bytes]:
        return [payload for _topic, payload, _retain in self.messages]


class RunningSource:
    """An MqttSource whose `run()` is a task, cancelled (and checked) by `stop`."""

    def __init__(self, settings: MqttSettings, topics: list[str]) -> None:
        self.seen = Recorder()
        self.source = MqttSource(
            settings,
            topics,
            on_message=self.seen.on_message,
            on_connection=self.seen.links.append,
        )
        self.task = asyncio.get_running_loop().create_task(self.source.run())

    async def stop(self) -> None:
        """Cancel `run()`; it must end by re-raising the cancellation, nothing else."""
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


def anonymous(broker: Broker) -> MqttSettings:
    return MqttSettings(host=LOOPBACK, port=broker.port)


async def publish(broker: Broker, topic: str, payload: bytes, *, retain: bool = False) -> None:
    """Publish from a client of its own, like a meter would."""
    async with aiomqtt.Client(LOOPBACK, broker.port, identifier="simulated-meter") as meter:
        await meter.publish(topic, payload, qos=1, retain=retain)


def source_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the transport logged, including what aiomqtt and paho logged through it."""
    return [r for r in caplog.records if r.name.startswith(mqtt_source.__name__)]


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry after 0.05 s, doubling up to 0.4 s, so a restart is noticed quickly."""
    monkeypatch.setattr(mqtt_source, "BACKOFF_START", 0.05)
    monkeypatch.setattr(mqtt_source, "BACKOFF_MAX", 0.4)


async def test_messages_reach_on_message_with_topic_payload_and_retain(broker: Broker) -> None:
    """A retained message arrives on subscribing, live ones after; bytes pass through as is."""
    await publish(broker, "meters/m1/status", b'{"online": true}', retain=True)
    running = RunningSource(anonymous(broker), ["meters/+/data", "meters/+/status"])
    try:
        await wait_for(lambda: running.seen.links == [True])
        await publish(broker, "meters/m1/data", b"\x00\xff not even UTF-8")
        await publish(broker, "elsewhere/m1/data", b"not subscribed")
        await publish(broker, "meters/m2/data", b"last")
        await wait_for(lambda: len(running.seen.messages) >= 3)
    finally:
        await running.stop()
    assert running.seen.messages == [
        ("meters/m1/status", b'{"online": true}', True),
        ("meters/m1/data", b"\x00\xff not even UTF-8", False),
        ("meters/m2/data", b"last", False),
    ]
    assert running.source.messages_received == 3
    assert running.seen.links == [True]  # cancelling is not a broker loss


async def test_a_failing_handler_is_counted_not_fatal(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that raises does not stop delivery; the first failure is logged, not the rest."""
    delivered: list[bytes] = []

    def handler(_topic: str, payload: bytes, _retain: bool) -> None:
        delivered.append(payload)
        if payload.startswith(b"bad"):
            raise ValueError("decoder bug")

    source = MqttSource(
        anonymous(broker), ["meters/#"], on_message=handler, on_connection=lambda _c: None
    )
    task = asyncio.get_running_loop().create_task(source.run())
    try:
        with caplog.at_level(logging.INFO, logger=mqtt_source.__name__):
            await wait_for(lambda: source.connected)
            for payload in (b"bad 1", b"bad 2", b"good"):
                await publish(broker, "meters/m1/data", payload)
            await wait_for(lambda: delivered == [b"bad 1", b"bad 2", b"good"])
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert source.handler_errors == 2
    assert [r.levelno for r in source_records(caplog) if r.levelno >= logging.INFO] == [
        logging.ERROR
    ]


async def test_publish_qos1_reaches_a_subscriber(broker: Broker) -> None:
    """`publish` returns once the broker acknowledged; the device's subscription gets it."""
    running = RunningSource(anonymous(broker), ["meters/+/data"])
    try:
        with pytest.raises(MqttNotConnectedError):
            await running.source.publish("meters/m1/command", b"{}")
        async with aiomqtt.Client(LOOPBACK, broker.port, identifier="device") as device:
            await device.subscribe("meters/m1/command", qos=1)
            await wait_for(lambda: running.source.connected)
            await running.source.publish("meters/m1/command", b'{"correlation_id": "c1"}')
            async with asyncio.timeout(5):
                message = await anext(aiter(device.messages))
    finally:
        await running.stop()
    assert message.topic.value == "meters/m1/command"
    assert message.payload == b'{"correlation_id": "c1"}'
    assert message.qos == 1
    with pytest.raises(MqttNotConnectedError):
        await running.source.publish("meters/m1/command", b"{}")


@pytest.mark.usefixtures("fast_backoff")
async def test_broker_killed_and_restarted(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """Down: reported once, one warning. Back on the same port: one info, subscriptions again."""
    running = RunningSource(anonymous(broker), ["meters/#"])
    try:
        with caplog.at_level(logging.DEBUG, logger=mqtt_source.__name__):
            await wait_for(lambda: running.seen.links == [True])
            await publish(broker, "meters/m1/data", b"before")
            await wait_for(lambda: running.seen.payloads() == [b"before"])
            await asyncio.to_thread(broker.kill)
            await wait_for(lambda: running.seen.links == [True, False])
            # Several failed attempts while the broker is away: still one warning.
            await wait_for(lambda: running.source.reconnects >= 4)
            assert not running.source.connected
            await asyncio.to_thread(broker.start)
            await wait_for(lambda: running.seen.links == [True, False, True])
            # The broker came back empty (no persistence): this arrives only if the source
            # subscribed again.
            await publish(broker, "meters/m1/data", b"after")
            await wait_for(lambda: running.seen.payloads() == [b"before", b"after"])
    finally:
        await running.stop()
    records = [r for r in source_records(caplog) if r.levelno >= logging.INFO]
    assert [r.levelno for r in records] == [logging.WARNING, logging.INFO]
    assert "unavailable (connection lost)" in records[0].getMessage()
    for record in source_records(caplog):
        assert LOOPBACK not in record.getMessage()
        assert "localhost" not in record.getMessage()
    assert running.source.last_error_key == "cannot_connect"


async def test_test_connection_credentials(
    auth_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """Right password: None. Wrong or no password: invalid_auth. Credentials never logged."""
    good = MqttSettings(host=LOOPBACK, port=auth_broker.port, username=USER, password=PASSWORD)
    wrong = MqttSettings(host=LOOPBACK, port=auth_broker.port, username=USER, password="nope")
    with caplog.at_level(logging.DEBUG):
        assert await mqtt_source.test_connection(good) is None
        assert await mqtt_source.test_connection(wrong) == "invalid_auth"
        assert await mqtt_source.test_connection(anonymous(auth_broker)) == "invalid_auth"
    assert PASSWORD not in caplog.text
    assert "nope" not in caplog.text
    assert PASSWORD not in repr(good)
    assert LOOPBACK not in repr(good)


@pytest.mark.usefixtures("fast_backoff")
async def test_source_with_wrong_password_stays_down(
    auth_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused login is retried like a lost broker, logged once, and named in last_error."""
    settings = MqttSettings(host=LOOPBACK, port=auth_broker.port, username=USER, password="x")
    with caplog.at_level(logging.INFO, logger=mqtt_source.__name__):
        running = RunningSource(settings, ["meters/#"])
        try:
            await wait_for(lambda: running.source.reconnects >= 3)
        finally:
            await running.stop()
    assert running.seen.links == []
    assert running.source.last_error_key == "invalid_auth"
    assert [r.levelno for r in source_records(caplog)] == [logging.WARNING]
    assert "Not authorized" in source_records(caplog)[0].getMessage()  # mosquitto's choice


async def test_test_connection_nothing_listening() -> None:
    """A port with no broker: cannot_connect, at once."""
    settings = MqttSettings(host=LOOPBACK, port=free_port())
    assert await mqtt_source.test_connection(settings) == "cannot_connect"


class SilentServer:
    """Accepts TCP connections and never answers, like a firewall or a wrong service would."""

    def __init__(self) -> None:
        self.closed_by_client = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> SilentServer:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1024):
            pass
        self.closed_by_client.set()
        writer.close()


async def test_test_connection_timeout_closes_its_socket() -> None:
    """No CONNACK within the timeout: `timeout`, and the half-open connection is closed."""
    async with SilentServer() as server:
        settings = MqttSettings(host=LOOPBACK, port=server.port)
        assert await mqtt_source.test_connection(settings, answer_timeout=0.3) == "timeout"
        async with asyncio.timeout(5):
            await server.closed_by_client.wait()


async def test_cancel_while_connecting_returns_at_once_and_cleans_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancelled while waiting for a CONNACK, `run()` ends at once; the socket closes after."""
    monkeypatch.setattr(mqtt_source, "OPERATION_TIMEOUT", 0.5)
    async with SilentServer() as server:
        running = RunningSource(MqttSettings(host=LOOPBACK, port=server.port), ["meters/#"])
        await asyncio.sleep(0.2)  # TCP connected, CONNECT sent, no answer
        started = asyncio.get_running_loop().time()
        await running.stop()
        assert asyncio.get_running_loop().time() - started < 0.2
        async with asyncio.timeout(5):
            await server.closed_by_client.wait()
        await asyncio.sleep(0.1)  # the connect's own task ends with its timeout
    assert running.seen.links == []


async def test_cancel_while_connected_says_goodbye(broker: Broker) -> None:
    """Cancelling a connected source sends DISCONNECT instead of dropping the socket."""
    settings = MqttSettings(host=LOOPBACK, port=broker.port, client_id="energy-ledger-test")
    running = RunningSource(settings, ["meters/#"])
    await wait_for(lambda: running.source.connected)
    await running.stop()
    assert not running.source.connected
    await wait_for(lambda: "Client energy-ledger-test disconnected." in broker.log.read_text())


class ThreadsOfCalls:
    """Records in which thread the CA-loading calls of SSLContext ran."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.threads: list[int] = []
        for name in ("load_verify_locations", "load_default_certs", "set_default_verify_paths"):
            monkeypatch.setattr(ssl.SSLContext, name, self._wrap(getattr(ssl.SSLContext, name)))

    def _wrap(self, original: Callable[..., object]) -> Callable[..., object]:
        def recorded(context: ssl.SSLContext, *args: object, **kwargs: object) -> object:
            self.threads.append(threading.get_ident())
            return original(context, *args, **kwargs)

        return recorded


async def test_tls_verifies_the_broker_off_the_event_loop(
    tls_broker: tuple[Broker, Certificates], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CA file: connects. System store: tls_error. Insecure: connects. CA loading off the loop.

    Home Assistant's blocking-call detector skips SSL loading in tests, so the test records
    the thread of every CA-loading call itself.
    """
    broker, certificates = tls_broker
    calls = ThreadsOfCalls(monkeypatch)

    def settings(**tls: object) -> MqttSettings:
        return MqttSettings(host=LOOPBACK, port=broker.port, tls=True, **tls)  # type: ignore[arg-type]

    assert await mqtt_source.test_connection(settings(ca_file=str(certificates.ca_file))) is None
    assert await mqtt_source.test_connection(settings()) == "tls_error"
    assert await mqtt_source.test_connection(settings(tls_insecure=True)) is None
    assert (
        await mqtt_source.test_connection(settings(ca_file=str(certificates.ca_file) + ".gone"))
        == "tls_error"
    )
    assert calls.threads, "no CA was loaded: the check above proves nothing"
    assert threading.get_ident() not in calls.threads

    running = RunningSource(settings(ca_file=str(certificates.ca_file)), ["meters/#"])
    try:
        await wait_for(lambda: running.source.connected)
        tls_context = await asyncio.to_thread(
            ssl.create_default_context, cafile=str(certificates.ca_file)
        )
        async with aiomqtt.Client(LOOPBACK, broker.port, tls_context=tls_context) as meter:
            await meter.publish("meters/m1/data", b"over TLS", qos=1)
        await wait_for(lambda: running.seen.payloads() == [b"over TLS"])
    finally:
        await running.stop()


def test_settings_refuse_tls_options_without_tls() -> None:
    """A CA file or the insecure toggle without TLS would silently send in clear text."""
    with pytest.raises(ValueError, match="tls=True"):
        MqttSettings(host="broker.home", ca_file="/ca.pem")
    with pytest.raises(ValueError, match="tls=True"):
        MqttSettings(host="broker.home", tls_insecure=True)


def test_sockets_reach_loopback_only() -> None:
    """`socket_enabled` allows sockets; Home Assistant's plugin still limits them to 127.0.0.1."""
    with pytest.raises(pytest_socket.SocketConnectBlockedError):
        socket.create_connection(("192.0.2.1", 1883), timeout=0.1)  # TEST-NET-1, never routed
