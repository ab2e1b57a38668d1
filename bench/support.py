"""What every benchmark needs: a throwaway PostgreSQL database with the schema, Django set up on
it, and the one summary line each benchmark ends with."""

import argparse
import hashlib
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_URL = os.environ.get("SHOPLOOP_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
# Throwaway databases are named ``<prefix>_<benchmark>_<pid>``: two runs at once (two checkouts,
# two people on one server) never drop each other's database.
DATABASE_PREFIX = os.environ.get("SHOPLOOP_BENCH_DB_PREFIX", "bench")


def arguments(description: str, **extra) -> argparse.Namespace:
    """``--quick`` (under 30 s) plus the benchmark's own options (name=(type, default, help))."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a small run, under 30 s")
    for name, (kind, default, text) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=text)
    return parser.parse_args()


def _psql(sql: str) -> str:
    done = subprocess.run(
        ["psql", f"{SERVER_URL}/postgres", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def database_name(benchmark: str) -> str:
    """This process's own database for ``benchmark`` (the pid keeps concurrent runs apart)."""
    return f"{DATABASE_PREFIX}_{benchmark}_{os.getpid()}"


def _schema_digest() -> str:
    """What the migrated schema depends on: every migration file and the Django version."""
    import django

    digest = hashlib.sha256(django.get_version().encode())
    for path in sorted((ROOT / "shoploop").rglob("migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _migrated_template() -> str:
    """A database migrated once per schema (``<prefix>_template_<digest>``), kept between runs:
    migrating from scratch takes about 25 s on a busy 2-core machine, longer than a quick run
    may take, while copying a template takes about a second. Built under this process's own name
    and renamed when complete, so a run never copies a half-migrated template and two runs that
    build it at once do not clash (the loser drops its copy)."""
    template = f"{DATABASE_PREFIX}_template_{_schema_digest()}"
    if _psql(f"SELECT 1 FROM pg_database WHERE datname = '{template}'"):
        return template
    building = f"{template}_{os.getpid()}"
    _psql(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{building}"')
    print(f"(building the migrated template {template}, once per schema…)", flush=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "SHOPLOOP_DATABASE_URL": f"{SERVER_URL}/{building}"},
        check=True,
    )
    try:
        _psql(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
    except subprocess.CalledProcessError:  # another run finished first: use theirs
        _psql(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
    return template


def _bench_environment() -> None:
    os.environ.setdefault("SHOPLOOP_DEBUG", "0")
    # Benchmarks pay in the sandbox cashier: a staging deployment (production refuses it).
    os.environ.setdefault("SHOPLOOP_STAGING", "1")
    os.environ.setdefault("SHOPLOOP_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shoploop.settings")


@contextmanager
def throwaway_database(benchmark: str):
    """Create this process's database for ``benchmark`` (dropping a leftover one of the same
    pid) as a copy of the migrated template, point Django at it; drop it after. Yields the
    database URL."""
    _bench_environment()
    name = database_name(benchmark)
    template = _migrated_template()
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = f"{SERVER_URL}/{name}"
    os.environ["SHOPLOOP_DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connections

    try:
        yield url
    finally:
        connections.close_all()
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(*, whole_process: bool = False) -> float:
    """CPU time spent so far on this worker's behalf: this thread's (or process's) own, plus its
    PostgreSQL backend's (``/proc/<backend pid>/stat``: the server runs on this machine). Unlike
    wall time, it does not grow while the worker waits for a core the neighbours hold, so a ratio
    of CPU per unit of work repeats on a busy machine where a ratio of units per second does not.
    """
    from django.db import connection

    connection.ensure_connection()
    with open(f"/proc/{connection.connection.info.backend_pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    backend = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
    own = time.process_time() if whole_process else time.thread_time()
    return own + backend


def summary(name: str, **figures) -> str:
    """The last line: ``NAME: key=value … load=…`` (floats with 3 significant decimals; ``load``
    is the machine's 1-minute load average at the end, so a reader can tell a busy machine's
    figures from a quiet one's)."""
    figures.setdefault("load", os.getloadavg()[0])
    parts = [
        f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}"
        for key, value in figures.items()
    ]
    line = f"{name}: " + " ".join(parts)
    print(line, flush=True)
    return line


# Where benchmark buyers' parcels go (a real district: Shenzhen, Nanshan).
BENCH_ADDRESS = {
    "recipient_name": "压测买家",
    "phone": "+8613912345678",
    "province_code": "44",
    "city_code": "4403",
    "district_code": "440305",
    "street": "科技园 1 号",
}


def address_for(user) -> str:
    """A delivery address for a benchmark buyer (every deal ships somewhere), made in the setup,
    not in what is measured: its public id, to pass as ``address_id``."""
    from shoploop.orders import address_services

    fields = {**BENCH_ADDRESS, "phone": BENCH_ADDRESS["phone"].removeprefix("+86")}
    return address_services.add_address(user=user, **fields).public_id
