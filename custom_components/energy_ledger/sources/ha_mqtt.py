"""MQTT smart meters through Home Assistant's own `mqtt` integration instead of our own link.

A user who already runs the `mqtt` integration has told Home Assistant where the broker is and
how to log in; a second connection with a copy of those settings would be one more thing to keep
in sync. This source borrows that client: it waits for it, subscribes to the entry's topic
filters, and hands every message, as raw bytes, to the same callbacks as `MqttSource`, so the
coordinator cannot tell the two apart. The broker link (down, back, resubscribing) is the `mqtt`
integration's job; this source only follows its connection-state signal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Final

from homeassistant.components import mqtt
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .mqtt import (
    CANNOT_CONNECT,
    ConnectionCallback,
    ErrorKey,
    MessageCallback,
    MqttNotConnectedError,
    MqttPublishError,
)

_LOGGER = logging.getLogger(__name__)

RETRY_SECONDS: Final = 60.0
"""Pause before asking again for an `mqtt` integration that is not set up (disabled, failed)."""
NOT_AVAILABLE: Final = "Home Assistant's MQTT integration is not available"


class HaMqttSource:
    """Follows Home Assistant's MQTT client until `run()` is cancelled; `MqttSource`'s interface.

    `on_message(topic, payload, retain)` runs in the event loop for every message on `topics`;
    `on_connection(connected)` when Home Assistant's client connects or loses the broker (the
    client restores subscriptions itself). `publish` goes out through that client.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        topics: Sequence[str],
        *,
        on_message: MessageCallback,
        on_connection: ConnectionCallback,
        subscribe_qos: int = 1,
    ) -> None:
        self.hass = hass
        self.topics: tuple[str, ...] = tuple(topics)
        self.subscribe_qos = subscribe_qos
        self.reconnects = 0
        self.last_error: str | None = None
        self.last_error_key: ErrorKey | None = None
        self.messages_received = 0
        self.handler_errors = 0
        self.refused_subscriptions: tuple[str, ...] = ()
        """Always empty: Home Assistant's client does not report refused subscriptions."""
        self._on_message = on_message
        self._on_connection = on_connection
        self._subscribed = False
        self._connected = False
        self._was_connected = False

    @property
    def connected(self) -> bool:
        """True while Home Assistant's client is connected and our subscriptions are made."""
        return self._connected

    def _set_connected(self, connected: bool) -> None:
        if connected == self._connected:
            return
        if connected and self._was_connected:
            self.reconnects += 1
        self._was_connected |= connected
        self._connected = connected
        self._on_connection(connected)

    async def run(self) -> None:
        """Wait for Home Assistant's MQTT client, subscribe, follow its state until cancelled."""
        unsubscribes: list[CALLBACK_TYPE] = []
        try:
            logged = False
            while not await mqtt.async_wait_for_mqtt_client(self.hass):
                self.last_error, self.last_error_key = NOT_AVAILABLE, CANNOT_CONNECT
                if not logged:
                    _LOGGER.warning("%s; retrying every %g s", NOT_AVAILABLE, RETRY_SECONDS)
                    logged = True
                await asyncio.sleep(RETRY_SECONDS)
            if logged:
                _LOGGER.info("Home Assistant's MQTT integration is available")
            unsubscribes.append(
                mqtt.async_subscribe_connection_status(self.hass, self._connection_changed)
            )
            for topic in self.topics:
                unsubscribes.append(
                    await mqtt.async_subscribe(
                        self.hass, topic, self._deliver, qos=self.subscribe_qos, encoding=None
                    )
                )
            self._subscribed = True
            self._connection_changed(mqtt.is_connected(self.hass))
            await asyncio.Event().wait()  # until cancelled with the entry
        finally:
            self._subscribed = False
            self._connected = False  # stopped by its owner: not a broker loss, not reported
            for unsubscribe in unsubscribes:
                unsubscribe()

    @callback
    def _connection_changed(self, connected: bool) -> None:
        if not connected:
            self.last_error, self.last_error_key = "connection lost", CANNOT_CONNECT
        self._set_connected(connected and self._subscribed)

    @callback
    def _deliver(self, message: mqtt.ReceiveMessage) -> None:
        """Hand one message over; a failing handler is counted, logged once, and survived."""
        self.messages_received += 1
        payload = message.payload
        if isinstance(payload, str):  # pragma: no cover - subscribed with encoding=None
            payload = payload.encode()
        try:
            self._on_message(message.topic, bytes(payload), message.retain)
        except Exception:
            self.handler_errors += 1
            if self.handler_errors == 1:
                _LOGGER.exception("MQTT message handler failed; further failures are only counted")

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish through Home Assistant's client, which waits for the broker's acknowledgement.

        Raises MqttNotConnectedError while disconnected, MqttPublishError when the client
        refuses or the broker does not acknowledge in time, like `MqttSource.publish`.
        """
        if not self._connected:
            raise MqttNotConnectedError
        try:
            await mqtt.async_publish(self.hass, topic, payload, qos=qos)
        except HomeAssistantError as err:
            raise MqttPublishError(f"publish failed: {type(err).__name__}") from err
