"""A flash-sale rush over HTTP against two ASGI web processes, PostgreSQL, Redis and a Celery
worker (the scale-out setup), compared with the same servers on a trivial endpoint.

    python -m bench.flash_sale            # 2,000 buy requests from 500 users for 100 units
    python -m bench.flash_sale --quick    # 400 requests from 100 users for 20 units, < 30 s

It creates and drops its own PostgreSQL database (``bench_flash_sale``), creates the merchant,
the buyers, their API tokens and the sale through services, starts the processes, then:

1. the trivial baseline: the same number of ``GET /api/v1/deals/flash-sales/<id>`` (the public
   sale detail: one indexed read) at the same concurrency;
2. the burst: ``POST /api/v1/deals/flash-sales/<id>/buy`` with each buyer's bearer token, the
   requests spread over both web processes;
3. sold out: the same taps again, now that every unit is gone (each must be a 409 ``sold_out``),
   then the trivial GET again. ``sold_out_ratio`` = p50 of a sold-out answer ÷ p50 of the
   trivial GET (the mean of the rounds before and after), target ≤ 2; the SQL statements of one
   GET and one sold-out POST are counted (and printed) in this process.

It prints requests/s, p50/p99 latency, errors (5xx and timeouts), units sold (must equal the
stock: every unit reserved, none oversold), and ``ratio`` = burst requests/s ÷ trivial
requests/s (the mean of the GET rounds before and after). The client is the standard library
(``http.client`` with keep-alive, one connection per client thread and server): no extra
dependency.
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from bench.support import ROOT, address_for, arguments, summary, throwaway_database

REQUEST_TIMEOUT = 30.0
# Redis database 15 is the tests'; the benchmark keeps to its own.
REDIS_URL = os.environ.get("SHOPLOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def _setup(*, buyers: int, stock: int):
    """Merchant, shop, SKU, sale and buyers with API tokens, all through services."""
    from shoploop.accounts import services as accounts
    from shoploop.accounts.models import User
    from shoploop.catalog import services as catalog
    from shoploop.core import clock
    from shoploop.deals.flash import services as flash

    now = clock.now()
    counter = iter(range(10_000_000))

    def user(**extra):
        # Users are made like the tests' fixtures (sign-up by SMS code is not what is measured).
        return User.objects.create_user(
            f"+86139{next(counter):08d}", display_name="bench", phone_verified_at=now, **extra
        )

    operator = user(is_staff=True, is_superuser=True)
    merchant = user()
    shop = catalog.approve_shop(
        shop=catalog.apply_for_shop(user=merchant, name="秒杀压测店", contact="wx bench"),
        actor=operator,
    )
    product = catalog.create_product(
        shop=shop, actor=merchant, title="压测商品", description="", category="food"
    )
    sku = catalog.add_sku(
        product=product, actor=merchant, options={}, price_fen=9900, stock=stock * 2
    )
    catalog.publish_product(product=product, actor=merchant)
    sale = flash.create_sale(
        shop=shop,
        actor=merchant,
        sku=sku,
        price_fen=990,
        stock=stock,
        ends_at=now + timedelta(hours=2),
        per_user_limit=1,
    )
    tokens = []
    for _ in range(buyers):
        buyer = user()
        # (token, the buyer's address id): every buy ships somewhere.
        tokens.append((accounts.issue_api_token(user=buyer, name="bench").raw, address_for(buyer)))
    return sale, tokens


@contextmanager
def _process(args, *, env, marker, log_dir, name, timeout=60):
    """A child whose output goes to a file (a pipe nobody drains would block a busy server)."""
    log_path = os.path.join(log_dir, f"{name}.log")
    with open(log_path, "w") as log:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while marker not in Path(log_path).read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{Path(log_path).read_text()[-3000:]}")
            time.sleep(0.1)
        yield log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# ``manage.py serve`` without the connection pool, with persistent per-thread connections of
# ``BENCH_CONN_MAX_AGE`` seconds instead (the settings before the pool): shows what the pool buys
# under ASGI, where every request runs in a fresh thread and so opens its own connection.
_SERVE_WITHOUT_POOL = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shoploop.settings")
django.setup()
from django.conf import settings
database = settings.DATABASES["default"]
database.get("OPTIONS", {}).pop("pool", None)
database["CONN_MAX_AGE"] = int(os.environ["BENCH_CONN_MAX_AGE"])
database["CONN_HEALTH_CHECKS"] = True
from django.core.management import call_command
call_command("serve", host="127.0.0.1", port=int(sys.argv[1]))
"""


def _web(port, env, log_dir):
    args = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if "BENCH_CONN_MAX_AGE" in env:
        args = [sys.executable, "-c", _SERVE_WITHOUT_POOL, str(port)]
    return _process(args, env=env, marker="Uvicorn running on", log_dir=log_dir, name=f"web-{port}")


def _worker(queue, env, log_dir):
    args = [sys.executable, "-m", "celery", "-A", "shoploop", "worker", "--pool=solo"]
    args += ["--concurrency=1", "-Q", f"celery,{queue}", "--without-gossip", "--without-mingle"]
    args += ["--without-heartbeat", "--loglevel=INFO"]
    return _process(args, env=env, marker="ready.", log_dir=log_dir, name="worker")


