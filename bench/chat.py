"""A community room fanned out over WebSockets: two ASGI web processes (uvicorn), PostgreSQL and
the Redis channel layer.

    python -m bench.chat            # 5,000 members, 50 then 500 connected clients
    python -m bench.chat --quick    # 300 members, 10 then 100 connected clients, < 30 s

It creates its own PostgreSQL database (``bench.support.throwaway_database``), a community and
its members through services (all members join; only some connect: members who are offline
must cost nothing), issues the connected members API tokens, starts two web processes and then,
for the small and then the large number of connected clients (split over both processes):

1. latency: one member sends a message (``POST /api/v1/chat/conversations/<room>/messages``) and
   the time until each connected client has received it over its WebSocket is recorded; repeated
   ``--rounds`` times (100; 20 with --quick), one message at a time: p50 and p99 over all
   deliveries;
2. throughput: ``--burst`` messages sent by several members at once; messages/s = messages ÷ the
   time until every client has every message (deliveries/s = that × clients);
3. memory per connection: growth of the two processes' resident memory ÷ connections added.

It also counts the SQL statements of one send in this room of N members and in a room of 3:
equal counts are what "offline members cost nothing" means. The last line is
``chat: key=value … ratio=…`` where ``ratio`` = p99 at the large ÷ p99 at the small number of
clients (target ≤ 3). The clients are ``websockets`` (asyncio) in this process.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from bench.support import ROOT, arguments, summary, throwaway_database

REDIS_URL = os.environ.get("SHOPLOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def _setup(*, members: int, connected: int, senders: int):
    """A community with ``members`` members (all joined through the service); tokens for the
    ``connected`` first ones and the ``senders``."""
    from shoploop.accounts import services as accounts
    from shoploop.accounts.models import User
    from shoploop.chat import services as chat
    from shoploop.communities import services as communities
    from shoploop.core import clock

    long_ago = clock.now() - timedelta(days=30)
    counter = iter(range(10_000_000))
    users = User.objects.bulk_create(
        [
            User(
                phone=f"+86137{next(counter):08d}",
                display_name=f"群友{n}",
                phone_verified_at=long_ago,
                date_joined=long_ago,
                password="!",
            )
            for n in range(members + 1)
        ]
    )
    owner, people = users[0], users[1:]
    community = communities.create_community(actor=owner, name="压测群", tags=["压测"])
    for person in people:
        communities.join_community(actor=person, community=community)
    room = chat.open_room(actor=owner, community=community)
    readers = people[:connected]
    tokens = [accounts.issue_api_token(user=u, name="bench").raw for u in readers]
    sender_tokens = [
        accounts.issue_api_token(user=u, name="bench").raw
        for u in people[connected : connected + senders]
    ]
    for person in people[connected : connected + senders]:
        chat.open_room(actor=person, community=community)
    return room, tokens, sender_tokens, owner


def _send_statements(room, owner) -> tuple[int, int]:
    """SQL statements of one send in the big room and in a room of three members."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shoploop.accounts.models import User
    from shoploop.chat import services as chat
    from shoploop.communities import services as communities

    def count(conversation, sender) -> int:
        chat.send_message(actor=sender, conversation=conversation, text="warm")
        with CaptureQueriesContext(connection) as queries:
            chat.send_message(actor=sender, conversation=conversation, text="count")
        return len(queries)

    big = count(room, owner)
    small_owner = User.objects.get(pk=owner.pk)
    small = communities.create_community(actor=small_owner, name="小群", tags=["压测"])
    for n in range(2):
        person = User.objects.create_user(f"+86136{n:08d}", display_name=f"小{n}")
        communities.join_community(actor=person, community=small)
    small_room = chat.open_room(actor=small_owner, community=small)
    return big, count(small_room, small_owner)


