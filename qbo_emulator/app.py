"""`create_app(config)`: the whole emulator as one Starlette app.

Routes: Intuit OAuth (oauth.py), the v3 Accounting API (api.py), the control API (control.py)
and the console page (console.py). QBOMiddleware sits in front for throttling, fault injection
and the request log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from . import api, console, control, oauth
from .config import EmulatorConfig
from .middleware import QBOMiddleware
from .runtime import Emulator

FLUSH_EVERY_S = 1.0


async def home(request: Request) -> Response:
    return RedirectResponse("/_emulator/console", status_code=302)


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    emulator = Emulator(config or EmulatorConfig())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # With a state file, flush changes periodically and once more at shutdown.
        async def flusher() -> None:
            while True:
                await asyncio.sleep(FLUSH_EVERY_S)
                emulator.store.flush()

        task = asyncio.create_task(flusher()) if emulator.store.state_file else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            emulator.store.flush()

    app = Starlette(
        routes=[Route("/", home), *oauth.routes, *api.routes, *control.routes, *console.routes],
        middleware=[Middleware(QBOMiddleware, emulator=emulator)],
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    emulator.store.flush()
    return app
