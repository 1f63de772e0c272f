"""MQTT smart meters over a direct broker connection with aiomqtt.

The source connects to the broker, subscribes to its topic filters and hands every message, as
raw bytes, to a callback; decoding payloads is the core's job, not the transport's. A broker that
goes away is reported once, retried with a capped backoff and reported once more when it is back,
with every subscription restored before the source calls itself connected again. It knows nothing
of Home Assistant: plain asyncio, with callbacks running in the event loop.

Secrets and personal data stay out of logs: credentials never appear, and neither does the
broker's host name (an address at home or a personal domain); error descriptions are built from
error codes and OS error texts, never from messages that may quote the host.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Final, Literal

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.reasoncodes import ReasonCode

_LOGGER = logging.getLogger(__name__)
_CLIENT_LOGGER = _LOGGER.getChild("client")
"""aiomqtt and paho-mqtt log here, under the integration's logger, instead of the generic `mqtt`."""

BACKOFF_START = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 30.0
"""A connection that lasted this long resets the backoff. One dropped sooner (a broker kicking
the client out, two clients sharing a client id) keeps doubling the delay instead of looping
reconnects every second."""
KEEPALIVE = 30
"""Seconds between pings when idle: a silently dead link is noticed within about 1.5 times this."""
OPERATION_TIMEOUT = 10.0
"""Seconds to wait for the broker's answer to CONNECT, SUBSCRIBE, a QoS 1 PUBLISH, DISCONNECT."""
TEST_TIMEOUT = 5.0
"""Seconds `test_connection` waits for the broker's CONNACK."""

type ErrorKey = Literal["cannot_connect", "invalid_auth", "tls_error", "timeout"]
"""Why a connection failed, as a key of the config flow's `error` translations."""

CANNOT_CONNECT: Final = "cannot_connect"
INVALID_AUTH: Final = "invalid_auth"
TLS_ERROR: Final = "tls_error"
TIMEOUT: Final = "timeout"

_AUTH_REASON_CODES = frozenset({0x86, 0x87, 0x8C})
"""MQTT 5 reason codes (paho maps 3.1.1 CONNACK codes onto them): bad user name or password,
not authorized, bad authentication method."""
_V3_AUTH_CODES = frozenset({4, 5})
"""MQTT 3.1.1 CONNACK return codes: bad user name or password, not authorised."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttSettings:
    """Where the broker is and how to log in; what a config entry stores.

    TLS is on when `tls` is true. The broker's certificate is then checked against `ca_file`
    when given, else against the system's trusted authorities. `tls_insecure` is the user's
    explicit choice to trust less: with a CA file, the certificate must still be signed by that
    CA but its host name is not checked (a broker reached by IP address, a certificate issued
    for a name); without one, any certificate is accepted (encryption without authentication).
    Host, user name and password are left out of `repr` so the settings can never leak into a
    log line or a traceback.
    """

    host: str = field(repr=False)
    port: int = 1883
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    tls_insecure: bool = False
    client_id: str | None = None

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("host is empty")
        if not 0 < self.port < 65536:
            raise ValueError("port is not between 1 and 65535")
        if not self.tls and (self.ca_file is not None or self.tls_insecure):
            raise ValueError("ca_file and tls_insecure need tls=True")


class MqttPublishError(Exception):
    """A message could not be handed to the broker (not connected, refused, no PUBACK in time)."""


class MqttNotConnectedError(MqttPublishError):
    """`publish` was called while the source has no broker connection."""

    def __init__(self) -> None:
        super().__init__("not connected to the MQTT broker")


class MqttTlsSetupError(Exception):
    """The TLS context could not be built (CA file missing or not a certificate)."""


def build_ssl_context(settings: MqttSettings) -> ssl.SSLContext:
    """The TLS context the settings describe. Blocking: reads the CA file or the system store.

    Call it in a worker thread (the source does, with `asyncio.to_thread`). A context that does
    not check host names must go with aiomqtt's `tls_insecure=True` (`_new_client` does that):
    paho-mqtt would otherwise check the host name itself, with a function Python 3.12 removed.
    """
    try:
        if settings.ca_file is not None:
            context = ssl.create_default_context(cafile=settings.ca_file)
        elif settings.tls_insecure:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context = ssl.create_default_context()
    except (OSError, ValueError) as err:
        raise MqttTlsSetupError(_describe(err)) from err
    if settings.tls_insecure:
        context.check_hostname = False
    return context


async def _resolve_ssl_context(
    settings: MqttSettings, given: ssl.SSLContext | None
) -> ssl.SSLContext | None:
    """The caller's context when it gave one, else one built from the settings off the loop."""
    if not settings.tls:
        return None
    if given is not None:
        return given
    return await asyncio.to_thread(build_ssl_context, settings)


