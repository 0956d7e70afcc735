"""Response envelopes as QBO shapes them: every body carries a `time` in company time."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from starlette.responses import Response

from .faults import QBOFault
from .models import fmt_time


def dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content.encode() if isinstance(content, str) else dumps(content).encode()


def stamp(now: datetime, tz: timezone) -> str:
    return fmt_time(now, tz, millis=True)


def fault_body(fault: QBOFault, now: datetime, tz: timezone) -> dict[str, Any]:
    return {"Fault": fault.fault(), "time": stamp(now, tz)}
