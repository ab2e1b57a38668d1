"""Share links and posters: redirects per second with the visit recorded, against a trivial view
on the same servers, and the time to draw a poster, cold and cached.

    python -m bench.share            # 5 rounds of 1,000 redirects, 20 posters
    python -m bench.share --quick    # 3 rounds of 150 redirects, 5 posters, < 30 s

On a throwaway PostgreSQL database (``bench.support.throwaway_database``) it makes a shop, a
published product and a sharer's link through services, then starts the servers of
``bench.flash_sale``: two ASGI web processes (``manage.py serve``, pooled connections) and Redis
(cache and rate limits). No Celery worker: nothing subscribes to ``referrals.link.visited``, so
a visit's event is written to the outbox already marked delivered. The web processes serve the
project's URLs plus a trivial view (``bench/share_urls.py``: ``GET /bench/trivial/<code>/``
reads the link by its code, one indexed read, and answers "ok", like ``bench.flash_sale``'s
trivial GET), so the baseline runs through the same server, middleware and pool as the link.
Once, for the reader, ``/bench/nothing/`` (no database at all) is measured too
(``nothing_rps``). And after each round of links, a round of the fair baseline,
``/bench/raw-visit/<code>/`` (another sharer's link): the same reads and rows written as a visit,
in plain SQL, with the same redirect and cookie; ``write_ratio`` = links ÷ that baseline (the
median of the per-round figures) says what the code costs beyond the rows it must write.

1. **Redirects.** ``GET /s/<code>/`` as new visitors (no cookie: each one is a signed-out person who
   scanned the poster), which records the visit (``ShareVisit`` row and the
   ``referrals.link.visited`` event in the outbox; the link's row is not written) and answers 302 to
   the product page with a signed cookie remembering the visit for a sign-up. Rounds alternate with
   the trivial GET (trivial, links, trivial, …, trivial) after a warm-up of each that is not
   counted, the trivial rounds ``--baseline-scale`` (3) times as long in requests so that every
   round lasts about as long; each round of links is compared with the mean of the trivial rounds on
   either side of it, and ``ratio`` is the median of these (target ≥ 0.5), as in
   ``bench.hot_group``. It checks that every link request was a 302 and that exactly that many
   visits and events were stored.
2. **Posters.** ``referrals.posters.poster_for`` (what ``/s/<code>/poster.png`` calls), in this
   process: ``cold`` draws the poster (picture card, title, price, sharer, QR code with Noto
   Sans CJK) and stores it in the media storage (a temporary directory); ``cached`` is the same
   link again, which finds the stored file. One link per sharer, so each cold poster is really
   drawn; p50 and max in milliseconds.

The last line is ``share: key=value … ratio=…``.
"""

import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack

from bench.flash_sale import REDIS_URL, Client, _log_problems, _process, _report, _run
from bench.support import arguments, summary, throwaway_database

