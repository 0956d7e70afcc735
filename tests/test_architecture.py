"""The shape of the code, checked: no import circles, two wings that never import each other, an
emulator that stands apart. Built from the import graph (grimp), function-level imports included,
so a circle cannot hide inside a function."""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("accounts", "procurement", "payments", "quickbooks", "procuresync", "qbo_emulator")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=False)


def import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. the import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return circles


def test_given_the_whole_tree_then_no_module_imports_itself_round_a_circle(graph):
    assert import_circles(graph) == []


def test_given_the_circle_finder_when_two_modules_import_each_other_then_it_reports_them():
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert import_circles(graph) == [["pkg.a", "pkg.b"]]


@pytest.mark.parametrize(
    ("wing", "other"), [("quickbooks.export", "quickbooks.inbound"), ("quickbooks.inbound", "quickbooks.export")]
)
def test_given_the_two_quickbooks_wings_then_no_module_of_one_imports_the_other(graph, wing, other):
    # Direct imports: both wings reach quickbooks.models, which registers the inbound models with
    # Django, so an indirect chain through the core is expected.
    assert not graph.direct_import_exists(importer=wing, imported=other, as_packages=True)


def test_given_the_emulator_then_it_imports_nothing_of_the_product(graph):
    for package in ("accounts", "procurement", "payments", "quickbooks", "procuresync"):
        assert not graph.chain_exists(importer="qbo_emulator", imported=package, as_packages=True), package


def test_every_module_with_an_actor_is_found_by_the_separate_workers() -> None:
    """`rundramatiq` processes import only the modules named in DRAMATIQ_AUTODISCOVER_MODULES: an
    actor elsewhere runs in the embedded worker but never in the scaled-out mode (its messages
    wait forever), as the list import's did."""
    from pathlib import Path

    from django.conf import settings

    root = Path(__file__).resolve().parents[1]
    with_actors = {
        ".".join(path.relative_to(root).with_suffix("").parts)
        for package in ("accounts", "procurement", "payments", "quickbooks")
        for path in (root / package).rglob("*.py")
        if "@dramatiq.actor" in path.read_text(encoding="utf-8")
    }
    apps = ("accounts", "procurement", "payments", "quickbooks")  # django_dramatiq tries each app
    found = {f"{app}.{module}" for app in apps for module in settings.DRAMATIQ_AUTODISCOVER_MODULES}
    assert with_actors - found == set()
