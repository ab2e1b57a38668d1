"""How pytest-xdist hands tests to its workers: a module whose fixtures are module-scoped runs on
one worker (root conftest.py, ``pytest_xdist_make_scheduler``).

xdist's default ``load`` scheduling hands out tests in chunks from the front of the collection,
so it splits a module between the workers, and a module-scoped fixture is then built once on
each: the simulated worlds of the simulation and referrals tests take 10–40 s each to build.
``--dist loadscope`` and ``--dist loadgroup`` would keep a module together, but they key their
work by node id, and the schemathesis fuzz test is some 290 items sharing one node id, which they
collapse to one (and with pytest 9, loadgroup's ``xdist_group`` marks are lost: xdist renames the
item through ``_nodeid``, which pytest 9 no longer reads). So this keeps ``load`` scheduling and
changes one thing: a chunk that takes any test of such a module takes all of its pending tests.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from xdist.scheduler import LoadScheduling

MODULE_SCOPE = ('scope="module"', "scope='module'")


def module_of(nodeid: str) -> str:
    """``shoploop/x/tests/test_y.py::test_z[1]`` → ``shoploop/x/tests/test_y.py``."""
    return nodeid.split("::", 1)[0]


def has_module_scoped_fixture(module: Path) -> bool:
    """A fixture of the module, or of the conftest.py beside it, is built once per module."""
    for source in (module, module.parent / "conftest.py"):
        try:
            text = source.read_text(encoding="utf-8")
        except OSError:
            continue
        if any(scope in text for scope in MODULE_SCOPE):
            return True
    return False


def take_chunk(
    pending: list[int], count: int, collection: list[str], kept_together: Callable[[str], bool]
) -> list[int]:
    """Remove the next ``count`` pending test indices from ``pending`` and return them, with
    every other pending test of any module in the chunk that must stay on one worker."""
    chunk = pending[:count]
    together = {m for m in (module_of(collection[i]) for i in chunk) if kept_together(m)}
    rest = pending[count:]
    chunk += [i for i in rest if module_of(collection[i]) in together]
    pending[:] = [i for i in rest if module_of(collection[i]) not in together]
    return chunk


class ModuleFixtureScheduling(LoadScheduling):
    """``load`` scheduling that never splits a module with module-scoped fixtures."""

    def __init__(self, config, log=None):
        super().__init__(config, log)
        root = Path(config.rootpath)
        self._kept_together = cache(lambda module: has_module_scoped_fixture(root / module))

    def _send_tests(self, node, num: int) -> None:
        chunk = take_chunk(self.pending, num, self.collection, self._kept_together)
        if chunk:
            self.node2pending[node].extend(chunk)
            node.send_runtest_some(chunk)