@contextmanager
def _web(port: int, env: dict, log_dir: str):
    log_path = os.path.join(log_dir, f"web-{port}.log")
    args = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "w") as log:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "Uvicorn running on" not in Path(log_path).read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"web {port} did not start:\n{Path(log_path).read_text()}")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Room:
    """The connected clients: each records when each message id arrived."""

    def __init__(self, ports, room_id):
        self.ports = ports
        self.room_id = room_id
        self.clients = []  # (websocket, arrivals: dict id → time, task)
        self.arrived = asyncio.Event()
        self.waiting_for: dict[str, int] = {}

    async def connect(self, tokens):
        import websockets

        async def one(index, token):
            port = self.ports[index % len(self.ports)]
            ws = await websockets.connect(
                f"ws://127.0.0.1:{port}/ws/chat/",
                additional_headers={"Authorization": f"Bearer {token}"},
                open_timeout=60,
                max_queue=None,
            )
            assert json.loads(await ws.recv())["type"] == "ready"
            await ws.send(json.dumps({"type": "subscribe", "conversation": self.room_id}))
            frame = json.loads(await ws.recv())
            assert frame["type"] == "subscribed", frame
            arrivals: dict[str, float] = {}
            task = asyncio.create_task(self._listen(ws, arrivals))
            self.clients.append((ws, arrivals, task))

        start = len(self.clients)
        semaphore = asyncio.Semaphore(50)

        async def limited(index, token):
            async with semaphore:
                await one(index, token)

        await asyncio.gather(*(limited(start + i, t) for i, t in enumerate(tokens)))

    async def _listen(self, ws, arrivals):
        async for raw in ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") != "message":
                continue
            message_id = frame["message"]["id"]
            arrivals[message_id] = now
            if message_id in self.waiting_for:
                self.waiting_for[message_id] -= 1
                if not any(self.waiting_for.values()):
                    self.arrived.set()

    async def wait_for(self, ids, timeout=60):
        self.waiting_for = {i: 0 for i in ids}
        for message_id in ids:
            self.waiting_for[message_id] = sum(
                1 for _ws, arrivals, _t in self.clients if message_id not in arrivals
            )
        if not any(self.waiting_for.values()):
            return
        self.arrived.clear()
        await asyncio.wait_for(self.arrived.wait(), timeout)

    async def close(self):
        for ws, _arrivals, task in self.clients:
            task.cancel()
            await ws.close()


