"""The API keeps its word (issue 10): schemathesis, from the published schema, finds 0 failures.

Every check (server errors, status codes, content types, response schemas, negative data refused,
positive data accepted, auth ignored, use after free, ...) and every phase (examples, coverage,
fuzzing, stateful with the schema's links) against a live procuresync started for the test, with
a fixed seed and a bounded number of examples so that it fits in CI. A failure prints the
schemathesis report, where each failure comes with the ``curl`` that reproduces it. The longer
run is ``bench/fuzz.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.api.contract import LiveProduct, run_schemathesis

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "8"))
SEED = int(os.environ.get("CONTRACT_SEED", "1"))


@pytest.fixture(scope="module")
def product() -> Iterator[LiveProduct]:
    live = LiveProduct().start()
    yield live
    live.stop()


@pytest.mark.socket
def test_given_the_published_schema_when_schemathesis_runs_every_check_and_phase_then_0_failures(
    product: LiveProduct,
) -> None:
    run = run_schemathesis(product, max_examples=EXAMPLES, seed=SEED)

    print(run.summary())
    assert run.exit_code == 0 and run.unique_failures == 0, run.output
    assert run.operations_tested == run.operations_total > 30, run.summary()
    assert run.generated > 500 and run.links_covered > 0, run.summary()
