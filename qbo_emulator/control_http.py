"""What every control API endpoint shares: the emulator and company of a request, a JSON body,
and one wrapper that turns refusals into answers (ours as {"error"}, QBO's as {"Fault"})."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .faults import QBOFault
from .models import Company
from .runtime import Emulator


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _emu(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = await request.json()
    except ValueError as exc:
        raise ControlError("body must be JSON") from exc
    if not isinstance(data, dict):
        raise ControlError("body must be a JSON object")
    return data


def _company(request: Request) -> Company:
    company = _emu(request).store.get(request.path_params["realm"])
    if company is None:
        raise ControlError("company not found", 404)
    return company


Handler = Callable[[Request], Awaitable[Any]]


def control(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except ControlError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except QBOFault as fault:  # a QBO user would see the same refusal in the UI
            return JSONResponse({"Fault": fault.fault()}, status_code=fault.status)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    return endpoint