def _post(port, room_id, token, text) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/chat/conversations/{room_id}/messages",
        data=json.dumps({"text": text}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["id"]


async def _latency(room: Room, ports, sender_tokens, rounds) -> tuple[list[float], list[tuple]]:
    """Every delivery's latency, and per round (POST answered, first delivery, last delivery)
    after the POST started: the spread between first and last is the fan-out's own cost, the
    POST is the send's."""
    latencies, per_round = [], []
    for n in range(rounds):
        token = sender_tokens[n % len(sender_tokens)]
        started = time.perf_counter()
        message_id = await asyncio.to_thread(_post, ports[n % 2], room.room_id, token, f"延迟 {n}")
        answered = time.perf_counter() - started
        await room.wait_for([message_id])
        round_latencies = [arrivals[message_id] - started for _ws, arrivals, _t in room.clients]
        latencies.extend(round_latencies)
        per_round.append((answered, min(round_latencies), max(round_latencies)))
    return latencies, per_round


async def _throughput(room: Room, ports, sender_tokens, burst) -> float:
    started = time.perf_counter()

    def send(n):
        return _post(ports[n % 2], room.room_id, sender_tokens[n % len(sender_tokens)], f"#{n}")

    ids = await asyncio.gather(*(asyncio.to_thread(send, n) for n in range(burst)))
    await room.wait_for(list(ids), timeout=120)
    return burst / (time.perf_counter() - started)


async def _measure(room, ports, tokens, sender_tokens, rounds, burst, processes):
    before = sum(_rss_kib(p.pid) for p in processes)
    await room.connect(tokens)
    await asyncio.sleep(0.5)
    after = sum(_rss_kib(p.pid) for p in processes)
    await _latency(room, ports, sender_tokens, 2)  # warm-up
    latencies, per_round = await _latency(room, ports, sender_tokens, rounds)
    rate = await _throughput(room, ports, sender_tokens, burst)
    return latencies, per_round, rate, (after - before) / max(1, len(tokens))


def _print_rounds(per_round) -> None:
    """The rounds in ms (POST answered / first delivery / last delivery): the median round and
    the five slowest by last delivery."""
    ordered = sorted(per_round, key=lambda r: r[2])
    cells = [f"{a * 1000:.0f}/{f * 1000:.0f}/{la * 1000:.0f}" for a, f, la in ordered]
    print(
        f"        rounds (POST/first/last ms): median {cells[len(cells) // 2]}; "
        f"slowest {' '.join(cells[-5:])}",
        flush=True,
    )


def main():
    args = arguments(
        __doc__.splitlines()[0],
        members=(int, None, "community members (default 5,000; 300 with --quick)"),
        clients=(int, None, "connected clients at the large size (default 500; 100 --quick)"),
        small=(int, None, "connected clients at the small size (default 50; 10 --quick)"),
        rounds=(int, None, "messages timed one at a time per size (default 100; 20 --quick)"),
        burst=(int, None, "messages sent at once for the throughput (default 100; 20 --quick)"),
    )
    members = args.members or (300 if args.quick else 5000)
    large = args.clients or (100 if args.quick else 500)
    small = args.small or (10 if args.quick else 50)
    # A p99 over N rounds is decided by the slowest N/100 rounds: with 20 it was the slowest
    # send, whatever the fan-out did (docs/benchmarks.md).
    rounds = args.rounds or (20 if args.quick else 100)
    burst = args.burst or (20 if args.quick else 100)
    senders = 10

    with throwaway_database("chat") as url:
        from django.db import connections

        from shoploop.tests.processes import child_env, free_port

        started = time.perf_counter()
        print("setting up…", flush=True)
        room, tokens, sender_tokens, owner = _setup(
            members=members, connected=large, senders=senders
        )
        statements_big, statements_small = _send_statements(room, owner)
        print(
            f"setup: {members} members, {large} tokens in {time.perf_counter() - started:.1f} s; "
            f"SQL statements per send: {statements_big} in this room, {statements_small} in a "
            "room of 3"
        )
        connections.close_all()
        env = child_env(
            SHOPLOOP_DATABASE_URL=url,
            SHOPLOOP_REDIS_URL=REDIS_URL,
            SHOPLOOP_DEBUG="0",
            SHOPLOOP_SSL_REDIRECT="0",
            SHOPLOOP_ALLOWED_HOSTS="127.0.0.1,localhost",
            SHOPLOOP_SECRET_KEY=os.environ["SHOPLOOP_SECRET_KEY"],
            SHOPLOOP_CHAT_MESSAGES_PER_MINUTE="100000",
        )
        layer = env.get("SHOPLOOP_CHANNEL_LAYER", "pubsub")
        ports = [free_port(), free_port()]
        log_dir = tempfile.mkdtemp(prefix="bench-chat-")
        with ExitStack() as stack:
            processes = [stack.enter_context(_web(port, env, log_dir)) for port in ports]
            print(f"two web processes ready ({layer} channel layer; logs in {log_dir})")

            async def run():
                results = {}
                live = Room(ports, room.public_id)
                try:
                    connected_tokens = []
                    for size in (small, large):
                        new = tokens[len(connected_tokens) : size]
                        connected_tokens += new
                        latencies, per_round, rate, per_connection = await _measure(
                            live, ports, new, sender_tokens, rounds, burst, processes
                        )
                        p50 = statistics.median(latencies) * 1000
                        p99 = _percentile(latencies, 0.99) * 1000
                        spread = statistics.median(last - first for _a, first, last in per_round)
                        results[size] = (p50, p99, rate, per_connection, spread * 1000)
                        print(
                            f"{size:>5} clients: delivery p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
                            f"{rate:.1f} messages/s ({rate * size:.0f} deliveries/s); "
                            f"{per_connection:.0f} KiB per connection",
                            flush=True,
                        )
                        _print_rounds(per_round)
                finally:
                    await live.close()
                return results

            results = asyncio.run(run())
        _p50_s, p99_s, _rate_s, _mem_s, spread_s = results[small]
        p50_l, p99_l, rate_l, mem_l, spread_l = results[large]
        summary(
            "chat",
            members=members,
            clients=large,
            p50_ms=p50_l,
            p99_ms=p99_l,
            messages_per_s=rate_l,
            deliveries_per_s=rate_l * large,
            kib_per_connection=mem_l,
            small_clients=small,
            small_p99_ms=p99_s,
            spread_p50_ms=spread_l,
            small_spread_p50_ms=spread_s,
            send_sql_big_room=statements_big,
            send_sql_small_room=statements_small,
            ratio=p99_l / p99_s if p99_s else float("nan"),
        )


if __name__ == "__main__":
    main()
