"""Serving the app with uvicorn, in this process's main thread or in a background thread."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .middleware import TRANSPORT_KEY


class DroppableH11Protocol(H11Protocol):
    """h11 protocol that hands the socket transport to the app, so fault injection can close a
    connection without any response ("commit then drop"), which plain ASGI cannot express."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope[TRANSPORT_KEY] = transport
            await inner(scope, receive, send)

        self.app = app


def uvicorn_config(app: Any, host: str, port: int, *, log_level: str = "warning") -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, http=DroppableH11Protocol, log_level=log_level,
                          lifespan="on", access_log=False, timeout_graceful_shutdown=1)
