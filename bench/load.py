"""Answers under load: Polso's answer paths against a bare-INSERT floor, then the stored count checked.

    .venv/bin/python bench/load.py --employees 2000 --clients 50 --database sqlite
    .venv/bin/python bench/load.py --employees 2000 --clients 50 200 --database postgres

In a fresh database (an SQLite file in a temporary directory, or a PostgreSQL database
``polso_bench_<random>`` on ``--postgres-server``, dropped afterwards) it migrates, seeds an organisation
of ``--employees`` people with ``flask demo seed --weeks 0``, and opens one round for everyone per phase
(``surveys.rounds.open_round_now``): each active employee holds an open invitation in each, an API token
and a personal link. It then serves Polso with gunicorn on loopback as the README recommends
(``--workers``, sync workers), and the bare-INSERT floor (``bench/floor.py``) under the same settings, and
for each ``--clients`` count, with that many threads:

- **floor**: one ``POST /answer`` per invitation (one INSERT in a transaction);
- **api**: every invitation answered through ``POST /api/v1/rounds/<id>/responses`` with a bearer token;
- **form**: every invitation answered through its personal link: ``GET /s/<token>``, then the form's
  ``POST /s/answer`` (CSRF token and session cookie as a browser sends them).

It prints answers per second, p50/p95/p99 latency, errors by status and the ratio to the floor at the same
client count. Then it checks the database: per round, stored answers (waiting ballots plus mixed
responses) and answered invitations must equal the successes (201, or the form's redirect to the thank-you
page), so every success is stored once and nothing else is. Last, for ``--duplicates`` invitations of
their own round, 2-5 copies of the same answer (API and form alternately) are released at once: exactly
one may be stored each. With ``--profile N``, N API answers are then profiled in-process (cProfile),
with the SQL statements each one runs.

Every loop is bounded by its count and by ``--phase-seconds``; all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import hashlib
import http.client
import io
import json
import os
import pstats
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import floor  # noqa: E402

HOST = "127.0.0.1"
QUESTIONS = ("enps", "recognition_valued", "growth_learning", "manager_support_feedback", "workload_manageable")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SECRET_KEY = "bench-load-" + secrets.token_hex(16)


# --- The scratch database -----------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(kind: str, server: str):
    """A fresh database URL, removed afterwards: an SQLite file, or ``polso_bench_<random>`` on ``server``."""
    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="polso-load-")
        try:
            yield f"sqlite:///{directory}/polso.sqlite3"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    url = sa.make_url(server)
    if url.host not in (HOST, "localhost"):
        raise SystemExit("--postgres-server must be on loopback")
    name = f"polso_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def polso_app(url: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY, "MAIL_SERVER": None,
                       "POLSO_BASE_URL": f"http://{HOST}"})


def build(url: str, employees: int, phases: list[str]) -> dict:
    """Migrate, seed ``employees`` people, and open one round for everyone per phase; return the plan:
    per phase its round, questions and invitations (id, API token, personal-link token)."""
    from flask_migrate import upgrade

    from extensions import db
    from people.models import ApiToken
    from surveys import building, links, rounds
    from surveys.models import Invitation

    app = polso_app(url)
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["demo", "seed", "--employees", str(employees), "--weeks", "0"])
        if result.exit_code != 0:
            raise RuntimeError(f"demo seed failed: {result.output}{result.exception!r}")
        now = datetime.now(UTC)
        plan: dict = {"phases": {}}
        tokens: dict[int, str] = {}
        for phase in phases:
            survey = building.create_survey({
                "title": f"Load {phase}", "cadence": "once", "open_days": 7,
                "questions": [{"library_key": key, "required": key == "enps"} for key in QUESTIONS]
                + [{"kind": "text", "text": "Anything you would like to add?"}]}, now)
            round_ = rounds.open_round_now(survey, now)
            invited = db.session.execute(sa.select(Invitation.id, Invitation.person_id)
                                         .where(Invitation.round_id == round_.id).order_by(Invitation.id)).all()
            for _id, person_id in invited:
                if person_id not in tokens:
                    # As people.signin.issue_api_token makes them, in one transaction instead of one each.
                    raw = secrets.token_urlsafe(32)
                    db.session.add(ApiToken(person_id=person_id, token_hash=token_hash(raw), created_at=now,
                                            expires_at=now + timedelta(days=30)))
                    tokens[person_id] = raw
            invitations = [(invitation_id, tokens[person_id], links.new_token(invitation_id))
                           for invitation_id, person_id in invited]
            db.session.commit()
            questions = [(q.id, q.kind) for q in survey.questions]
            plan["phases"][phase] = {"round": round_.id, "questions": questions, "invitations": invitations}
        db.session.remove()
        db.engine.dispose()
    return plan


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# --- Serving ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def serve(app_spec: str, env: dict, args, log: Path) -> tuple[subprocess.Popen, int]:
    """gunicorn on a free loopback port with the settings under test; waits until it answers."""
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "--workers", str(args.workers), "--threads", str(args.threads),
               "--timeout", "30", "--bind", f"{HOST}:{port}", app_spec]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _headers, _body = request(port, "GET", "/")
            if status:
                return server, port
        except OSError:
            time.sleep(0.2)
        if server.poll() is not None:
            break
    server.kill()
    raise RuntimeError(f"{app_spec} did not start; see {log}")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, list, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


# --- One answer each way --------------------------------------------------------------------


def answers_for(questions: list, rng: random.Random) -> dict[int, object]:
    values: dict[int, object] = {}
    for qid, kind in questions:
        if kind == "enps":
            values[qid] = rng.randint(0, 10)
        elif kind == "likert":
            values[qid] = rng.randint(1, 5)
        elif kind == "text" and rng.random() < 0.3:
            values[qid] = "More clarity on priorities would help."
    return values


def api_answer(port: int, round_id: int, token: str, values: dict) -> int:
    body = json.dumps({"answers": [{"question_id": q, "value": v} for q, v in values.items()]}).encode()
    status, _headers, _body = request(port, "POST", f"/api/v1/rounds/{round_id}/responses", body,
                                      {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return status


def form_open(port: int, link: str) -> tuple[int, str | None, str | None]:
    """The personal link's page: (status, CSRF token, session cookie)."""
    status, headers, body = request(port, "GET", f"/s/{link}")
    found = CSRF.search(body.decode(errors="replace"))
    cookies = [value.split(";", 1)[0] for name, value in headers if name.lower() == "set-cookie"]
    return status, found.group(1) if found else None, "; ".join(cookies) or None


