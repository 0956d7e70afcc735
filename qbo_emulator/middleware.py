"""The ASGI layer in front of the real API: request log, fault injection, throttling.

Pure ASGI (not BaseHTTPMiddleware) so it can hold a response back, drop a connection after
the request was applied, and stay cheap enough for 1,000+ requests a second.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import faults
from .chaos import Injection
from .responses import dumps, fault_body
from .runtime import Emulator

TRANSPORT_KEY = "qbo_emulator.transport"  # set by server.DroppableH11Protocol over a real socket


def classify(path: str) -> str:
    if path.startswith("/v3/company/"):
        return "api"
    if path.startswith(("/oauth2/", "/v2/oauth2/")):
        return "oauth"
    return ""


async def _send_body(send: Send, status: int, body: str, content_type: str = "application/json") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode())]})
    await send({"type": "http.response.body", "body": body.encode()})


class QBOMiddleware:
    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = classify(scope["path"]) if scope["type"] == "http" else ""
        if not kind:
            await self.app(scope, receive, send)
            return
        emulator = self.emulator
        path: str = scope["path"]
        realm = path.split("/", 4)[3] if kind == "api" else ""
        started = time.perf_counter()
        entry: dict[str, Any] = {"method": scope["method"], "path": path,
                                 "query": scope.get("query_string", b"").decode(), "realm": realm, "kind": kind,
                                 "status": 0}

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        try:
            chaos = emulator.chaos
            injection = chaos.take(path) if chaos.pending else None
            if injection is not None:
                entry["injected"] = injection.kind
                if chaos.latency_ms:
                    await asyncio.sleep(chaos.latency_ms / 1000)
                await self._inject(injection, scope, receive, logged_send, entry)
                return
            if kind == "api":
                if not emulator.limiter.acquire(realm, batch=path.endswith("/batch")):
                    await self._throttle(logged_send, xml=emulator.limiter.limits.throttle_xml)
                    return
                try:
                    # Latency stands for QBO's processing time, so it holds a concurrency slot.
                    if chaos.latency_ms:
                        await asyncio.sleep(chaos.latency_ms / 1000)
                    await self.app(scope, receive, logged_send)
                finally:
                    emulator.limiter.release(realm)
            else:
                if chaos.latency_ms:
                    await asyncio.sleep(chaos.latency_ms / 1000)
                await self.app(scope, receive, logged_send)
        finally:
            entry["ms"] = round((time.perf_counter() - started) * 1000, 3)
            entry["at"] = time.time()
            emulator.log.record(entry)

    async def _throttle(self, send: Send, *, xml: bool) -> None:
        if xml:
            await _send_body(send, 429, faults.throttled_xml(), "application/xml")
        else:
            emulator = self.emulator
            await _send_body(send, 429, dumps(fault_body(faults.throttled(), emulator.now(), emulator.config.tz)))

    async def _inject(self, injection: Injection, scope: Scope, receive: Receive, send: Send,
                      entry: dict[str, Any]) -> None:
        emulator = self.emulator
        seconds = injection.seconds if injection.seconds is not None else emulator.config.injected_timeout_s
        if injection.kind == "status":
            body = dumps(fault_body(faults.system_failure(injection.status), emulator.now(), emulator.config.tz))
            await _send_body(send, injection.status, body)
            return
        if injection.kind == "throttle":
            await self._throttle(send, xml=injection.xml)
            return
        if injection.kind == "timeout" and not injection.after_commit:
            await asyncio.sleep(seconds)  # the client gives up first; nothing was applied
            await _send_body(send, 504, dumps(fault_body(faults.system_failure(504), emulator.now(),
                                                         emulator.config.tz)))
            return
        # "drop" and "timeout after commit": apply the request fully (its requestid answer is
        # remembered), hold the response back...
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        if held and held[0]["type"] == "http.response.start":
            entry["status"] = held[0]["status"]
        if injection.kind == "timeout":
            await asyncio.sleep(seconds)
            for message in held:
                await send(message)
            return
        # ...then drop the connection without answering.
        entry["status"] = 0
        transport = scope.get(TRANSPORT_KEY)
        if transport is not None:
            transport.abort()
            await asyncio.sleep(0)  # let the server notice the disconnect before we return
            return
        # In-process (httpx.ASGITransport): an exception httpx clients see as a transport error.
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