class Client:
    """Keep-alive connections per thread and port; a request returns (status, seconds)."""

    def __init__(self, ports):
        self.ports = ports
        self.local = threading.local()

    def _connection(self, port):
        pool = self.local.__dict__.setdefault("pool", {})
        if port not in pool:
            pool[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        return pool[port]

    def request(self, index, method, path, *, token=None, body=None):
        port = self.ports[index % len(self.ports)]
        headers = {"Host": "127.0.0.1", "Connection": "keep-alive"}
        payload = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        for attempt in range(2):
            connection = self._connection(port)
            try:
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                return response.status, time.perf_counter() - started, data
            except TimeoutError:
                connection.close()
                return "timeout", time.perf_counter() - started, b""
            except (ConnectionError, http.client.HTTPException):
                # A keep-alive connection the server closed meanwhile: reconnect once.
                connection.close()
                self.local.pool.pop(port, None)
                if attempt:
                    return "error", time.perf_counter() - started, b""
        return "error", time.perf_counter() - started, b""


def _run(client, count, concurrency, make_request):
    """``count`` requests over ``concurrency`` threads; returns (outcomes, wall seconds)."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        started = time.perf_counter()
        outcomes = list(pool.map(make_request, range(count)))
        elapsed = time.perf_counter() - started
    return outcomes, elapsed


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _report(label, outcomes, elapsed):
    latencies = [seconds for _, seconds, _ in outcomes]
    statuses = Counter(status for status, _, _ in outcomes)
    rps = len(outcomes) / elapsed
    p50 = _percentile(latencies, 0.50) * 1000
    p99 = _percentile(latencies, 0.99) * 1000
    print(
        f"{label}: {len(outcomes)} requests in {elapsed:.2f} s = {rps:.0f} req/s; "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {statistics.fmean(latencies) * 1000:.1f} ms; "
        f"statuses {dict(sorted(statuses.items(), key=str))}",
        flush=True,
    )
    return rps, p50, p99, statuses


def _log_problems(log_dir, limit=20):
    """The distinct error lines the servers and the worker logged (what a 5xx came from)."""
    markers = ("Error", "Exception", "FATAL", "Traceback", " 500 ")
    seen = Counter()
    for path in sorted(Path(log_dir).glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if any(marker in line for marker in markers):
                seen[f"{path.name}: {line.strip()[:200]}"] += 1
    for line, count in seen.most_common(limit):
        print(f"  {count} × {line}")
    return sum(seen.values())


def _statements(detail: str, token: str) -> dict:
    """The SQL statements of one trivial GET and one sold-out POST, answered in this process by
    the same views (Django's test client; the servers' pool and Redis play no part in the
    count). Each statement is printed, shortened, as the evidence of what a "sold out" costs."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext, override_settings

    client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    counts = {}
    with override_settings(ALLOWED_HOSTS=["*"]):
        for label, call in (
            ("get", lambda: client.get(detail, secure=True)),
            ("sold_out", lambda: client.post(detail + "/buy", {}, "application/json", secure=True)),
        ):
            with CaptureQueriesContext(connection) as queries:
                response = call()
            counts[label] = len(queries.captured_queries)
            print(f"{label}: HTTP {response.status_code}, {counts[label]} SQL statements:")
            for query in queries.captured_queries:
                print(f"    {_shortened(query['sql'])}")
    return counts


def _shortened(sql: str) -> str:
    """``SELECT … FROM "table" … WHERE …`` with the column list cut out."""
    if sql.startswith("SELECT") and " FROM " in sql:
        sql = "SELECT … FROM " + sql.split(" FROM ", 1)[1]
    return sql[:160]


def main():
    args = arguments(
        "Flash-sale rush over HTTP: two ASGI web processes, PostgreSQL, Redis, a Celery worker.",
        requests=(int, None, "buy requests in the burst (default 2000; --quick 400)"),
        users=(int, None, "distinct buyers (default 500; --quick 100)"),
        stock=(int, None, "units on sale (default 100; --quick 20)"),
        concurrency=(int, None, "client threads (default 64; --quick 32)"),
        pool_size=(
            int,
            None,
            "connections in each web process's pool (default: SHOPLOOP_DB_POOL_SIZE or 20)",
        ),
        conn_max_age=(
            int,
            None,
            "serve without the pool, with persistent connections of this age (the old setting)",
        ),
    )
    requests = args.requests or (400 if args.quick else 2000)
    users = args.users or (100 if args.quick else 500)
    stock = args.stock or (20 if args.quick else 100)
    concurrency = args.concurrency or (32 if args.quick else 64)

    with throwaway_database("flash_sale") as url:
        from django.db import connections
        from django.db.models import Max, Sum

        from shoploop.deals.flash.models import FlashPurchase, FlashQuota, FlashSale
        from shoploop.tests.processes import child_env, free_port

        started = time.perf_counter()
        sale, tokens = _setup(buyers=users, stock=stock)
        print(f"setup: {users} buyers with tokens in {time.perf_counter() - started:.1f} s")
        connections.close_all()
        env = child_env(
            SHOPLOOP_DATABASE_URL=url,
            SHOPLOOP_REDIS_URL=REDIS_URL,
            SHOPLOOP_DEBUG="0",
            SHOPLOOP_SSL_REDIRECT="0",
            SHOPLOOP_ALLOWED_HOSTS="127.0.0.1,localhost",
            SHOPLOOP_SECRET_KEY=os.environ["SHOPLOOP_SECRET_KEY"],
        )
        if args.pool_size is not None:
            env["SHOPLOOP_DB_POOL_SIZE"] = str(args.pool_size)
        if args.conn_max_age is not None:
            env["BENCH_CONN_MAX_AGE"] = str(args.conn_max_age)
            print(f"web processes: no pool, CONN_MAX_AGE={args.conn_max_age}")
        else:
            size = env.get("SHOPLOOP_DB_POOL_SIZE", "20")
            print(f"web processes: a pool of at most {size} connections each")
        ports = [free_port(), free_port()]
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        log_dir = tempfile.mkdtemp(prefix="bench-flash-")
        with ExitStack() as stack:
            for port in ports:
                stack.enter_context(_web(port, env, log_dir))
            stack.enter_context(_worker(queue, env, log_dir))
            print(f"two web processes and a worker ready (logs in {log_dir})", flush=True)
            client = Client(ports)
            detail = f"/api/v1/deals/flash-sales/{sale.public_id}"
            _run(client, 2 * concurrency, concurrency, lambda i: client.request(i, "GET", detail))

            trivial, trivial_elapsed = _run(
                client, requests, concurrency, lambda i: client.request(i, "GET", detail)
            )
            trivial_rps, trivial_p50, *_ = _report(
                "trivial GET sale detail", trivial, trivial_elapsed
            )

            def buy(index):
                # Each buyer's taps are spread over the burst, like people hammering the button.
                token, address_id = tokens[index % users]
                return client.request(
                    index, "POST", f"{detail}/buy", token=token, body={"address_id": address_id}
                )

            burst, burst_elapsed = _run(client, requests, concurrency, buy)
            rps, p50, p99, statuses = _report("burst POST buy", burst, burst_elapsed)

            # Every unit is gone: the same taps now only learn "sold out". Compared with the
            # trivial GET measured just before the burst and again just after this round.
            sold_out, sold_out_elapsed = _run(client, requests, concurrency, buy)
            _, sold_out_p50, _, sold_out_statuses = _report(
                "sold-out POST buy", sold_out, sold_out_elapsed
            )
            again, again_elapsed = _run(
                client, requests, concurrency, lambda i: client.request(i, "GET", detail)
            )
            again_rps, again_p50, _, _ = _report("trivial GET again", again, again_elapsed)
        get_p50 = (trivial_p50 + again_p50) / 2
        # The burst against the trivial GET measured before it and after the sold-out round
        # (their mean), like the sold-out p50: load that drifts during the run cancels out.
        get_rps = (trivial_rps + again_rps) / 2
        sold_out_codes = Counter(
            json.loads(data)["error"]["code"] for status, _, data in sold_out if status == 409
        )
        print(f"sold-out answers: {dict(sold_out_codes)}; statuses {dict(sold_out_statuses)}")
        statements = _statements(detail, tokens[0])

        codes = Counter(
            json.loads(data)["error"]["code"] for status, _, data in burst if status == 409 and data
        )
        print(f"refusals: {dict(codes)}")
        sold = FlashPurchase.objects.filter(sale=sale).aggregate(n=Sum("quantity"))["n"] or 0
        fresh = FlashSale.objects.get(pk=sale.pk)
        most = FlashQuota.objects.filter(sale=sale).aggregate(m=Max("bought"))["m"] or 0
        errors = sum(1 for status, _, _ in burst if not isinstance(status, int) or status >= 500)
        if errors or any(s >= 500 for s, _, _ in trivial if isinstance(s, int)):
            print(f"server errors; from the logs in {log_dir}:")
            _log_problems(log_dir)
        print(
            f"check: 201s={statuses.get(201, 0)} purchases={sold} available={fresh.available} "
            f"most_per_buyer={most} (limit {fresh.per_user_limit})"
        )
        ok = sold == stock == statuses.get(201, 0) and fresh.available == 0 and most <= 1
        if set(sold_out_codes) != {"sold_out"} or sold_out_statuses.get(409) != requests:
            print("FAILED: after the last unit, not every tap was answered 409 sold_out")
            ok = False
        if not ok:
            print("FAILED: units sold do not match the stock (or a buyer exceeded the limit)")
        connections.close_all()
    summary(
        "flash_sale",
        rps=float(rps),
        p50_ms=float(p50),
        p99_ms=float(p99),
        errors=errors,
        sold=sold,
        stock=stock,
        ratio=float(rps / get_rps),
        get_p50_ms=float(get_p50),
        sold_out_p50_ms=float(sold_out_p50),
        sold_out_ratio=float(sold_out_p50 / get_p50),
        get_statements=statements["get"],
        sold_out_statements=statements["sold_out"],
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
