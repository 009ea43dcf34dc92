"""A large organisation on PostgreSQL: seed, HR pages and APIs under gunicorn, worker memory, and the tick.

    .venv/bin/python bench/scale.py                                  # 100,000 employees x 52 weeks
    .venv/bin/python bench/scale.py --sizes 10000 100000 --weeks 52  # the 10,000 baseline in the same run
    .venv/bin/python bench/scale.py --sizes 500 --weeks 4            # a quick try
    .venv/bin/python bench/scale.py --database polso_scale_00010000 polso_scale_00100000 --phases pages

For each size, in a fresh database ``polso_scale_<random>`` on ``--server`` (loopback only; dropped at the
end unless ``--keep``):

1. ``flask db upgrade``, then ``flask demo seed --employees N --weeks W`` (COPY on PostgreSQL), timed as a
   process; prints the seed's own line, ``pg_database_size`` and the largest tables, then runs ``ANALYZE``
   (as autovacuum would soon after a bulk load; timed apart).
2. Serves the checkout with gunicorn (``--workers``, sync, loopback, ``POLSO_ENV=production``), signs in as
   ``hr@polso.example`` through ``POST /login`` (CSRF token and session cookie as a browser sends them) and
   takes an API token from ``POST /api/v1/auth/token``; then, after two warm-up requests each, times
   ``--repeat`` requests of: ``/results`` (company), ``/results?department=<Engineering>``,
   ``GET /api/v1/surveys/<pulse>/trend?group_by=department``, ``GET /api/v1/rounds/<latest>/results``,
   ``/results/export.csv``. Prints median and p95 (client wall clock over loopback) and the body size.
3. Requests ``/results`` ``--pages`` times more and prints each worker's RSS (``ps -o rss``) before and after.
4. The tick, each ``flask --app app pulses tick`` timed as a process, with the outbox on a closed loopback
   SMTP port (so invitations are queued and the send step gives up at its first batch; sending is not
   measured). The demo's weekly pulse is archived first, so that only the new survey opens:
   a. ``tick``: nothing to open (the other features' due work and the process start; a floor);
   b. a new weekly survey (the pulse's questions) whose round is due now for everyone; ``tick`` opens it:
      invitations and their e-mails into the outbox;
   c. ``tick`` again, nothing due: the floor once more;
   d. ``--answer-share`` of the invitations answered in this process (``--answer-mode``: ``batch``, the rows
      ``surveys.answering.submit_response`` writes, i.e. the invitation claimed and ``surveys.ballots.cast``,
      500 to a transaction; or ``submit``, ``submit_response`` itself, one transaction each);
   e. ``tick --now <closes - 2 min>``: the reminders of those who did not answer, into the outbox (skipped
      with ``--no-remind``);
   f. ``tick --now <closes + 1 min>``: closes the round (the last mixing, which writes the round's whole
      response store again, the tally and the anonymity guard, the managers' "results ready" notices),
      then checks that every answer is stored once.

With several ``--sizes`` it ends with a table of each figure at each size, the ratio of the largest to the
smallest, and the issue's targets (pages and APIs at most 2x the 10,000 figures, opening and closing a round
within 60 s, no worker over 300 MB after the results pages). ``--database NAME ...`` skips seeding and runs
``--phases`` (``pages``, ``ticks``; the ticks alone by default) on databases kept by an earlier run, so the
pages' figures can be taken again in minutes. ``--sql-top N`` also runs each request once in
this process and prints its N slowest SQL statements (to find missing indexes); ``--profile-ticks`` runs the
ticks under cProfile (slower) and prints the top of each profile.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

HOST = "127.0.0.1"
HR_EMAIL, PASSWORD = "hr@polso.example", "polso-demo"
SECRET_KEY = "bench-scale-" + secrets.token_hex(16)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PULSE_QUESTIONS = ("enps", "recognition_valued", "growth_learning", "manager_support_feedback", "workload_manageable")
REQUESTS = ("results_company", "results_department", "trend_by_department", "round_results", "export_csv")
TARGET_RATIO, TARGET_TICK_S, TARGET_RSS_MB = 2.0, 60.0, 300.0


def log(message: str) -> None:
    print(message, flush=True)


# --- The scratch database -------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(server: str, keep: bool):
    """A fresh ``polso_scale_<random>`` on ``server`` (loopback only), dropped afterwards unless ``keep``."""
    url = sa.make_url(server)
    if url.host not in (HOST, "localhost"):
        raise SystemExit("--server must be on loopback")
    name = f"polso_scale_{secrets.token_hex(4)}"
    assert re.fullmatch(r"polso_scale_[0-9a-f]{8}", name)  # never test, never polso_t%
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield name, url.set(database=name).render_as_string(hide_password=False)
    finally:
        if keep:
            log(f"kept database {name}")
        else:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def sql(url: str, statement: str, **params):
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            result = connection.execute(sa.text(statement), params)
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def database_size(url: str) -> tuple[int, list[tuple[str, int]]]:
    total = sql(url, "SELECT pg_database_size(current_database())")[0][0]
    tables = sql(url, "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public' "
                      "ORDER BY 2 DESC LIMIT 6")
    return total, [(name, size) for name, size in tables]


def mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


# --- Processes --------------------------------------------------------------------------------


def environment(url: str, **extra: str) -> dict:
    return {**os.environ, "POLSO_ENV": "production", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": url,
            "POLSO_BASE_URL": f"http://{HOST}", "MAIL_SERVER": "", **extra}


def flask(env: dict, *args: str, profile: Path | None = None) -> tuple[float, str]:
    """Run ``flask --app app ARGS`` to its end; returns (seconds of wall clock, its output)."""
    prefix = [sys.executable] + (["-m", "cProfile", "-o", str(profile)] if profile else [])
    started = time.perf_counter()
    result = subprocess.run([*prefix, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-4000:]}")
    return elapsed, result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def serve(env: dict, workers: int, log_path: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen([str(gunicorn), "--workers", str(workers), "--timeout", "300",
                               "--bind", f"{HOST}:{port}", "app:create_app()"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_path.open("ab"))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            if request(port, "GET", "/login")[0]:
                return server, port
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError(f"gunicorn did not start; see {log_path}")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def worker_rss(master: int) -> dict[int, float]:
    """RSS in MB (ps -o rss, KiB / 1024) of each worker of the gunicorn ``master``."""
    out = subprocess.run(["ps", "-o", "pid=,rss=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return {int(pid): int(rss) / 1024 for pid, rss in (line.split() for line in out.splitlines() if line.strip())}


# --- HTTP as HR -------------------------------------------------------------------------------


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, list, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


class Browser:
    """Cookies kept as a browser would on this one site (Secure ones too: the loopback stands in for TLS)."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        status, response_headers, body = request(self.port, "GET", path, headers={**self._cookie(), **(headers or {})})
        self._keep(response_headers)
        return status, body

    def post_form(self, path: str, fields: dict) -> tuple[int, list]:
        status, response_headers, _body = request(
            self.port, "POST", path, urllib.parse.urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", **self._cookie()})
        self._keep(response_headers)
        return status, response_headers

    def _cookie(self) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def _keep(self, headers: list) -> None:
        for name, value in headers:
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _sep, val = pair.partition("=")
                if val:
                    self.cookies[key.strip()] = val
                else:
                    self.cookies.pop(key.strip(), None)


def sign_in(port: int) -> tuple[Browser, str]:
    browser = Browser(port)
    status, body = browser.get("/login")
    found = CSRF.search(body.decode(errors="replace"))
    if status != 200 or not found:
        raise RuntimeError(f"GET /login: {status}, no CSRF token")
    status, headers = browser.post_form("/login", {"email": HR_EMAIL, "password": PASSWORD,
                                                   "csrf_token": found.group(1)})
    if status != 302:
        raise RuntimeError(f"POST /login: {status}")
    # The sign-in may pass through a step (e.g. two factors) before home: follow it once.
    location = urllib.parse.urlsplit({k.lower(): v for k, v in headers}.get("location", "/")).path
    browser.get(location)
    if browser.get("/results")[0] not in (200, 302):
        raise RuntimeError("signed in, but /results is refused")
    status, _headers, body = request(port, "POST", "/api/v1/auth/token",
                                     json.dumps({"email": HR_EMAIL, "password": PASSWORD}).encode(),
                                     {"Content-Type": "application/json"})
    if status != 201:
        raise RuntimeError(f"POST /api/v1/auth/token: {status} {body[:200]!r}")
    return browser, json.loads(body)["token"]


def percentile(ordered: list[float], p: float) -> float:
    """Nearest rank: p95 of 20 samples is the 19th."""
    return ordered[max(0, min(len(ordered), -(-len(ordered) * p // 100)) - 1)]


def timed_requests(fetch, repeat: int) -> dict:
    for _ in range(2):  # one for each worker, most likely: imports, templates, Plotly's validators
        fetch()
    samples, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        status, body = fetch()
        samples.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"status {status}: {body[:300]!r}")
        size = len(body)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 1), "p95_ms": round(percentile(samples, 95), 1),
            "max_ms": round(samples[-1], 1), "bytes": size, "n": repeat}


# --- In this process ----------------------------------------------------------------------------


def polso_app(url: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY, "MAIL_SERVER": None,
                       "POLSO_BASE_URL": f"http://{HOST}", "WTF_CSRF_ENABLED": False,
                       "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})


def targets(url: str) -> dict:
    """Ids the requests need: the demo pulse, its latest closed round, the Engineering division."""
    survey = sql(url, "SELECT id FROM surveys WHERE title = 'Weekly pulse' ORDER BY id LIMIT 1")[0][0]
    latest = sql(url, "SELECT id FROM rounds WHERE survey_id = :s AND status = 'closed' ORDER BY closes_at DESC "
                      "LIMIT 1", s=survey)[0][0]
    department = sql(url, "SELECT id FROM departments WHERE name = 'Engineering'")[0][0]
    return {"survey": survey, "round": latest, "department": department}


def paths(ids: dict) -> dict[str, str]:
    # The pages name the pulse: on a database whose ticks have run (``--database``), the newest survey,
    # and so the pages' default, is the tick phase's, whose round may not have closed.
    survey = ids["survey"]
    return {"results_company": f"/results?survey={survey}",
            "results_department": f"/results?survey={survey}&department={ids['department']}",
            "trend_by_department": f"/api/v1/surveys/{survey}/trend?group_by=department",
            "round_results": f"/api/v1/rounds/{ids['round']}/results",
            "export_csv": f"/results/export.csv?survey={survey}"}


def slowest_statements(url: str, ids: dict, top: int) -> str:
    """Each request once through the app in this process, after a warm-up; its ``top`` slowest statements."""
    from extensions import db

    app = polso_app(url)
    client = app.test_client()
    client.post("/login", data={"email": HR_EMAIL, "password": PASSWORD})
    token = client.post("/api/v1/auth/token", json={"email": HR_EMAIL, "password": PASSWORD}).get_json()["token"]
    seen: list[tuple[float, str]] = []
    began: list[float] = []

    def before(*_args) -> None:
        began.append(time.perf_counter())

    def after(_conn, _cursor, statement, parameters, *_args) -> None:
        seen.append(((time.perf_counter() - began.pop()) * 1000, statement))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", before)
        sa.event.listen(db.engine, "after_cursor_execute", after)
    out = []
    for name, path in paths(ids).items():
        headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
        client.get(path, headers=headers)
        seen.clear()
        started = time.perf_counter()
        status = client.get(path, headers=headers).status_code
        total = (time.perf_counter() - started) * 1000
        in_sql = sum(ms for ms, _s in seen)
        out.append(f"  {name} ({status}): {total:.1f} ms in-process, {len(seen)} statements taking {in_sql:.1f} ms")
        grouped: dict[str, list[float]] = collections.defaultdict(list)
        for ms, statement in seen:
            grouped[" ".join(statement.split())].append(ms)
        for statement, times in sorted(grouped.items(), key=lambda kv: -sum(kv[1]))[:top]:
            out.append(f"    {sum(times):8.1f} ms  x{len(times):<4} {statement[:220]}")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return "\n".join(out)


def archive_surveys(url: str) -> int:
    """Archive the demo's surveys (the pulse's round of this week would open too); returns how many."""
    from extensions import db
    from surveys import building
    from surveys.models import Survey

    app = polso_app(url)
    with app.app_context():
        active = db.session.scalars(sa.select(Survey).where(Survey.status == "active")).all()
        for survey in active:
            building.archive_survey(survey)
        db.session.remove()
        db.engine.dispose()
    return len(active)


def create_due_survey(url: str) -> dict:
    """A weekly survey with the pulse's questions whose round is due now; returns its id and window."""
    from extensions import db
    from surveys import building, schedule

    app = polso_app(url)
    with app.app_context():
        now = datetime.now(UTC)
        # In UTC, so that it closes at 09:00 UTC, not at 09:00 in Rome, when the demo's one-on-one reminders
        # fall due: the tick that closes it then does the round's work, not theirs as well.
        local = now.astimezone(ZoneInfo("UTC"))
        # Rounds open at 09:00: start today if that has passed, else yesterday.
        starts_on = local.date() if local.time() >= schedule.OPENING_TIME else local.date() - timedelta(days=1)
        survey = building.create_survey({
            "title": "Scale pulse", "cadence": "weekly", "starts_on": starts_on.isoformat(), "timezone": "UTC",
            "questions": [{"library_key": key, "required": key == "enps"} for key in PULSE_QUESTIONS]
            + [{"kind": "text", "text": "Anything you would like to add?"}]}, now)
        opens, closes, remind = schedule.window(survey, starts_on)
        found = {"survey": survey.id, "opens": opens, "closes": closes, "remind": remind}
        db.session.remove()
        db.engine.dispose()
    return found


def answer_values(kinds: list[tuple[int, str]], rng: random.Random) -> dict[int, object]:
    """As the demo answers: an eNPS score, each driver 97 % of the time, a comment 12 %."""
    values: dict[int, object] = {}
    for question_id, kind in kinds:
        if kind == "enps":
            values[question_id] = rng.randint(0, 10)
        elif kind == "likert" and rng.random() < 0.97:
            values[question_id] = rng.randint(1, 5)
        elif kind == "text" and rng.random() < 0.12:
            values[question_id] = "More clarity on priorities would help."
    return values


def answer(url: str, round_id: int, share: float, mode: str) -> dict:
    """Answer ``share`` of the round's invitations in this process; returns counts and seconds."""
    from extensions import db
    from surveys import answering, ballots
    from surveys.models import Invitation, Round

    app = polso_app(url)
    rng = random.Random(5)
    with app.app_context():
        questions = list(db.session.get(Round, round_id).survey.questions)
        kinds = [(q.id, q.kind) for q in questions]
        rows = db.session.execute(sa.select(Invitation.id, Invitation.round_id, Invitation.cell_department_id,
                                            Invitation.cell_manager_id, Invitation.cell_tenure_band)
                                  .where(Invitation.round_id == round_id, Invitation.answered.is_(False))
                                  .order_by(Invitation.id)).all()
        chosen = rng.sample(rows, round(share * len(rows)))
        db.session.commit()
        started = time.perf_counter()
        if mode == "submit":
            for row in chosen:
                invitation = db.session.get(Invitation, row.id)
                answering.submit_response(invitation, answer_values(kinds, rng), datetime.now(UTC))
                db.session.expunge(invitation)
        else:
            for start in range(0, len(chosen), 500):
                batch = chosen[start:start + 500]
                claimed = db.session.execute(sa.update(Invitation).where(
                    Invitation.id.in_([row.id for row in batch]), Invitation.answered.is_(False))
                    .values(answered=True))
                assert claimed.rowcount == len(batch)
                for row in batch:
                    ballots.cast(row, answering.validate_answers(questions, answer_values(kinds, rng)))
                db.session.commit()
        elapsed = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return {"invited": len(rows), "answered": len(chosen), "seconds": elapsed}


def tick_line(output: str) -> str:
    return next((line for line in output.splitlines() if "opened" in line), output.strip()[-300:])


def profile_top(path: Path, lines: int = 18) -> str:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    # This checkout's functions by cumulative time (the tick's own steps), then every function by own time.
    stats.sort_stats("cumulative").print_stats(rf"^{re.escape(str(ROOT))}/(?!\.venv/)", lines)
    stats.sort_stats("tottime").print_stats(lines // 2)
    return "\n".join(line for line in out.getvalue().splitlines()
                     if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced", "function calls"))
                     and ".prof" not in line)


# --- One size ---------------------------------------------------------------------------------


def reuse_database(name: str, args) -> dict:
    """``--phases`` (by default the ticks alone) on a database kept by an earlier run (``--database``);
    it is kept again."""
    url = sa.make_url(args.server).set(database=name).render_as_string(hide_password=False)
    employees = sql(url, "SELECT count(*) FROM people WHERE active")[0][0]
    log(f"\n=== {' and '.join(args.phases)} on {name} ({employees} active people), {datetime.now(UTC):%H:%M:%S} UTC, "
        f"load average {os.getloadavg()[0]:.2f} ===")
    report: dict = {"employees": employees, "database": name}
    if "pages" in args.phases:
        report.update(pages(url, environment(url), args))
    if "ticks" in args.phases:
        report["ticks"] = ticks(url, args)
        size, _tables = database_size(url)
        log(f"pg_database_size after the round: {mib(size)}")
    return report


def run_size(employees: int, args) -> dict:
    report: dict = {"employees": employees, "weeks": args.weeks}
    with scratch_database(args.server, args.keep) as (name, url):
        log(f"\n=== {employees} employees x {args.weeks} weeks, database {name}, {datetime.now(UTC):%H:%M:%S} UTC, "
            f"load average {os.getloadavg()[0]:.2f} ===")
        env = environment(url)
        flask(env, "db", "upgrade")
        seconds, output = flask(env, "demo", "seed", "--employees", str(employees), "--weeks", str(args.weeks),
                                "--seed", str(args.seed))
        report["seed_s"] = round(seconds, 1)
        size, tables = database_size(url)
        report["database_bytes"] = size
        log(output.splitlines()[0])
        log(f"seed: {seconds:.1f} s wall clock (process); pg_database_size {mib(size)}; largest: "
            + ", ".join(f"{t} {mib(s)}" for t, s in tables))
        started = time.perf_counter()
        sql(url, "ANALYZE")
        log(f"ANALYZE: {time.perf_counter() - started:.1f} s")

        if "pages" in args.phases:
            report.update(pages(url, env, args))
        if "ticks" in args.phases:
            report["ticks"] = ticks(url, args)
        size, _tables = database_size(url)
        log(f"pg_database_size after the round: {mib(size)}")
    return report


def pages(url: str, env: dict, args) -> dict:
    """HR's pages and APIs under gunicorn, then worker RSS after ``--pages`` more results pages (steps 2, 3)."""
    report: dict = {}
    ids = targets(url)
    server_log = Path(tempfile.gettempdir()) / f"polso-scale-{os.getpid()}.log"
    server, port = serve(env, args.workers, server_log)
    try:
        browser, token = sign_in(port)
        api = {"Authorization": f"Bearer {token}"}
        report["requests"] = {}
        log(f"gunicorn --workers {args.workers} on {HOST}:{port}; {args.repeat} requests each as {HR_EMAIL} "
            f"(ms, client wall clock), load average {os.getloadavg()[0]:.2f}:")
        for key, path in paths(ids).items():
            headers = api if path.startswith("/api/") else None
            result = timed_requests(lambda p=path, h=headers: browser.get(p, h), args.repeat)
            report["requests"][key] = result
            log(f"  {key:<20} median {result['median_ms']:>8.1f}  p95 {result['p95_ms']:>8.1f}  "
                f"max {result['max_ms']:>8.1f}  {result['bytes']:>9,} bytes  GET {path}")
        before = worker_rss(server.pid)
        started = time.perf_counter()
        page = paths(ids)["results_company"]
        signed_in_again = 0
        for _ in range(args.pages):
            status, _body = browser.get(page)
            if status == 302 and signed_in_again < 3:
                # Signed out (on a kept database others may use, say); in again, and the page once more.
                signed_in_again += 1
                browser, _token = sign_in(port)
                status, _body = browser.get(page)
            if status != 200:
                raise RuntimeError(f"{page}: {status}")
        pages_s = time.perf_counter() - started
        if signed_in_again:
            log(f"    signed in again {signed_in_again} time(s) during the pages")
        after = worker_rss(server.pid)
        report["rss_mb"] = {"before": before, "after": after, "max_after": max(after.values())}
        log(f"worker RSS before {args.pages} more results pages: "
            + ", ".join(f"pid {p} {mb:.0f} MB" for p, mb in before.items())
            + f"; after ({pages_s:.1f} s): " + ", ".join(f"pid {p} {mb:.0f} MB" for p, mb in after.items())
            + f"; load average {os.getloadavg()[0]:.2f}")
    finally:
        stop(server)
    if args.sql_top:
        log("slowest statements, each request once in this process:")
        log(slowest_statements(url, ids, args.sql_top))
    return report


def ticks(url: str, args) -> dict:
    smtp = free_port()  # nothing listens there: the send step fails at once and the outbox keeps its mail
    env = environment(url, MAIL_SERVER=HOST, MAIL_PORT=str(smtp), MAIL_USE_TLS="0", MAIL_USE_SSL="0")
    profiles = Path(tempfile.mkdtemp(prefix="polso-scale-profile-")) if args.profile_ticks else None
    out: dict = {}

    def tick(label: str, *extra: str) -> float:
        profile = profiles / f"{label}.prof" if profiles else None
        seconds, output = flask(env, "pulses", "tick", *extra, profile=profile)
        out[label] = round(seconds, 1)
        log(f"  tick {label:<8} {seconds:7.1f} s  (ended {datetime.now(UTC):%H:%M:%S}) {tick_line(output)}")
        if profile:
            log(profile_top(profile))
        return seconds

    log("flask --app app pulses tick, each a process" + (" under cProfile" if profiles else "") + ":")
    archived = archive_surveys(url)
    log(f"    archived the demo's {archived} active survey(s)")
    if args.pause_oneonones:
        paused = sql(url, "UPDATE oneonone_series SET status = 'paused', paused_at = now() WHERE status = 'active' "
                          "RETURNING id")
        log(f"    paused the demo's {len(paused)} active one-on-one series (their reminders stay out of the ticks)")
    tick("floor")
    window = create_due_survey(url)
    tick("open")
    survey = window["survey"]
    round_id, invited = sql(url, "SELECT id, invited_count FROM rounds WHERE survey_id = :s", s=survey)[0]
    outbox = dict(sql(url, "SELECT kind, count(*) FROM outbox WHERE sent_at IS NULL GROUP BY kind"))
    log(f"    round {round_id}: {invited} invited; unsent in the outbox: {outbox}")
    out["invited"], out["outbox_after_open"] = invited, outbox
    tick("idle")
    answered = answer(url, round_id, args.answer_share, args.answer_mode)
    out["answers"] = answered
    log(f"  answers  {answered['seconds']:7.1f} s  {answered['answered']} of {answered['invited']} invitations "
        f"answered in-process ({args.answer_mode}), "
        f"{answered['answered'] / max(answered['seconds'], 1e-9):.0f} per second")
    if args.remind:
        tick("remind", "--now", (window["closes"] - timedelta(minutes=2)).isoformat())
    tick("close", "--now", (window["closes"] + timedelta(minutes=1)).isoformat())
    stored = sql(url, "SELECT (SELECT status FROM rounds WHERE id = :r), (SELECT count(*) FROM responses "
                      "WHERE round_id = :r), (SELECT count(*) FROM ballots WHERE round_id = :r), "
                      "(SELECT count(*) FROM invitations WHERE round_id = :r AND answered), "
                      "(SELECT count(*) FROM round_results WHERE round_id = :r)", r=round_id)[0]
    status, responses, waiting, marked, results = stored
    ok = status == "closed" and responses == marked == answered["answered"] and waiting == 0 and results > 0
    out["check"] = "ok" if ok else "MISMATCH"
    log(f"    {out['check']}: round {status}; {responses} responses stored, {waiting} ballots waiting, {marked} "
        f"invitations answered, {results} stored result rows")
    return out


# --- The run ------------------------------------------------------------------------------------


def summary(reports: list[dict]) -> str:
    base, big = reports[0], reports[-1]
    lines = ["\n=== Summary (ms: median / p95; seconds for seed and ticks) ===",
             f"{'figure':<22}" + "".join(f"{r['employees']:>22,}" for r in reports) + f"{'ratio':>9}  target"]
    for key in REQUESTS:
        cells = [f"{r['requests'][key]['median_ms']:.1f} / {r['requests'][key]['p95_ms']:.1f}" for r in reports]
        line = f"{key:<22}" + "".join(f"{c:>22}" for c in cells)
        if len(reports) > 1:
            ratio = big["requests"][key]["median_ms"] / base["requests"][key]["median_ms"]
            p95 = big["requests"][key]["p95_ms"] / base["requests"][key]["p95_ms"]
            verdict = "ok" if ratio <= TARGET_RATIO and p95 <= TARGET_RATIO else "OVER"
            line += f"{ratio:>8.2f}x  <= {TARGET_RATIO}x (median; p95 {p95:.2f}x): {verdict}"
        lines.append(line)
    if all("seed_s" in r for r in reports):
        lines.append(f"{'seed':<22}" + "".join(f"{r['seed_s']:>21.1f}s" for r in reports))
        lines.append(f"{'database size':<22}" + "".join(f"{mib(r['database_bytes']):>22}" for r in reports))
    for label in ("floor", "open", "idle", "remind", "close"):
        if not all(label in r.get("ticks", {}) for r in reports):
            continue
        verdict = ""
        if label in ("open", "close"):
            verdict = f"{'':9}  <= {TARGET_TICK_S:.0f} s: " + ("ok" if big["ticks"][label] <= TARGET_TICK_S else "OVER")
        lines.append(f"{'tick ' + label:<22}" + "".join(f"{r['ticks'][label]:>21.1f}s" for r in reports) + verdict)
    rss = big["rss_mb"]["max_after"]
    lines.append(f"{'max worker RSS':<22}" + "".join(f"{r['rss_mb']['max_after']:>19.0f} MB" for r in reports)
                 + f"{'':9}  <= {TARGET_RSS_MB:.0f} MB: " + ("ok" if rss <= TARGET_RSS_MB else "OVER"))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", "--employees", dest="sizes", type=int, nargs="+", default=[100_000],
                        help="employees; several sizes run one after the other, smallest first")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="where to create (and drop) the scratch database; loopback only")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests of each kind")
    parser.add_argument("--pages", type=int, default=100, help="/results pages before reading worker RSS")
    parser.add_argument("--answer-share", type=float, default=0.7, help="share of the new round's invitations "
                                                                        "answered before it closes")
    parser.add_argument("--answer-mode", choices=("batch", "submit"), default="batch")
    parser.add_argument("--no-remind", dest="remind", action="store_false",
                        help="skip the tick that queues the reminders before the round closes")
    parser.add_argument("--pause-oneonones", action="store_true",
                        help="pause the demo's one-on-one series before the ticks (their reminders cost ~30 ms each)")
    parser.add_argument("--database", nargs="+", metavar="NAME",
                        help="instead of seeding, run --phases (by default the ticks only) on these databases kept "
                             "by an earlier run (polso_scale_<hex>), smallest first as given; they are kept")
    parser.add_argument("--phases", nargs="+", choices=("pages", "ticks"),
                        help="pages: HR's pages and APIs and worker RSS; ticks: the tick phase "
                             "(default: both after seeding, ticks alone with --database)")
    parser.add_argument("--sql-top", type=int, default=0, help="print each request's N slowest statements")
    parser.add_argument("--profile-ticks", action="store_true", help="run the ticks under cProfile")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not all(20 <= n <= 500_000 for n in args.sizes) or not 1 <= args.repeat <= 1000 \
            or not 0 <= args.pages <= 10_000 or not 0 <= args.answer_share <= 1 or not 0 <= args.weeks <= 520:
        parser.error("sizes 20..500000, --repeat 1..1000, --pages 0..10000, --answer-share 0..1, --weeks 0..520")
    if args.weeks < 1:
        parser.error("--weeks must be at least 1: the pages need a closed round")
    log(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        + (f"databases {' '.join(args.database)}" if args.database else f"sizes {args.sizes} x {args.weeks} weeks"))
    args.phases = args.phases or (["ticks"] if args.database else ["pages", "ticks"])
    if args.database:
        if not all(re.fullmatch(r"polso_scale_[0-9a-f]{8}", name) for name in args.database):
            parser.error("--database takes databases this script made: polso_scale_<8 hex digits>")
        reports = []
        for name in args.database:
            reports.append(reuse_database(name, args))
            if args.json:
                args.json.write_text(json.dumps(reports, indent=2, default=str))
        if "pages" in args.phases:
            log(summary(reports))
    else:
        reports = []
        for n in sorted(args.sizes):
            reports.append(run_size(n, args))
            if args.json:  # after each size, so that an interrupted run keeps what it measured
                args.json.write_text(json.dumps(reports, indent=2, default=str))
        if "pages" in args.phases:
            log(summary(reports))
    log(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, default=str))
    return 0 if all(r["ticks"]["check"] == "ok" for r in reports if "ticks" in r) else 1


if __name__ == "__main__":
    sys.exit(main())
