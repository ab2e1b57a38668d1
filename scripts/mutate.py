"""Mutation testing of the money and stock modules, one module at a time (`make mutate`).

Each module gets its own mutmut work directory under var/mutate/<module>/ with a [tool.mutmut]
of its own: only that file is mutated and only the tests that prove it run, so a mutant costs
seconds. The equivalent mutants judged harmless are listed in docs/mutation.md (one table row per
mutant, its name in backticks in the first column); the score is killed / (all - equivalent).

    python scripts/mutate.py                      # the measured modules, one worker
    python scripts/mutate.py transfers coupons    # some modules
    python scripts/mutate.py transfers --mutants 'shoploop.ledger.services.transfers.x_post_hold*'
    python scripts/mutate.py --report             # the figures of the last runs, no running
    python scripts/mutate.py transfers --survivors  # the surviving, non-equivalent mutants' diffs
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutate"
DOC = ROOT / "docs" / "mutation.md"

# module -> (files mutated, tests that prove them). Keep in this order: smallest and most
# important first.
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "transfers": (
        ["shoploop/ledger/services/transfers.py"],
        [
            "shoploop/ledger/tests/test_services.py",
            "shoploop/ledger/tests/test_transfers_mutants.py",
        ],
    ),
    "verification": (
        ["shoploop/ledger/verification.py"],
        [
            "shoploop/ledger/tests/payments/test_verification.py",
            "shoploop/ledger/tests/payments/test_verification_mutants.py",
            "shoploop/ledger/tests/payments/test_verification_world_mutants.py",
            # The commissions' reconciliation needs commission rows: the referrals' corruptions.
            "shoploop/referrals/tests/test_verification.py",
        ],
    ),
    "coupons": (
        ["shoploop/coupons/services.py"],
        [
            "shoploop/coupons/tests/test_coupon_services.py",
            "shoploop/coupons/tests/test_checkout_contract.py",
            "shoploop/coupons/tests/test_pricing.py",
            "shoploop/coupons/tests/test_coupon_mutants.py",
        ],
    ),
    "cuts": (
        ["shoploop/deals/bargains/cuts.py"],
        ["shoploop/deals/bargains/tests/test_cuts.py"],
    ),
    "placement": (
        ["shoploop/orders/services/placement.py"],
        [
            "shoploop/orders/tests/test_checkout.py",
            "shoploop/orders/tests/test_coupons_at_checkout.py",
            "shoploop/orders/tests/test_order_address.py",
            "shoploop/orders/tests/test_placement_mutants.py",
            # A checkout to a pickup point: its own shipping fields and order extras.
            "shoploop/orders/tests/test_pickup.py",
        ],
    ),
    "cart": (
        ["shoploop/orders/services/cart.py"],
        [
            "shoploop/orders/tests/test_cart.py",
            "shoploop/orders/tests/test_cart_mutants.py",
        ],
    ),
    "groups": (
        ["shoploop/deals/groups/services.py"],
        [
            "shoploop/deals/groups/tests/test_services.py",
            "shoploop/deals/groups/tests/test_variants.py",
            "shoploop/deals/groups/tests/test_cancelled_orders.py",
            # The statement budget: a join that reads what it already has costs statements.
            "shoploop/deals/groups/tests/test_hot_path.py",
            "shoploop/deals/groups/tests/test_groups_mutants.py",
            "shoploop/deals/groups/tests/test_group_deadlines_mutants.py",
            # The campaign's set-up: its checks and what it creates.
            "shoploop/deals/groups/tests/test_campaign_setup_mutants.py",
        ],
    ),
    "payment": (
        ["shoploop/orders/services/payment.py"],
        [
            "shoploop/orders/tests/test_checkout.py",
            "shoploop/orders/tests/test_payment_retry.py",
            "shoploop/orders/tests/test_payment_events_once.py",
            "shoploop/orders/tests/test_deal_orders.py",
            "shoploop/orders/tests/test_payment_mutants.py",
        ],
    ),
    "bargains": (
        ["shoploop/deals/bargains/services.py"],
        [
            "shoploop/deals/bargains/tests/test_services.py",
            "shoploop/deals/bargains/tests/test_bargain_mutants.py",
            "shoploop/deals/bargains/tests/test_campaign_setup_mutants.py",
        ],
    ),
    "flash": (
        ["shoploop/deals/flash/services.py"],
        [
            "shoploop/deals/flash/tests/test_services.py",
            "shoploop/deals/flash/tests/test_confirm.py",
            "shoploop/deals/flash/tests/test_pickup.py",
            "shoploop/deals/flash/tests/test_flash_mutants.py",
            "shoploop/deals/flash/tests/test_sale_setup_mutants.py",
        ],
    ),
    "crowdfunding": (
        ["shoploop/deals/crowdfunding/services.py"],
        [
            "shoploop/deals/crowdfunding/tests/test_services.py",
            "shoploop/deals/crowdfunding/tests/test_confirm.py",
            "shoploop/deals/crowdfunding/tests/test_crowdfunding_mutants.py",
            "shoploop/deals/crowdfunding/tests/test_project_setup_mutants.py",
        ],
    ),
}

# What `make mutate` runs: the modules measured at ≥ 90 % and recorded in docs/mutation.md.
MEASURED = [
    "transfers",
    "coupons",
    "verification",
    "placement",
    "cart",
    "groups",
    "payment",
    "bargains",
    "flash",
    "crowdfunding",
    "cuts",
]

# Modules measured only in part: the mutants `make mutate` runs there (mutmut name globs). Empty
# since every file is measured whole; kept for a module whose new part is not measured yet.
ONLY: dict[str, list[str]] = {}

# The pytest options every mutant runs with: SQLite, one process, stop at the first failure, and
# the test database of the module's work dir kept between runs (building it by migrations takes
# longer than a mutant's tests).
PYTEST_ARGS = ["-p", "no:xdist", "-p", "no:randomly", "-q", "-x", "--reuse-db"]
PYTEST_ARGS += ["-m", "not postgres and not browser and not celery"]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join('"' + i.replace('"', '\\"') + '"' for i in items) + "]"


# mutmut times a mutant's tests by their own duration, not their fixtures': the reconciliation's
# tests build whole worlds (orders, payments, withdrawals, commissions) in their fixtures, so at 3 ×
# an equivalent mutant, which runs every test to the end, was stopped and counted as killed (seen
# on 1 Dec 2026: equivalents such as an iterator's chunk size "timed out" on a quiet machine).
# Its code has no loop a mutant could make endless, so it gets a limit no honest run reaches.
TIMEOUT_MULTIPLIER = {"verification": 30.0}


def _pyproject(files: list[str], tests: list[str], timeout_multiplier: float = 3.0) -> str:
    """The project's pyproject.toml with a [tool.mutmut] for this module only."""
    text = (ROOT / "pyproject.toml").read_text()
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[)", "", text)
    section = "\n".join(
        [
            "[tool.mutmut]",
            'source_paths = ["shoploop"]',
            f"only_mutate = {_toml_list(files)}",
            'also_copy = ["conftest.py", "manage.py"]',
            f"pytest_add_cli_args = {_toml_list(PYTEST_ARGS)}",
            f"pytest_add_cli_args_test_selection = {_toml_list(tests)}",
            'on_dependency_change = "ignore"',
            # A mutant that loops forever (a loop counter no longer counting) is stopped after
            # 6 × (its tests' time + 1 s) of CPU, not mutmut's 30 ×: on this machine that was
            # five minutes and more per such mutant. It counts as killed either way.
            f"timeout_multiplier = {timeout_multiplier}",
            "",
        ]
    )
    return text + "\n" + section