def form_post(port: int, link: str, csrf: str | None, cookie: str | None, values: dict) -> int:
    fields = {"token": link, "csrf_token": csrf or "", **{f"q{q}": str(v) for q, v in values.items()}}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = cookie
    status, response_headers, _body = request(port, "POST", "/s/answer", urllib.parse.urlencode(fields).encode(),
                                              headers)
    location = {k.lower(): v for k, v in response_headers}.get("location", "")
    # Success is the redirect to the thank-you page; any other redirect is counted apart.
    if status == 302:
        return 201 if location.endswith("/s/thanks") else f"302 to {urllib.parse.urlsplit(location).path}"
    return status


def form_answer(port: int, link: str, values: dict) -> int:
    status, csrf, cookie = form_open(port, link)
    if status != 200:
        return status
    return form_post(port, link, csrf, cookie, values)


# --- A phase: every job once, with ``clients`` threads ---------------------------------------


def run_phase(jobs: list, clients: int, seconds: float) -> dict:
    """Run each job (a callable returning a status, 201 for a stored answer) once, ``clients`` at a time."""
    results: list = []
    lock = threading.Lock()
    todo = iter(jobs)
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                job = next(todo, None)
            if job is None:
                return
            started = time.perf_counter()
            try:
                status = job()
            except OSError as error:
                status = f"{type(error).__name__}"
            elapsed = time.perf_counter() - started
            with lock:
                results.append((status, elapsed))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 70))
    wall = time.perf_counter() - started
    latencies = sorted(elapsed for _status, elapsed in results)
    ok = sum(1 for status, _elapsed in results if status == 201)
    errors = collections.Counter(str(status) for status, _elapsed in results if status != 201)
    not_run = len(jobs) - len(results)
    if not_run:
        errors["not run (time bound)"] = not_run
    return {"sent": len(results), "ok": ok, "wall": wall, "rate": ok / wall if wall else 0.0,
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
            "errors": dict(errors)}


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    return 1000 * ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def duplicates(port: int, phase: dict, count: int, rng: random.Random, seconds: float) -> dict:
    """For ``count`` invitations, 2-5 copies of one answer at once (API and form alternately), ten
    invitations at a time; returns the successes per invitation and the statuses seen."""
    successes: dict[int, int] = {}
    statuses: collections.Counter = collections.Counter()
    deadline = time.monotonic() + seconds
    chosen = phase["invitations"][:count]
    for start in range(0, len(chosen), 10):
        if time.monotonic() > deadline:
            break
        calls = []
        for invitation_id, api_token, link in chosen[start:start + 10]:
            values = answers_for(phase["questions"], rng)
            copies = rng.randint(2, 5)
            for copy in range(copies):
                if copy % 2 == 0:
                    calls.append((invitation_id, lambda t=api_token, v=values: api_answer(port, phase["round"], t, v)))
                else:
                    opened = form_open(port, link)  # the page first, so that only the posts race
                    calls.append((invitation_id, lambda lk=link, o=opened, v=values:
                                  form_post(port, lk, o[1], o[2], v) if o[0] == 200 else o[0]))
            for invitation_id, _api_token, _link in chosen[start:start + 10]:
                successes.setdefault(invitation_id, 0)
        barrier = threading.Barrier(len(calls))
        lock = threading.Lock()

        def fire(invitation_id: int, call, barrier=barrier, lock=lock) -> None:
            barrier.wait(timeout=30)
            try:
                status = call()
            except OSError as error:
                status = type(error).__name__
            with lock:
                statuses[str(status)] += 1
                if status == 201:
                    successes[invitation_id] += 1

        threads = [threading.Thread(target=fire, args=call, daemon=True) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
    return {"successes": successes, "statuses": dict(statuses)}


# --- Accounting -----------------------------------------------------------------------------


def stored(url: str) -> dict[int, tuple[int, int]]:
    """Per round: (answers stored: waiting ballots plus mixed responses, invitations marked answered)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        def per_round(sql: str) -> dict[int, int]:
            return dict(connection.exec_driver_sql(sql).all())

        ballots = per_round("SELECT round_id, count(*) FROM ballots GROUP BY round_id")
        responses = per_round("SELECT round_id, count(*) FROM responses GROUP BY round_id")
        answered = per_round("SELECT round_id, count(*) FROM invitations WHERE answered GROUP BY round_id")
    engine.dispose()
    rounds = set(ballots) | set(responses) | set(answered)
    return {r: (ballots.get(r, 0) + responses.get(r, 0), answered.get(r, 0)) for r in rounds}


def profile(url: str, phase: dict, count: int) -> str:
    """``count`` API answers through the app in this process, one at a time: the first half timed (wall clock,
    and the time spent in the driver's statement calls and commits), the second half under cProfile; returns
    the timings, the statements one answer runs and the top of the profile."""
    from extensions import db

    app = polso_app(url)
    client = app.test_client()
    rng = random.Random(3)
    statements: list[str] = []
    in_database = [0.0]
    began: list[float] = []

    def before(*_args) -> None:
        began.append(time.perf_counter())

    def after(_conn, _cursor, statement, *_args) -> None:
        in_database[0] += time.perf_counter() - began.pop()
        statements.append(statement)

    def timed_commit(commit):
        def wrapped(self, dbapi_connection):
            started = time.perf_counter()
            try:
                return commit(self, dbapi_connection)
            finally:
                in_database[0] += time.perf_counter() - started
        return wrapped

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", before)
        sa.event.listen(db.engine, "after_cursor_execute", after)
        dialect = type(db.engine.dialect)
    dialect.do_commit = timed_commit(dialect.do_commit)

    def answer(token: str) -> int:
        values = answers_for(phase["questions"], rng)
        body = {"answers": [{"question_id": q, "value": v} for q, v in values.items()]}
        return client.post(f"/api/v1/rounds/{phase['round']}/responses", json=body,
                           headers={"Authorization": f"Bearer {token}"}).status_code

    jobs = [token for _id, token, _link in phase["invitations"][:count]]
    timed, profiled = jobs[:count // 2], jobs[count // 2:]
    statuses: collections.Counter = collections.Counter()
    statuses[answer(timed[0])] += 1  # the first answer of a process warms its caches
    statements.clear()
    in_database[0] = 0.0
    started = time.perf_counter()
    for token in timed[1:]:
        statuses[answer(token)] += 1
    wall = (time.perf_counter() - started) / max(1, len(timed) - 1)
    one = statements[:len(statements) // max(1, len(timed) - 1)]
    database = in_database[0] / max(1, len(timed) - 1)
    profiler = cProfile.Profile()
    for token in profiled:
        profiler.enable()
        statuses[answer(token)] += 1
        profiler.disable()
    out = io.StringIO()
    out.write(f"{len(timed) - 1} API answers in-process, one at a time: {1000 * wall:.2f} ms each, of which "
              f"{1000 * database:.2f} ms in the driver's statements and commit, {1000 * (wall - database):.2f} ms "
              f"in Python; statuses {dict(statuses)}\n")
    out.write(f"Statements of one answer ({len(one)}):\n")
    for statement in one:
        out.write("  " + " ".join(statement.split())[:160] + "\n")
    out.write(f"cProfile of {len(profiled)} more:\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    with app.app_context():
        db.engine.dispose()
    return out.getvalue()


# --- The run --------------------------------------------------------------------------------


def row(name: str, clients: int, result: dict, floor_rate: float | None) -> str:
    ratio = f"{result['rate'] / floor_rate:.2f}x" if floor_rate else "-"
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(result["errors"].items())) or "none"
    return (f"{name:<6} {clients:>4} {result['ok']:>6} {result['rate']:>8.1f} {result['p50']:>8.1f} "
            f"{result['p95']:>8.1f} {result['p99']:>8.1f} {ratio:>7}  {errors}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="where to create (and drop) the scratch database; loopback only")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (README: 4)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--paths", nargs="+", choices=("api", "form"), default=["api", "form"])
    parser.add_argument("--duplicates", type=int, default=200, help="invitations sent 2-5 times at once")
    parser.add_argument("--profile", type=int, default=0, help="profile this many API answers in-process")
    parser.add_argument("--phase-seconds", type=float, default=300, help="time bound of each phase")
    args = parser.parse_args()
    if args.profile and args.profile < 6:
        parser.error("--profile needs at least 6 answers")
    if not 20 <= args.employees <= 200_000 or not all(1 <= c <= 1000 for c in args.clients):
        parser.error("--employees must be within 20..200000 and --clients within 1..1000")

    phases = [f"{path}{clients}" for clients in args.clients for path in args.paths]
    phases += ["duplicates"] * bool(args.duplicates) + ["profile"] * bool(args.profile)
    rng = random.Random(1)
    with scratch_database(args.database, args.postgres_server) as url:
        started = time.perf_counter()
        plan = build(url, args.employees, phases)
        invited = len(next(iter(plan["phases"].values()))["invitations"])
        print(f"{args.database}: {args.employees} people, {invited} invited per round, {len(phases)} rounds, "
              f"built in {time.perf_counter() - started:.1f} s; gunicorn --workers {args.workers} "
              f"--threads {args.threads} (sync)", flush=True)
        floor.create_table(url)
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "POLSO_BASE_URL": f"http://{HOST}",
               "MAIL_SERVER": ""}
        log = Path(tempfile.gettempdir()) / f"polso-load-{os.getpid()}.log"
        polso, polso_port = serve("app:create_app()", env, args, log)
        bare, floor_port = serve("bench.floor:create_app()", env, args, log)
        results: list[tuple[str, int, dict, float | None]] = []
        floor_ok = 0
        dup = None
        try:
            print(f"{'path':<6} {'clients':>4} {'stored':>6} {'answers/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
                  f"{'p99 ms':>8} {'floor':>7}  errors by status", flush=True)
            for clients in args.clients:
                sample = next(iter(plan["phases"].values()))
                values = answers_for(sample["questions"], rng)
                body = json.dumps({"answers": [{"question_id": q, "value": v} for q, v in values.items()]}).encode()
                headers = {"Content-Type": "application/json"}
                jobs = [lambda b=body, h=headers: request(floor_port, "POST", "/answer", b, h)[0]] * invited
                floor_result = run_phase(jobs, clients, args.phase_seconds)
                floor_ok += floor_result["ok"]
                results.append(("floor", clients, floor_result, None))
                print(row("floor", clients, floor_result, None), flush=True)
                for path in args.paths:
                    phase = plan["phases"][f"{path}{clients}"]
                    answer = api_answer if path == "api" else None
                    jobs = []
                    for _id, token, link in phase["invitations"]:
                        values = answers_for(phase["questions"], rng)
                        if answer:
                            jobs.append(lambda t=token, v=values, r=phase["round"]: api_answer(polso_port, r, t, v))
                        else:
                            jobs.append(lambda lk=link, v=values: form_answer(polso_port, lk, v))
                    result = run_phase(jobs, clients, args.phase_seconds)
                    phase["result"] = result
                    results.append((path, clients, result, floor_result["rate"]))
                    print(row(path, clients, result, floor_result["rate"]), flush=True)
            if args.duplicates:
                dup = duplicates(polso_port, plan["phases"]["duplicates"], args.duplicates, rng, args.phase_seconds)
        finally:
            stop(polso)
            stop(bare)

        failures = []
        counts = stored(url)
        print("\nStored (waiting ballots + mixed responses) against successes, per round:")
        for name, phase in plan["phases"].items():
            if name in ("duplicates", "profile"):
                continue
            got, answered = counts.get(phase["round"], (0, 0))
            ok = phase.get("result", {}).get("ok", 0)
            verdict = "ok" if got == ok == answered else "MISMATCH"
            failures += [name] * (verdict != "ok")
            print(f"  {verdict:<8} {name:<10} successes {ok}, stored {got}, invitations answered {answered}")
        floor_rows = floor.count(url)
        verdict = "ok" if floor_rows == floor_ok else "MISMATCH"
        failures += ["floor"] * (verdict != "ok")
        print(f"  {verdict:<8} {'floor':<10} successes {floor_ok}, rows {floor_rows}")
        if dup is not None:
            phase = plan["phases"]["duplicates"]
            got, answered = counts.get(phase["round"], (0, 0))
            once = sum(1 for n in dup["successes"].values() if n == 1)
            tried = len(dup["successes"])
            verdict = "ok" if once == tried == got == answered else "MISMATCH"
            failures += ["duplicates"] * (verdict != "ok")
            print(f"  {verdict:<8} duplicates {tried} invitations sent 2-5 times at once: {once} succeeded exactly "
                  f"once, stored {got}, invitations answered {answered}; statuses {dup['statuses']}")
        if args.profile:
            print("\n" + profile(url, plan["phases"]["profile"], args.profile))
        print(f"\nserver log: {log}")
    if failures:
        print(f"FAILED: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