def _check_given_context(settings: MqttSettings, context: ssl.SSLContext | None) -> None:
    """A caller's context is used unchanged, so it must fit the settings (see `MqttSource`)."""
    if context is None:
        return
    if not settings.tls:
        raise ValueError("an SSL context was given but tls is off")
    if settings.tls_insecure or settings.ca_file is not None:
        raise ValueError("ca_file and tls_insecure contexts are built by the source")
    if not context.check_hostname:
        raise ValueError("a given SSL context must check host names")


def _new_client(
    settings: MqttSettings, context: ssl.SSLContext | None, timeout: float
) -> aiomqtt.Client:
    return aiomqtt.Client(
        settings.host,
        settings.port,
        username=settings.username,
        password=settings.password,
        identifier=settings.client_id,
        logger=_CLIENT_LOGGER,
        timeout=timeout,
        keepalive=KEEPALIVE,
        tls_context=context,
        # Never False: aiomqtt would then switch host-name checks on in a caller's context.
        tls_insecure=True if context is not None and settings.tls_insecure else None,
    )


def _close_leftover_socket(client: aiomqtt.Client) -> None:
    """Close the socket a failed or abandoned connect left open.

    aiomqtt leaves it open, watched by the event loop with a housekeeping task, when the TCP
    connection succeeded but CONNECT did not (no CONNACK in time, or the caller gave up): paho
    would close it only after a keepalive period. paho's `disconnect` writes DISCONNECT and
    closes it at once. aiomqtt offers no public way to reach the paho client for this.
    """
    paho = client._client
    if paho.socket() is not None:
        paho.disconnect()


def _close_after_connect(client: aiomqtt.Client, task: asyncio.Task[aiomqtt.Client]) -> None:
    """Done callback of a connect its caller stopped waiting for: close whatever it opened."""
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not report it as never retrieved
    _close_leftover_socket(client)


@asynccontextmanager
async def _connected(client: aiomqtt.Client) -> AsyncIterator[aiomqtt.Client]:
    """`async with client`, made safe to cancel and to fail.

    aiomqtt connects in a worker thread, which cancellation cannot stop: a cancelled
    `async with client` lets the thread finish, and the socket it opens stays registered with
    the event loop, open, with a task of its own. Here the connect runs in its own task; when
    the caller is cancelled it returns at once and that task closes whatever the connect opens
    when it ends (bounded by the connect and CONNACK timeouts). A failed connect closes its
    socket too.
    """
    connecting = asyncio.ensure_future(client.__aenter__())
    try:
        await asyncio.shield(connecting)
    except asyncio.CancelledError:
        connecting.add_done_callback(partial(_close_after_connect, client))
        raise
    except BaseException:
        _close_leftover_socket(client)
        raise
    try:
        yield client
    finally:
        try:
            await client.__aexit__(None, None, None)
        except aiomqtt.MqttError:
            # The broker did not confirm DISCONNECT in time; stop waiting for it.
            _close_leftover_socket(client)


def _causes(err: BaseException) -> Iterator[BaseException]:
    """`err` and what it was raised from or during, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify(err: BaseException) -> ErrorKey:
    """The config flow's error key for a failed connection attempt."""
    for cause in _causes(err):
        if isinstance(cause, MqttConnectError):
            rc = cause.rc
            if isinstance(rc, ReasonCode):
                auth = rc.value in _AUTH_REASON_CODES
            else:
                auth = rc in _V3_AUTH_CODES
            return INVALID_AUTH if auth else CANNOT_CONNECT
        if isinstance(cause, (MqttTlsSetupError, ssl.SSLError, ssl.CertificateError)):
            return TLS_ERROR
        if isinstance(cause, TimeoutError):
            return TIMEOUT
    return CANNOT_CONNECT


