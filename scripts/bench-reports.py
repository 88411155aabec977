#!/usr/bin/env python3
"""How long the reports page's figures take over 100,000 support
conversations (issue 26), on SQLite with a release build.

A year of history is written straight into a fresh database (the server
stopped; rows as the message writer leaves them: plain-text bodies, status
events, ratings): 50,000 customers, one conversation with each of the two
departments, each asked, claimed, answered and (nine in ten) resolved, one
in ten of those reopened, answered and resolved again, three in ten rated.
Then the server (pinned to core 0) answers the `reports` server function
for the last 30 days and for the whole year, five times each, asked from
core 1; the medians are printed. Usage: scripts/bench-reports.py [COUNT]
"""

import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "glasschat")
DAY = 86_400_000
MIN = 60_000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(db_url, port, log):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        GLASSCHAT_ADDR=f"127.0.0.1:{port}",
        GLASSCHAT_WORKERS="1",
        GLASSCHAT_LOOKUP_RATE="1000000/1",
        RUST_LOG="warn",
    )
    server = subprocess.Popen(["taskset", "-c", "0", BINARY], env=env, stdout=log, stderr=log)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def post(base, path, form, cookie=None):
    data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(base + path, data=data, method="POST")
    req.add_header("Origin", base)
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    if cookie:
        req.add_header("Cookie", f"glasschat_session={cookie}")
    with urllib.request.urlopen(req) as reply:
        body = reply.read()
        cookies = reply.headers.get_all("Set-Cookie") or []
    session = next((c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith("glasschat_session=")), None)
    return body, session


def seed(path, customers, now):
    random.seed(26)
    db = sqlite3.connect(path)
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("PRAGMA synchronous = OFF")
    cur = db.cursor()
    departments = [row[0] for row in cur.execute("SELECT id FROM departments ORDER BY id LIMIT 2")]
    agents = []
    for k in range(10):
        cur.execute(
            "INSERT INTO users (email, display_name, password_hash, role, created_at) VALUES (?, ?, 'x', 'agent', 0)",
            (f"agent{k}@bench.test", f"Agent {k}"),
        )
        agents.append(cur.lastrowid)
        cur.execute("INSERT INTO agent_departments (user_id, department_id) VALUES (?, ?)", (cur.lastrowid, departments[k % 2]))
    messages, events, ratings = [], [], []
    conversations = 0
    for c in range(customers):
        cur.execute(
            "INSERT INTO users (email, display_name, password_hash, role, created_at) VALUES (?, ?, 'x', 'member', 0)",
            (f"c{c}@bench.test", f"Customer {c}"),
        )
        customer = cur.lastrowid
        for department in departments:
            t = now - random.randint(0, 365 * DAY)
            agent = random.choice(agents)
            resolved = random.random() < 0.9
            reopened = resolved and random.random() < 0.1
            cur.execute(
                "INSERT INTO rooms (kind, support_user_id, department_id, support_status, assignee_id, created_by, created_at, last_activity)"
                " VALUES ('support', ?, ?, ?, ?, ?, ?, ?)",
                (customer, department, "resolved" if resolved else "open", agent, customer, t, t),
            )
            room = cur.lastrowid
            conversations += 1
            cur.execute("INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)", (room, customer, t))
            seq, texts = 0, 0
            events.append((room, 0, "created", t, department, None, customer))

            def say(who, at, text):
                nonlocal seq, texts
                seq += 1
                texts += 1
                messages.append((room, seq, who, f"b{room}-{seq}", "text", text.encode(), at, texts))

            def line(kind, at, actor, assignee, event):
                nonlocal seq
                seq += 1
                messages.append((room, seq, actor, None, "system", json.dumps(event).encode(), at, texts))
                events.append((room, seq, kind, at, department, assignee, actor))

            at = t
            say(customer, at, "Where is my order?")
            at += random.randint(1, 30) * MIN
            line("claimed", at, agent, agent, {"event": "claimed", "name": "Agent"})
            at += random.randint(1, 120) * MIN
            say(agent, at, "It ships today.")
            if resolved:
                at += random.randint(60, 2 * 24 * 60) * MIN
                line("resolved", at, agent, agent, {"event": "resolved", "by": "Agent"})
                if random.random() < 0.3:
                    ratings.append((room, seq, customer, department, agent, random.randint(1, 5), at + 5 * MIN))
            if reopened:
                at += DAY
                say(customer, at, "It did not come.")
                line("reopened", at, customer, agent, {"event": "reopened", "by": "Customer"})
                at += random.randint(5, 60) * MIN
                say(agent, at, "Sending another.")
                at += random.randint(60, 600) * MIN
                line("resolved", at, agent, agent, {"event": "resolved", "by": "Agent"})
    cur.executemany(
        "INSERT INTO messages (room_id, seq, sender_id, client_id, kind, body, created_at, text_rank) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        messages,
    )
    cur.executemany(
        "INSERT INTO support_events (room_id, seq, kind, at, department_id, agent_id, actor_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        events,
    )
    cur.executemany(
        "INSERT INTO ratings (room_id, resolved_seq, user_id, department_id, agent_id, score, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ratings,
    )
    db.commit()
    db.close()
    return conversations, len(messages), len(events), len(ratings)


def main():
    customers = int(sys.argv[1]) // 2 if len(sys.argv) > 1 else 50_000
    if not os.path.exists(BINARY):
        raise SystemExit("build first: cargo build --release --no-default-features --features ssr --bin glasschat")
    work = tempfile.mkdtemp(prefix="glasschat-bench-reports.")
    path = os.path.join(work, "reports.db")
    url = f"sqlite://{path}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(work, "server.log"), "w")
    server = start(url, port, log)
    post(base, "/api/signup", {"email": "root@bench.test", "display_name": "Root", "password": "correct horse battery"})
    server.terminate()
    server.wait()
    now = int(time.time() * 1000)
    began = time.time()
    conversations, messages, events, ratings = seed(path, customers, now)
    print(f"REPORTS seeded {conversations} conversations, {messages} messages, {events} status events, {ratings} ratings in {time.time() - began:.1f} s")
    server = start(url, port, log)
    try:
        _, cookie = post(base, "/api/login", {"email": "root@bench.test", "password": "correct horse battery"})
        os.sched_setaffinity(0, {1})
        today = time.strftime("%Y-%m-%d", time.gmtime(now / 1000))
        for label, days in (("30 days", 30), ("365 days", 365)):
            first = time.strftime("%Y-%m-%d", time.gmtime(now / 1000 - (days - 1) * 86_400))
            form = {"from": first, "to": today, "offset": "0", "department": "0", "agent": "0"}
            times = []
            for _ in range(6):
                began = time.perf_counter()
                body, _ = post(base, "/api/reports", form, cookie)
                times.append((time.perf_counter() - began) * 1000)
            report = json.loads(body)
            total = report["total"]
            runs = times[1:]  # the first warms the page cache
            print(
                f"REPORTS {label}: median {statistics.median(runs):.0f} ms (runs {', '.join(f'{t:.0f}' for t in runs)});"
                f" started {total['started']}, first responses {total['first_responses']}, resolved {total['resolved']},"
                f" open at the end {total['open_at_end']}, ratings {total['ratings']}"
            )
    finally:
        server.terminate()
        server.wait()
        log.close()
        subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    main()
