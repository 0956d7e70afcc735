"""`python -m qbo_emulator`: run the emulator and print the OAuth client a product needs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import uvicorn

from .app import create_app
from .config import EmulatorConfig, Limits
from .server import uvicorn_config


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m qbo_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--base-url", default="", help="public URL if not http://HOST:PORT")
    parser.add_argument("--state-file", help="SQLite file to keep state across restarts")
    parser.add_argument("--credentials-file", help="write client id/secret, verifier token and URLs here")
    parser.add_argument("--webhook-url", help="POST webhook notifications here")
    parser.add_argument("--webhook-format", choices=["cloudevents", "legacy"], default="cloudevents")
    parser.add_argument("--redirect-uri", help="the only allowed OAuth redirect URI (default: any localhost)")
    parser.add_argument("--no-limits", action="store_true", help="switch QBO's throttles off")
    parser.add_argument("--limit-scale", type=float, default=1.0, help="multiply QBO's throttles")
    parser.add_argument("--demo-company", action="store_true", help="create one seeded company at start")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limits = Limits().scaled(args.limit_scale)
    limits.enabled = not args.no_limits
    config = EmulatorConfig(host=args.host, port=args.port, base_url=args.base_url, state_file=args.state_file,
                            credentials_file=args.credentials_file, webhook_url=args.webhook_url,
                            webhook_format=args.webhook_format, redirect_uri=args.redirect_uri, limits=limits)
    app = create_app(config)
    emulator = app.state.emulator
    if args.demo_company and not emulator.store.companies:
        from .seed import create_company

        create_company(emulator, name="Demo Company")
        emulator.store.flush()
    creds = config.credentials()
    if args.credentials_file:
        Path(args.credentials_file).write_text(json.dumps(creds, indent=2) + "\n")
    print("QBO emulator", json.dumps(creds, indent=2), sep="\n", flush=True)
    print(f"Console: {config.public_base_url}/_emulator/console", flush=True)
    server = uvicorn.Server(uvicorn_config(app, args.host, args.port, log_level=args.log_level))
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