def _describe(err: BaseException) -> str:
    """What went wrong, from the innermost cause, without host names or credentials.

    Only texts that cannot carry the host are used: MQTT reason codes, the reason of an SSL
    error (a certificate check's full message names the host), an OS error's `strerror`.
    """
    causes = list(_causes(err))
    for cause in causes:
        if isinstance(cause, MqttTlsSetupError):
            return f"TLS setup: {cause}"
    root = causes[-1]
    if isinstance(root, aiomqtt.MqttCodeError):
        if (
            not isinstance(root, MqttConnectError)
            and isinstance(root.rc, ReasonCode)
            and root.rc.value == 0x80
        ):
            return "connection lost"  # what paho reports, as "unspecified error", for a lost link
        return str(root)
    if isinstance(root, ssl.SSLError):
        # Never str(): a failed certificate check's message names the host it expected.
        return f"TLS: {root.reason or root.library or type(root).__name__}"
    if isinstance(root, ssl.CertificateError):
        return "TLS: certificate does not match the host"
    if isinstance(root, TimeoutError):
        return "timed out"
    if isinstance(root, OSError) and root.strerror:
        return root.strerror
    if isinstance(root, aiomqtt.MqttError):
        # aiomqtt's own texts ("Operation timed out", "Disconnected during message iteration").
        return str(root)
    return type(root).__name__


# Not a test: ruff's pytest rules go by the name.
async def test_connection(
    settings: MqttSettings,
    *,
    ssl_context: ssl.SSLContext | None = None,  # noqa: PT028
    answer_timeout: float = TEST_TIMEOUT,  # noqa: PT028
) -> ErrorKey | None:
    """Connect once and disconnect: None when the broker accepted, else why it failed.

    For a config flow. `answer_timeout` bounds the wait for the broker's CONNACK; opening the
    TCP connection has paho-mqtt's own 5 s limit, the TLS handshake the keepalive period. The
    attempt is never cut short by cancelling it, which would leave the connecting thread's
    socket behind (see `_connected`).
    """
    _check_given_context(settings, ssl_context)
    try:
        context = await _resolve_ssl_context(settings, ssl_context)
        async with _connected(_new_client(settings, context, answer_timeout)):
            return None
    except (aiomqtt.MqttError, MqttTlsSetupError) as err:
        key = classify(err)
        _LOGGER.debug("MQTT connection test failed: %s (%s)", key, _describe(err))
        return key


type MessageCallback = Callable[[str, bytes, bool], None]
type ConnectionCallback = Callable[[bool], None]


