"""A flash-sale rush over HTTP against two ASGI web processes, PostgreSQL, Redis and a Celery
worker (the scale-out setup), compared with the same servers on a trivial endpoint.

    python -m bench.flash_sale            # 3 bursts of 2,000 requests (500 users, 100 units)
    python -m bench.flash_sale --quick    # 3 bursts of 400 requests (100 users, 20 units)

It creates and drops its own PostgreSQL database (``bench_flash_sale``), creates the merchant,
the buyers, their API tokens and ``--bursts`` sales (3) through services, starts the processes,
then alternates:

1. the trivial baseline: ``GET /api/v1/deals/flash-sales/<id>`` (the public sale detail: one
   indexed read), as many requests as a burst at the same concurrency;
2. for each sale in turn, its burst: ``POST /api/v1/deals/flash-sales/<id>/buy`` with each
   buyer's bearer token, the requests spread over both web processes; then the same taps again,
   now that every unit is gone (half as many; each must be a 409 ``sold_out``); then the trivial
   GET again.

A burst can happen only once per sale, so one sale per burst: each burst is compared with the
GET rounds just before and after it (their mean), and the printed figures are the medians over
the bursts (one burst per run spread its ratio by 14 % over three runs). ``ratio`` = burst
requests/s ÷ trivial requests/s; ``sold_out_ratio`` = p50 of a sold-out answer ÷ p50 of the
trivial GET, target ≤ 2; the SQL statements of one GET and one sold-out POST are counted (and
printed) in this process. It also prints p50/p99 latency, errors (5xx and timeouts) and units
sold (each sale must sell exactly its stock: every unit reserved, none oversold, nobody over the
limit). The client is the standard library (``http.client`` with keep-alive, one connection per
client thread and server): no extra dependency.
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
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from bench.support import ROOT, address_for, arguments, summary, throwaway_database

REQUEST_TIMEOUT = 30.0
# Redis database 15 is the tests'; the benchmark keeps to its own.
REDIS_URL = os.environ.get("SHOPLOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def _setup(*, buyers: int, stock: int, sales: int):
    """Merchant, shop, SKU, ``sales`` sales of it and buyers with API tokens, all through
    services."""
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
        product=product, actor=merchant, options={}, price_fen=9900, stock=stock * 2 * sales
    )
    catalog.publish_product(product=product, actor=merchant)
    made = [
        flash.create_sale(
            shop=shop,
            actor=merchant,
            sku=sku,
            price_fen=990,
            stock=stock,
            ends_at=now + timedelta(hours=2),
            per_user_limit=1,
        )
        for _ in range(sales)
    ]
    tokens = []
    for _ in range(buyers):
        buyer = user()
        # (token, the buyer's address id): every buy ships somewhere.
        tokens.append((accounts.issue_api_token(user=buyer, name="bench").raw, address_for(buyer)))
    return made, tokens


@contextmanager
def _processes(specs, *, env, log_dir, timeout=60):
    """Children started together, so their start-ups overlap, each ready once its marker is in
    its log. ``specs``: (name, args, marker). Output goes to files (a pipe nobody drains would
    block a busy server). Yields their log paths."""
    started = []
    try:
        for name, args, marker in specs:
            log_path = os.path.join(log_dir, f"{name}.log")
            with open(log_path, "w") as log:
                process = subprocess.Popen(
                    args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                )
            started.append((name, process, log_path, marker))
        deadline = time.monotonic() + timeout
        for name, process, log_path, marker in started:
            while marker not in Path(log_path).read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{name} did not start:\n{Path(log_path).read_text()[-3000:]}"
                    )
                time.sleep(0.1)
        yield [log_path for _, _, log_path, _ in started]
    finally:
        for _, process, _, _ in started:
            process.terminate()
        for _, process, _, _ in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def _process(args, *, env, marker, log_dir, name, timeout=60):
    """One child (see ``_processes``); yields its log path."""
    with _processes([(name, args, marker)], env=env, log_dir=log_dir, timeout=timeout) as logs:
        yield logs[0]


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


def _web_spec(port, env):
    args = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if "BENCH_CONN_MAX_AGE" in env:
        args = [sys.executable, "-c", _SERVE_WITHOUT_POOL, str(port)]
    return f"web-{port}", args, "Uvicorn running on"


def _worker_spec(queue):
    args = [sys.executable, "-m", "celery", "-A", "shoploop", "worker", "--pool=solo"]
    args += ["--concurrency=1", "-Q", f"celery,{queue}", "--without-gossip", "--without-mingle"]
    args += ["--without-heartbeat", "--loglevel=INFO"]
    return "worker", args, "ready."


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


def _statements(detail: str, buyer: tuple[str, str]) -> dict:
    """The SQL statements of one trivial GET and one sold-out POST (``buyer``: a token and the
    buyer's address id), answered in this process by the same views (Django's test client; the
    servers' pool and Redis play no part in the count). Each statement is printed, shortened, as
    the evidence of what a "sold out" costs; an answer other than 200 and 409 ``sold_out`` is
    an error, not a count."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext, override_settings

    token, address_id = buyer
    client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {"address_id": address_id}
    counts = {}
    with override_settings(ALLOWED_HOSTS=["*"]):
        # The buyer's presence is written at most once a minute (notifications.touch_activity):
        # that write belongs to the buyer's first request, not to every sold-out answer.
        client.post(detail + "/buy", body, "application/json", secure=True)
        for label, expected, call in (
            # Anonymous, as in the GET rounds.
            ("get", (200, None), lambda: DjangoClient().get(detail, secure=True)),
            (
                "sold_out",
                (409, "sold_out"),
                lambda: client.post(detail + "/buy", body, "application/json", secure=True),
            ),
        ):
            with CaptureQueriesContext(connection) as queries:
                response = call()
            code = response.json().get("error", {}).get("code") if response.status_code else None
            if (response.status_code, code) != expected:
                raise SystemExit(f"{label}: expected {expected}, got {response.status_code} {code}")
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


def _alternate(client, sales, tokens, *, requests: int, concurrency: int) -> dict:
    """GET, then for each sale: its burst, its sold-out taps, GET again. Returns the figures of
    every GET round and of every burst (with the outcomes the checks need)."""
    users = len(tokens)
    gets, bursts = [], []

    def get_round(sale):
        detail = f"/api/v1/deals/flash-sales/{sale.public_id}"
        outcomes, elapsed = _run(
            client, requests, concurrency, lambda i: client.request(i, "GET", detail)
        )
        rps, p50, _, _ = _report("trivial GET sale detail", outcomes, elapsed)
        gets.append({"rps": rps, "p50": p50, "errors": _server_errors(outcomes)})

    get_round(sales[0])
    for sale in sales:
        detail = f"/api/v1/deals/flash-sales/{sale.public_id}"

        def buy(index, detail=detail):
            # Each buyer's taps are spread over the burst, like people hammering the button.
            token, address_id = tokens[index % users]
            return client.request(
                index, "POST", f"{detail}/buy", token=token, body={"address_id": address_id}
            )

        burst, elapsed = _run(client, requests, concurrency, buy)
        rps, p50, p99, statuses = _report("burst POST buy", burst, elapsed)
        # Every unit is gone: the same taps now only learn "sold out". Only its p50 is used, and
        # half as many requests measure a median as well.
        sold_out, sold_out_elapsed = _run(client, _sold_out_requests(requests), concurrency, buy)
        _, sold_out_p50, _, sold_out_statuses = _report(
            "sold-out POST buy", sold_out, sold_out_elapsed
        )
        bursts.append(
            {
                "sale": sale,
                "rps": rps,
                "p50": p50,
                "p99": p99,
                "statuses": statuses,
                "burst": burst,
                "sold_out": sold_out,
                "sold_out_p50": sold_out_p50,
                "sold_out_statuses": sold_out_statuses,
            }
        )
        get_round(sale)
    return {"gets": gets, "bursts": bursts}


def _server_errors(outcomes) -> int:
    return sum(1 for status, _, _ in outcomes if not isinstance(status, int) or status >= 500)


def _sold_out_requests(requests: int) -> int:
    return requests // 2


def _check(rounds, sales, *, stock: int, requests: int, log_dir) -> tuple[bool, int]:
    """Each sale sold exactly its stock (every 201 a purchase, nothing oversold, nobody over
    the limit) and every tap after the last unit was a 409 ``sold_out``. Returns (ok, 5xx)."""
    from django.db.models import Max, Sum

    from shoploop.deals.flash.models import FlashPurchase, FlashQuota, FlashSale

    ok = True
    errors = sum(g["errors"] for g in rounds["gets"])
    for burst in rounds["bursts"]:
        sale, statuses = burst["sale"], burst["statuses"]
        errors += _server_errors(burst["burst"]) + _server_errors(burst["sold_out"])
        codes = Counter(
            json.loads(data)["error"]["code"]
            for status, _, data in burst["burst"]
            if status == 409 and data
        )
        sold_out_codes = Counter(
            json.loads(data)["error"]["code"]
            for status, _, data in burst["sold_out"]
            if status == 409
        )
        sold = FlashPurchase.objects.filter(sale=sale).aggregate(n=Sum("quantity"))["n"] or 0
        fresh = FlashSale.objects.get(pk=sale.pk)
        most = FlashQuota.objects.filter(sale=sale).aggregate(m=Max("bought"))["m"] or 0
        burst["sold"] = sold
        print(
            f"check {sale.public_id}: 201s={statuses.get(201, 0)} purchases={sold} "
            f"available={fresh.available} most_per_buyer={most} (limit {fresh.per_user_limit}); "
            f"refusals {dict(codes)}; sold-out answers {dict(sold_out_codes)}"
        )
        if not (sold == stock == statuses.get(201, 0) and fresh.available == 0 and most <= 1):
            print("FAILED: units sold do not match the stock (or a buyer exceeded the limit)")
            ok = False
        answered = burst["sold_out_statuses"].get(409)
        if set(sold_out_codes) != {"sold_out"} or answered != _sold_out_requests(requests):
            print("FAILED: after the last unit, not every tap was answered 409 sold_out")
            ok = False
    if errors:
        print(f"server errors; from the logs in {log_dir}:")
        _log_problems(log_dir)
    return ok and not errors, errors


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
        bursts=(int, None, "sales, each with its burst and sold-out round (default 3)"),
    )
    requests = args.requests or (400 if args.quick else 2000)
    users = args.users or (100 if args.quick else 500)
    stock = args.stock or (20 if args.quick else 100)
    concurrency = args.concurrency or (32 if args.quick else 64)
    count = args.bursts or 3

    with throwaway_database("flash_sale") as url:
        from django.db import connections

        from shoploop.tests.processes import child_env, free_port

        started = time.perf_counter()
        sales, tokens = _setup(buyers=users, stock=stock, sales=count)
        print(
            f"setup: {users} buyers with tokens, {count} sales in "
            f"{time.perf_counter() - started:.1f} s"
        )
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
        specs = [*(_web_spec(port, env) for port in ports), _worker_spec(queue)]
        with _processes(specs, env=env, log_dir=log_dir):
            print(f"two web processes and a worker ready (logs in {log_dir})", flush=True)
            client = Client(ports)
            warm = f"/api/v1/deals/flash-sales/{sales[0].public_id}"
            _run(client, 2 * concurrency, concurrency, lambda i: client.request(i, "GET", warm))
            rounds = _alternate(client, sales, tokens, requests=requests, concurrency=concurrency)
        statements = _statements(f"/api/v1/deals/flash-sales/{sales[0].public_id}", tokens[0])
        ok, errors = _check(rounds, sales, stock=stock, requests=requests, log_dir=log_dir)
        connections.close_all()
    gets, bursts = rounds["gets"], rounds["bursts"]
    # Each burst against the trivial GET rounds before and after it (their mean), so load that
    # drifts during the run cancels out; the printed figures are the medians over the bursts.
    ratios = [b["rps"] / ((gets[k]["rps"] + gets[k + 1]["rps"]) / 2) for k, b in enumerate(bursts)]
    sold_out_ratios = [
        b["sold_out_p50"] / ((gets[k]["p50"] + gets[k + 1]["p50"]) / 2)
        for k, b in enumerate(bursts)
    ]
    print("burst ratios " + ", ".join(f"{r:.3f}" for r in ratios))
    print("sold-out ratios " + ", ".join(f"{r:.3f}" for r in sold_out_ratios))
    summary(
        "flash_sale",
        bursts=len(bursts),
        rps=statistics.median(b["rps"] for b in bursts),
        p50_ms=statistics.median(b["p50"] for b in bursts),
        p99_ms=statistics.median(b["p99"] for b in bursts),
        errors=errors,
        sold=sum(b["sold"] for b in bursts),
        stock=stock * len(bursts),
        ratio=statistics.median(ratios),
        get_p50_ms=statistics.median(g["p50"] for g in gets),
        sold_out_p50_ms=statistics.median(b["sold_out_p50"] for b in bursts),
        sold_out_ratio=statistics.median(sold_out_ratios),
        get_statements=statements["get"],
        sold_out_statements=statements["sold_out"],
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
