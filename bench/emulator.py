"""Benchmark: how many simple requests a second the QBO emulator answers on one core.

Starts `python -m qbo_emulator` (uvicorn, one worker, limits and latency injection off) in a
subprocess pinned to one CPU, creates a seeded company, warms up, then has a few concurrent
httpx clients read a Vendor with a valid bearer for a bounded number of requests or seconds.
Prints JSON: {"requests", "seconds", "rps", "p50_ms", "p99_ms", ...}. Only 127.0.0.1 is used.

    .venv/bin/python bench/emulator.py [--requests 20000] [--seconds 20] [--clients 3] [--concurrency 8]

httpx in one process tops out below the server, so several client processes share the load;
`server_cpu_percent` shows how much of its one core the server used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin(pid: int, cpu: int) -> bool:
    try:
        os.sched_setaffinity(pid, {cpu})
        return True
    except (AttributeError, OSError):
        return False


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process, from /proc (Linux); 0.0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


async def worker(client: httpx.AsyncClient, url: str, headers: dict[str, str], deadline: float,
                 budget: list[int], latencies: list[float], errors: list[int]) -> None:
    while budget[0] > 0 and time.perf_counter() < deadline:
        budget[0] -= 1
        started = time.perf_counter()
        response = await client.get(url, headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            errors[0] += 1


async def client_run(base: str, url: str, headers: dict[str, str], requests: int, seconds: float,
                     concurrency: int) -> tuple[list[float], int, float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        warm: list[float] = []
        await asyncio.gather(*(worker(client, url, headers, time.perf_counter() + 5, [50], warm, [0])
                               for _ in range(concurrency)))
        latencies: list[float] = []
        errors = [0]
        budget = [requests]
        started = time.perf_counter()
        await asyncio.gather(*(worker(client, url, headers, started + seconds, budget, latencies, errors)
                               for _ in range(concurrency)))
        return latencies, errors[0], time.perf_counter() - started


def client_process(args: tuple[str, str, dict[str, str], int, float, int]) -> tuple[list[float], int, float]:
    """One client process (httpx in one process tops out below the server's rate)."""
    return asyncio.run(client_run(*args))


def setup(base: str) -> tuple[str, dict[str, str]]:
    company = httpx.post(base + "/_emulator/companies", json={"name": "Bench", "tokens": True}).json()
    realm, token = company["realmId"], company["tokens"]["access_token"]
    vendor = next(iter(company["ids"]["Vendor"].values()))
    return (f"/v3/company/{realm}/vendor/{vendor}?minorversion=75",
            {"Authorization": f"Bearer {token}", "Accept": "application/json"})


def run(base: str, args: argparse.Namespace) -> dict[str, object]:
    url, headers = setup(base)
    per_client = args.requests // args.clients
    job = (base, url, headers, per_client, args.seconds, args.concurrency)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.clients) as pool:
        results = list(pool.map(client_process, [job] * args.clients))
    wall = time.perf_counter() - started
    latencies = sorted(lat for lats, _, _ in results for lat in lats)
    elapsed = max(seconds for _, _, seconds in results)
    n = len(latencies)
    return {"requests": n, "seconds": round(elapsed, 3), "rps": round(n / elapsed, 1),
            "p50_ms": round(latencies[n // 2] * 1000, 2), "p99_ms": round(latencies[int(n * 0.99) - 1] * 1000, 2),
            "errors": sum(e for _, e, _ in results), "clients": args.clients,
            "concurrency_per_client": args.concurrency,
            "wall_seconds": round(wall, 3), "endpoint": "GET /v3/company/{realm}/vendor/{id}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=3, help="client processes")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent requests per client")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "qbo_emulator", "--port", str(port), "--no-limits",
                                 "--credentials-file", f"{tmp}/creds.json"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            server_pinned = pin(proc.pid, 0)
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):  # bounded wait for start-up
                try:
                    if httpx.get(base + "/_emulator/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            cpu_before = cpu_seconds(proc.pid)
            result = run(base, args)
            used = cpu_seconds(proc.pid) - cpu_before
            # Share of one core the server used while measured (warm-up included; ~100 = CPU-bound).
            result["server_cpu_percent"] = round(100 * used / max(float(str(result["wall_seconds"])), 1e-9), 1)
            result["server_pinned_to_one_cpu"] = server_pinned
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