# ``manage.py serve`` with the bench's URLconf (the project's URLs plus the trivial view).
_SERVE_WITH_TRIVIAL = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shoploop.settings")
django.setup()
from django.conf import settings
settings.ROOT_URLCONF = "bench.share_urls"
from django.core.management import call_command
call_command("serve", host="127.0.0.1", port=int(sys.argv[1]))
"""


def _setup(*, sharers: int):
    """Merchant, shop, a published product and ``sharers`` people with a link to it each."""
    from shoploop.accounts.models import User
    from shoploop.catalog import services as catalog
    from shoploop.core import clock
    from shoploop.referrals import services as referrals

    now = clock.now()
    counter = iter(range(10_000_000))

    def user(**extra):
        return User.objects.create_user(
            f"+86137{next(counter):08d}",
            display_name=f"分享达人{next(counter)}",
            phone_verified_at=now,
            **extra,
        )

    operator = user(is_staff=True, is_superuser=True)
    merchant = user()
    shop = catalog.approve_shop(
        shop=catalog.apply_for_shop(user=merchant, name="分享压测店", contact="wx bench"),
        actor=operator,
    )
    product = catalog.create_product(
        shop=shop,
        actor=merchant,
        title="云南古树普洱 357 克茶饼",
        description="",
        category="food",
    )
    catalog.add_sku(product=product, actor=merchant, options={}, price_fen=16800, stock=100)
    catalog.publish_product(product=product, actor=merchant)
    links = [
        referrals.create_share_link(
            sharer=user(), kind="product", target_public_id=product.public_id
        )
        for _ in range(sharers)
    ]
    return product, links


def _web(port, env, log_dir):
    args = [sys.executable, "-c", _SERVE_WITH_TRIVIAL, str(port)]
    return _process(args, env=env, marker="Uvicorn running on", log_dir=log_dir, name=f"web-{port}")


def _posters(links) -> tuple[list[float], list[float]]:
    from shoploop.referrals import posters

    posters.find_cjk_font()  # found once per process, not part of a poster
    cold, cached = [], []
    for label, times in (("cold", cold), ("cached", cached)):
        for link in links:
            url = f"https://shoploop.example/s/{link.code}/"
            started = time.perf_counter()
            stored = posters.poster_for(link=link, short_url=url)
            stored.read(16)
            stored.close()
            times.append((time.perf_counter() - started) * 1000)
            link.refresh_from_db()
        print(
            f"  posters {label}: p50 {statistics.median(times):.1f} ms, "
            f"max {max(times):.1f} ms ({len(times)} images)",
            flush=True,
        )
    return cold, cached


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        requests=(int, None, "link requests per round (default 1000; quick 150)"),
        rounds=(int, None, "rounds of links (default 5; quick 3)"),
        concurrency=(int, None, "client threads (default 32; quick 16)"),
        posters=(int, None, "posters drawn, cold then cached (default 20; quick 5)"),
        baseline_scale=(int, 3, "trivial requests per round, as a multiple of --requests"),
    )
    requests = args.requests or (150 if args.quick else 1000)
    rounds = args.rounds or (3 if args.quick else 5)
    concurrency = args.concurrency or (16 if args.quick else 32)
    poster_count = args.posters or (5 if args.quick else 20)
    media = tempfile.mkdtemp(prefix="bench-share-media-")
    os.environ["SHOPLOOP_MEDIA_ROOT"] = media
    with throwaway_database("share") as url:
        from django.db import connections

        from shoploop.core.models import OutboxEvent
        from shoploop.referrals.models import ShareVisit
        from shoploop.tests.processes import child_env, free_port

        started = time.perf_counter()
        _product, links = _setup(sharers=poster_count)
        link = links[0]
        print(
            f"share: {rounds} rounds of {requests} redirects at {concurrency} threads; "
            f"setup {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        connections.close_all()
        env = child_env(
            SHOPLOOP_DATABASE_URL=url,
            SHOPLOOP_REDIS_URL=REDIS_URL,
            SHOPLOOP_DEBUG="0",
            SHOPLOOP_SSL_REDIRECT="0",
            SHOPLOOP_ALLOWED_HOSTS="127.0.0.1,localhost",
            SHOPLOOP_SECRET_KEY=os.environ["SHOPLOOP_SECRET_KEY"],
            SHOPLOOP_MEDIA_ROOT=media,
        )
        ports = [free_port(), free_port()]
        log_dir = tempfile.mkdtemp(prefix="bench-share-")
        follow = f"/s/{link.code}/"
        with ExitStack() as stack:
            for port in ports:
                stack.enter_context(_web(port, env, log_dir))
            print(f"  two web processes ready (logs in {log_dir})", flush=True)
            client = Client(ports)

            trivial_path = f"/bench/trivial/{link.code}/"

            def trivial_round(count):
                return _run(
                    client, count, concurrency, lambda i: client.request(i, "GET", trivial_path)
                )

            def link_round(count):
                return _run(client, count, concurrency, lambda i: client.request(i, "GET", follow))

            raw_path = f"/bench/raw-visit/{links[1].code}/"

            def raw_round(count):
                return _run(
                    client, count, concurrency, lambda i: client.request(i, "GET", raw_path)
                )

            trivial_round(2 * concurrency)  # warm-up, not counted
            warm, _ = link_round(2 * concurrency)
            raw_round(2 * concurrency)
            counted_links = []
            trivial_rates, link_rates, ratios = [], [], []
            raw_rates, write_ratios = [], []
            # The trivial view is several times faster: its rounds are given more requests so
            # that every round lasts about as long (a short round measures the neighbours).
            trivial_requests = requests * args.baseline_scale
            outcomes, elapsed = trivial_round(trivial_requests)
            trivial_rates.append(_report("  trivial", outcomes, elapsed)[0])
            for _ in range(rounds):
                outcomes, elapsed = link_round(requests)
                counted_links.extend(outcomes)
                link_rates.append(_report("  link   ", outcomes, elapsed)[0])
                outcomes, elapsed = raw_round(requests)
                raw_rates.append(_report("  raw    ", outcomes, elapsed)[0])
                write_ratios.append(link_rates[-1] / raw_rates[-1])
                outcomes, elapsed = trivial_round(trivial_requests)
                trivial_rates.append(_report("  trivial", outcomes, elapsed)[0])
                ratios.append(link_rates[-1] / ((trivial_rates[-2] + trivial_rates[-1]) / 2))
            print(f"  per-round ratios: {' '.join(f'{r:.3f}' for r in ratios)}", flush=True)
            print(f"  links ÷ raw writes: {' '.join(f'{r:.3f}' for r in write_ratios)}", flush=True)
            # For the reader: the same servers answering without any database work at all.
            outcomes, elapsed = _run(
                client, requests, concurrency, lambda i: client.request(i, "GET", "/bench/nothing/")
            )
            nothing_rps = _report("  nothing", outcomes, elapsed)[0]
        statuses = [status for status, _, _ in warm + counted_links]
        redirects = sum(1 for status in statuses if status == 302)
        visits = ShareVisit.objects.filter(link=link).count()
        events = OutboxEvent.objects.filter(
            name="referrals.link.visited", payload__link_public_id=link.code
        ).count()
        errors = len(statuses) - redirects
        ok = errors == 0 and visits == events == redirects
        print(
            f"  check: {redirects} redirects of {len(statuses)}, {visits} visits stored, "
            f"{events} events{'' if ok else '  FAILED'}",
            flush=True,
        )
        if errors:
            _log_problems(log_dir)
        cold, cached = _posters(links)
        connections.close_all()
    summary(
        "share",
        requests=requests,
        rounds=rounds,
        link_rps=statistics.median(link_rates),
        trivial_rps=statistics.median(trivial_rates),
        nothing_rps=nothing_rps,
        raw_rps=statistics.median(raw_rates),
        write_ratio=statistics.median(write_ratios),
        errors=errors,
        visits=visits,
        poster_cold_ms=statistics.median(cold),
        poster_cold_max_ms=max(cold),
        poster_cached_ms=statistics.median(cached),
        poster_cached_max_ms=max(cached),
        ratio=statistics.median(ratios),
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
