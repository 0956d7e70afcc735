"""The API contract, longer: schemathesis with every check and phase against a live procuresync.

The same run as tests/api/test_api_contract.py (tests/api/contract.py), with more examples per
operation, and optionally a time budget that fuzzing and stateful testing repeat until spent.

    .venv/bin/python bench/fuzz.py --examples 30 --seed 1

Prints JSON: cases generated, failures by kind, operations and OpenAPI links covered, seconds.
Exits 1 when schemathesis found a failure (its report, with a ``curl`` per failure, goes to
stderr). Uses a fresh SQLite file, or a fresh database on the PostgreSQL of DATABASE_URL.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api.contract import LiveProduct, run_schemathesis


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=30, help="test cases per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-time", type=int, default=0, help="seconds; 0: until the examples are done")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    product = LiveProduct().start()
    try:
        run = run_schemathesis(
            product, max_examples=args.examples, seed=args.seed, max_time=args.max_time or None, workers=args.workers
        )
    finally:
        product.stop()
    print(json.dumps({"examples_per_operation": args.examples, "seed": args.seed, **run.summary()}, indent=2))
    if run.exit_code != 0:
        print(run.output, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