def _prepare(module: str) -> Path:
    files, tests = MODULES[module]
    work = WORK / module
    work.mkdir(parents=True, exist_ok=True)
    for name in ("shoploop", "conftest.py", "manage.py"):
        link = work / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    multiplier = TIMEOUT_MULTIPLIER.get(module, 3.0)
    (work / "pyproject.toml").write_text(_pyproject(files, tests, multiplier))
    mutants = work / "mutants"
    if mutants.exists():
        # mutmut copies the tree once and never refreshes it: bring the tests and every
        # unmutated file up to date (the mutated files are mutmut's own).
        excludes = [f"--exclude=/{f.removeprefix('shoploop/')}" for f in files]
        excludes += ["--exclude=*.meta", "--exclude=__pycache__"]
        subprocess.run(
            ["rsync", "-a", "--copy-links", *excludes, f"{ROOT}/shoploop/", f"{mutants}/shoploop/"],
            check=True,
        )
        for name in ("conftest.py", "manage.py"):
            shutil.copy2(ROOT / name, mutants / name)
        shutil.copy2(work / "pyproject.toml", mutants / "pyproject.toml")
    return work


def _mutmut(work: Path, *args: str) -> int:
    env = dict(os.environ, SHOPLOOP_DATABASE_URL="")
    env["SHOPLOOP_SQLITE_TEST_PATH"] = str(work / "test-db.sqlite3")
    mutmut = Path(sys.executable).parent / "mutmut"
    return subprocess.run([str(mutmut), *args], cwd=work, env=env).returncode


