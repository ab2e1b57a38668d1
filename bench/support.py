"""What every benchmark needs: a throwaway PostgreSQL database with the schema, Django set up on
it, and the one summary line each benchmark ends with."""

import argparse
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_URL = os.environ.get("SHOPLOOP_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def arguments(description: str, **extra) -> argparse.Namespace:
    """``--quick`` (under 30 s) plus the benchmark's own options (name=(type, default, help))."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a small run, under 30 s")
    for name, (kind, default, text) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=text)
    return parser.parse_args()


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", f"{SERVER_URL}/postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
    )


@contextmanager
def throwaway_database(name: str):
    """Create ``name`` (dropping a leftover one), point Django at it, migrate; drop it after."""
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{name}"')
    url = f"{SERVER_URL}/{name}"
    os.environ["SHOPLOOP_DATABASE_URL"] = url
    os.environ.setdefault("SHOPLOOP_DEBUG", "0")
    # Benchmarks pay in the sandbox cashier: a staging deployment (production refuses it).
    os.environ.setdefault("SHOPLOOP_STAGING", "1")
    os.environ.setdefault("SHOPLOOP_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shoploop.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False)
    try:
        yield url
    finally:
        connections.close_all()
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def summary(name: str, **figures) -> str:
    """The last line: ``NAME: key=value …`` (floats with 3 significant decimals)."""
    parts = [
        f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}"
        for key, value in figures.items()
    ]
    line = f"{name}: " + " ".join(parts)
    print(line, flush=True)
    return line


def address_for(user) -> str:
    """A delivery address for a benchmark buyer (every deal ships somewhere), made in the setup,
    not in what is measured: its public id, to pass as ``address_id``."""
    from shoploop.orders import address_services

    return address_services.add_address(
        user=user,
        recipient_name="压测买家",
        phone="13912345678",
        province_code="44",
        city_code="4403",
        district_code="440305",
        street="科技园 1 号",
    ).public_id
