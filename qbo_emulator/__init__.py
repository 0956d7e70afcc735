"""A local QuickBooks Online emulator: QBO's v3 JSON API and Intuit OAuth 2.0, in memory.

    from qbo_emulator.app import create_app            # in-process (httpx.ASGITransport)
    from qbo_emulator.testing import running_emulator  # on a real socket, in a thread

See README.md for what is covered and what is not.
"""

from .config import EmulatorConfig, Limits

__all__ = ["EmulatorConfig", "Limits"]