class MqttSource:
    """Keeps one broker connection with its subscriptions until `run()` is cancelled.

    Callbacks run in the event loop: `on_message(topic, payload, retain)` for every message on
    the subscribed `topics` (MQTT filters, `+` and `#` allowed), `on_connection(connected)` when
    the source is connected and subscribed, or lost the broker. `publish` sends while connected.
    `on_login_refused()`, when given, after every attempt the broker refused for the login (the
    source keeps retrying: the login may be fixed on the broker's side).

    TLS: a context loaded from a CA file or the system store reads files, which must not happen
    in the event loop, so the source builds it with `asyncio.to_thread` when it first connects
    (and again after a failure, so a CA file put back is picked up). A caller that already holds
    a suitable context may pass it as `ssl_context` instead, typically Home Assistant's cached
    `homeassistant.util.ssl.client_context()` for the system store, saving the thread and the
    memory of a second copy of the store. It is used unchanged, so it is accepted only for the
    system-store case (no `ca_file`, no `tls_insecure`) and must check host names; the
    contexts the settings call for otherwise are the source's own.
    """

    def __init__(
        self,
        settings: MqttSettings,
        topics: Sequence[str],
        *,
        on_message: MessageCallback,
        on_connection: ConnectionCallback,
        ssl_context: ssl.SSLContext | None = None,
        subscribe_qos: int = 1,
        on_login_refused: Callable[[], None] | None = None,
    ) -> None:
        _check_given_context(settings, ssl_context)
        self.settings = settings
        self.topics: tuple[str, ...] = tuple(topics)
        self.subscribe_qos = subscribe_qos
        self.reconnects = 0
        self.last_error: str | None = None
        self.last_error_key: ErrorKey | None = None
        self.messages_received = 0
        self.handler_errors = 0
        self.refused_subscriptions: tuple[str, ...] = ()
        self._on_message = on_message
        self._on_connection = on_connection
        self._on_login_refused = on_login_refused
        self._given_context = ssl_context
        self._context: ssl.SSLContext | None = None
        self._client: aiomqtt.Client | None = None
        self._connected = False

    @property
    def connected(self) -> bool:
        """True while connected to the broker with every subscription requested."""
        return self._connected

    def _set_connected(self, connected: bool) -> None:
        if connected == self._connected:
            return
        self._connected = connected
        self._on_connection(connected)

    async def run(self) -> None:
        """Stay connected until cancelled: connect, subscribe, deliver; on loss, back off."""
        loop = asyncio.get_running_loop()
        backoff = BACKOFF_START
        down_logged = False
        while True:
            connected_at: float | None = None
            try:
                if self.settings.tls and self._context is None:
                    self._context = await _resolve_ssl_context(self.settings, self._given_context)
                client = _new_client(self.settings, self._context, OPERATION_TIMEOUT)
                async with _connected(client):
                    await self._subscribe(client)
                    connected_at = loop.time()
                    self._client = client
                    if down_logged:
                        _LOGGER.info("MQTT broker connection is back")
                        down_logged = False
                    self._set_connected(True)
                    async for message in client.messages:
                        self._deliver(message)
                self.last_error, self.last_error_key = "connection closed", CANNOT_CONNECT
            except (aiomqtt.MqttError, MqttTlsSetupError) as err:
                self.last_error, self.last_error_key = _describe(err), classify(err)
                if self.last_error_key == INVALID_AUTH and self._on_login_refused is not None:
                    self._on_login_refused()
            except asyncio.CancelledError:
                self._connected = False  # stopped by its owner: not a broker loss, not reported
                raise
            finally:
                self._client = None
            self._set_connected(False)
            if connected_at is not None and loop.time() - connected_at >= STABLE_AFTER:
                backoff = BACKOFF_START
            if not down_logged:
                _LOGGER.warning(
                    "MQTT broker unavailable (%s); retrying every %g s at most",
                    self.last_error,
                    BACKOFF_MAX,
                )
                down_logged = True
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        """Subscribe to every filter in one request; warn when the refused ones change."""
        if not self.topics:
            return
        granted: Sequence[int | ReasonCode] = await client.subscribe(
            [(topic, self.subscribe_qos) for topic in self.topics]
        )
        refused = tuple(
            topic
            for topic, code in zip(self.topics, granted, strict=False)
            if (code.value if isinstance(code, ReasonCode) else code) >= 0x80
        )
        if refused and refused != self.refused_subscriptions:
            _LOGGER.warning(
                "The MQTT broker refused %d of %d subscriptions (check its ACL)",
                len(refused),
                len(self.topics),
            )
        self.refused_subscriptions = refused

    def _deliver(self, message: aiomqtt.Message) -> None:
        """Hand one message over; a failing handler is counted, logged once, and survived."""
        self.messages_received += 1
        try:
            self._on_message(message.topic.value, message.payload, message.retain)
        except Exception:
            self.handler_errors += 1
            if self.handler_errors == 1:
                _LOGGER.exception("MQTT message handler failed; further failures are only counted")

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish and, for QoS 1 and 2, wait until the broker has acknowledged.

        Raises MqttNotConnectedError while disconnected, MqttPublishError when the broker
        refuses or does not acknowledge in time.
        """
        client = self._client
        if client is None:
            raise MqttNotConnectedError
        try:
            await client.publish(topic, payload, qos=qos)
        except aiomqtt.MqttError as err:
            raise MqttPublishError(f"publish failed: {_describe(err)}") from err