def equivalents() -> dict[str, str]:
    """Mutant name -> reason, from the tables of docs/mutation.md."""
    found = {}
    if not DOC.exists():
        return found
    for line in DOC.read_text().splitlines():
        m = re.match(r"\|\s*`(shoploop\.[\w.]+__mutmut_\d+)`\s*\|(.*)\|\s*$", line)
        if m:
            found[m.group(1)] = m.group(2).split("|")[-1].strip()
    return found


def results(module: str) -> dict[str, str]:
    """Mutant name -> status, from the .meta files mutmut left in the module's work dir."""
    import json

    from mutmut.stats import status_by_exit_code

    files, _ = MODULES[module]
    out = {}
    for f in files:
        meta = WORK / module / "mutants" / (f + ".meta")
        if not meta.exists():
            continue
        data = json.loads(meta.read_text())
        for name, code in data.get("exit_code_by_key", {}).items():
            if module in ONLY and not any(fnmatch(name, glob) for glob in ONLY[module]):
                continue
            out[name] = status_by_exit_code[code]
    return out


def report(modules: list[str]) -> bool:
    eq = equivalents()
    ok = True
    print(
        f"{'module':<14}{'mutants':>8}{'killed':>8}{'survived':>9}{'equiv':>7}{'other':>7}{'score':>8}"
    )
    for module in modules:
        res = results(module)
        if not res:
            print(f"{module:<14} not measured")
            ok = False
            continue
        # A mutant that makes the tests hang past the time limit is caught, as one that fails them.
        killed = sum(1 for s in res.values() if s in ("killed", "timeout"))
        equiv = [n for n, s in res.items() if n in eq and s not in ("killed", "timeout")]
        survived = [n for n, s in res.items() if s == "survived" and n not in eq]
        unchecked = [n for n, s in res.items() if s == "not checked"]
        other = [
            n
            for n, s in res.items()
            if s not in ("killed", "timeout", "survived", "not checked") and n not in eq
        ]
        counted = len(res) - len(equiv) - len(unchecked)
        score = 100.0 * killed / counted if counted else 100.0
        ok = ok and score >= 90.0 and not unchecked
        print(
            f"{module:<14}{len(res):>8}{killed:>8}{len(survived):>9}{len(equiv):>7}"
            f"{len(other):>7}{score:>7.1f}%"
        )
        if unchecked:
            print(f"  {len(unchecked)} mutants not run yet: the score is of those run")
        caught = ("killed", "timeout")
        stale = [n for n in eq if n.startswith(_prefix(module)) and res.get(n) in caught]
        if stale:
            print(f"  listed as equivalent but killed (drop from docs): {', '.join(stale)}")
    return ok


def _prefix(module: str) -> str:
    return MODULES[module][0][0].removesuffix(".py").replace("/", ".")


def survivors(module: str) -> None:
    eq = equivalents()
    work = WORK / module
    for name, status in sorted(results(module).items()):
        if status not in ("killed", "timeout") and name not in eq:
            print(f"##### {name}: {status}")
            subprocess.run(
                [str(Path(sys.executable).parent / "mutmut"), "show", name],
                cwd=work,
                env=dict(os.environ, SHOPLOOP_DATABASE_URL=""),
            )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("modules", nargs="*", choices=[[], *MODULES], default=[])
    parser.add_argument("--mutants", nargs="*", default=[], help="mutmut names or globs to (re)run")
    parser.add_argument("--report", action="store_true", help="only print the last figures")
    parser.add_argument(
        "--survivors", action="store_true", help="show the non-equivalent survivors"
    )
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    args = parser.parse_args()
    modules = args.modules or MEASURED
    if args.survivors:
        for module in modules:
            survivors(module)
        return 0
    if not args.report:
        for module in modules:
            if args.fresh:
                shutil.rmtree(WORK / module / "mutants", ignore_errors=True)
                (WORK / module / "test-db.sqlite3").unlink(missing_ok=True)
            work = _prepare(module)
            print(f"=== {module}: {', '.join(MODULES[module][0])}", flush=True)
            _mutmut(work, "run", "--max-children", "1", *(args.mutants or ONLY.get(module, [])))
    return 0 if report(modules) else 1


if __name__ == "__main__":
    sys.exit(main())
