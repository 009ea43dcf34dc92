"""Answers under load: Polso's answer paths against a bare-INSERT floor, then the stored count checked.

    .venv/bin/python bench/load.py --employees 2000 --clients 50 --database sqlite
    .venv/bin/python bench/load.py --employees 2000 --clients 50 200 --database postgres
    .venv/bin/python bench/load.py --employees 1000 --clients 50 --database postgres --servers 1 2
    .venv/bin/python bench/load.py --employees 1000 --clients 50 --database postgres --restart-postgres

In a fresh database (an SQLite file in a temporary directory, or a PostgreSQL database
``polso_bench_<random>`` on ``--postgres-server``, dropped afterwards; ``--postgres-server private`` makes
that server a cluster of the bench's own, ``initdb`` in a temporary directory on a free loopback port,
deleted afterwards) it migrates, seeds an organisation of
``--employees`` people with ``flask demo seed --weeks 0`` (its surveys archived), and opens one round for
everyone per phase (``surveys.rounds.open_round_now``): each active employee holds an open invitation in
each, an API token and a personal link. It then serves Polso with gunicorn on loopback as the README
recommends (``--workers``, sync workers), and the bare-INSERT floor (``bench/floor.py``) under the same
settings, and for each ``--clients`` count, with that many threads:

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

``--servers N`` (default 1) serves Polso, and the floor, as N gunicorn instances on N loopback ports
against the one database, each with ``--workers``; every phase sends its jobs to them in turn
(round-robin per job; the duplicate copies of one invitation go to each server in turn). Unless
``--no-tick``, each api/form phase also starts, with its load, ``flask pulses tick`` once per server: N
processes at the same moment, each with its own environment on the same database and no MAIL_SERVER (so
each e-mail sent is logged, and parsed from that log). Their ``--now`` lies before the bench's rounds
opened, a minute after a survey made for that phase came due: the ticks race to open its round and
invite everyone, and to close the previous phase's one. Checked: one round opened, one invitation and
one invitation e-mail per person, no e-mail sent twice, the previous round closed once. Several values
(``--servers 1 2``) run one after the other, each in a fresh database of the same size, and the totals
(stored answers, rounds, invitations, outbox rows by kind, e-mails sent, stored results, payouts) are
compared with the first run's.

``--restart-postgres`` (PostgreSQL only) restarts the database in the middle of each api and form phase,
once a third of its answers are done: a fast shutdown (open transactions rolled back, every connection
cut), ``--restart-down`` seconds (default 2) down, started again, while the clients go on. It never restarts
a server others may use: it runs on a private cluster (``--postgres-server private``, its default; a URL is
refused) and without ticks. A client that gets a 503 sends the same answer again after its
``Retry-After``, at most 5 times. Each such phase prints when the database was down, how many responses
were 503 (and whether each had ``Retry-After``), how many answers got a 500, how many clients gave up,
and how many answers were stored after the restart; the run fails on any 500, a 503 without
``Retry-After``, a client that gave up, or no answer stored after the restart. The accounting is the
usual one; an invitation whose 503 retry is told "already answered" (its commit reached PostgreSQL but
the reply never reached the app) counts with the successes, as stored once ("stored before a 503"). The
latencies of such a phase include the clients' waits.

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
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import floor  # noqa: E402

HOST = "127.0.0.1"
QUESTIONS = ("enps", "recognition_valued", "growth_learning", "manager_support_feedback", "workload_manageable")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SECRET_KEY = "bench-load-" + secrets.token_hex(16)
SHARED_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# --- The scratch database -----------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The directory of PostgreSQL's server programs (``initdb``, ``pg_ctl``, ``postgres``), or None:
    ``pg_config --bindir``, then the newest ``/usr/lib/postgresql/<version>/bin``, then ``pg_ctl`` on PATH."""
    candidates = []
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                         check=True).stdout.strip())
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)], reverse=True)
    candidates += [str(p) for p in versions]
    if shutil.which("pg_ctl"):
        candidates.append(str(Path(shutil.which("pg_ctl")).resolve().parent))
    for candidate in candidates:
        path = Path(candidate)
        if candidate and all(os.access(path / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return path
    return None


class PrivatePostgres:
    """A PostgreSQL cluster of one's own, to restart at will without touching a shared server.

    ``initdb`` in a new temporary directory (trust authentication, superuser ``postgres``), served by
    ``pg_ctl`` on a free loopback port, its socket in the same directory; ``url`` is its ``postgres``
    database. As root the server runs as the ``postgres`` OS user (PostgreSQL refuses to run as root),
    which then owns the directory. ``restart`` stops it with a fast shutdown (open transactions rolled
    back, every connection cut), leaves it down ``down_seconds`` and starts it again; ``close`` stops
    it and deletes the directory. Raises LookupError when no server programs are installed.
    """

    def __init__(self):
        bindir = postgres_bindir()
        if bindir is None:
            raise LookupError("no PostgreSQL server programs (initdb, pg_ctl, postgres) found: install PostgreSQL")
        self.bindir = bindir
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            import pwd

            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise LookupError("running as root, and there is no `postgres` OS user to run PostgreSQL as") \
                    from None
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.directory = Path(tempfile.mkdtemp(prefix="polso-pg-"))
        if self.as_user:
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@{HOST}:{self.port}/postgres"
        try:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                      "--no-sync", "--no-instructions")
            self.start()
        except BaseException:
            self.close()
            raise

    def _run(self, program: str, *arguments: str) -> None:
        done = subprocess.run([*self.as_user, str(self.bindir / program), *arguments], capture_output=True,
                              text=True, cwd=self.directory)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}"
                               + (f"\n{self.log.read_text(errors='replace')[-2000:]}" if self.log.exists() else ""))

    def start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log), "-o",
                  f"-p {self.port} -k {self.directory} -c listen_addresses={HOST}")

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", str(self.data))

    def restart(self, down_seconds: float = 2.0) -> tuple[float, float]:
        """Stop (fast), stay down ``down_seconds``, start; returns (stopped, started) as ``time.monotonic()``."""
        self.stop()
        stopped = time.monotonic()
        time.sleep(down_seconds)
        self.start()
        return stopped, time.monotonic()

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", "immediate", "-D", str(self.data))
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


@contextlib.contextmanager
def scratch_database(kind: str, server: str, private: list | None = None):
    """A fresh database URL, removed afterwards: an SQLite file, or ``polso_bench_<random>`` on ``server``.

    With ``server`` "private", the database is on a ``PrivatePostgres`` started for it (and deleted
    after), which is appended to ``private`` for the caller to restart."""
    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="polso-load-")
        try:
            yield f"sqlite:///{directory}/polso.sqlite3"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    if server == "private":
        with PrivatePostgres() as cluster:
            if private is not None:
                private.append(cluster)
            with scratch_database(kind, cluster.url) as url:
                yield url
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


def build(url: str, employees: int, phases: list[str], races: list[str]) -> dict:
    """Migrate, seed ``employees`` people, and open one round for everyone per phase; return the plan:
    per phase its round, questions and invitations (id, API token, personal-link token). The demo's
    own surveys are archived, so that no tick opens a round of theirs; for each phase in ``races`` a
    survey (once, open one day) is created whose round comes due at the plan's ``races[phase]["now"]``,
    the moment the ticks of that phase are run at."""
    from flask_migrate import upgrade

    from extensions import db
    from people.models import ApiToken
    from surveys import building, links, rounds, schedule
    from surveys.models import Invitation, Survey

    app = polso_app(url)
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["demo", "seed", "--employees", str(employees), "--weeks", "0"])
        if result.exit_code != 0:
            raise RuntimeError(f"demo seed failed: {result.output}{result.exception!r}")
        db.session.execute(sa.update(Survey).where(Survey.status == "active").values(status="archived"))
        db.session.commit()
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
        # Race surveys: the i-th starts len(races) - i days ago and stays open one day, so that a tick at
        # a minute past its opening finds it due, the next ones not yet due, and the previous race
        # round due to close. Those moments lie before ``now``: the bench rounds (opened at ``now``) are
        # neither closed nor reminded by such a tick, and the invitation e-mails queued above (due at
        # ``now``) are not sent by it; only the mail the ticks queue themselves is.
        plan["races"] = {}
        for index, phase in enumerate(races):
            survey = building.create_survey({
                "title": f"Race {phase}", "cadence": "once", "open_days": 1, "remind_days_before_close": 0,
                "questions": [{"library_key": "enps", "required": True}]}, now)
            db.session.flush()
            survey.starts_on = now.astimezone(ZoneInfo(survey.timezone)).date() - timedelta(days=len(races) - index)
            db.session.commit()
            opens, _closes, _remind = schedule.window(survey, survey.starts_on)
            plan["races"][phase] = {"survey": survey.id, "now": opens + timedelta(minutes=1)}
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


# This thread's last response: its status and headers (``answer_with_retries`` reads a 503's Retry-After there).
last_response = threading.local()


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, list, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        last_response.status, last_response.headers = response.status, response.getheaders()
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


STORED_BEFORE_503 = "stored before a 503"
GAVE_UP = "503 (gave up)"


def answer_with_retries(job, tally: collections.Counter, lock: threading.Lock, attempts: int = 5,
                        longest_wait: float = 30.0):
    """``job`` (one answer, API or form: 201 when stored), sent again after each 503 once its ``Retry-After``
    has passed, at most ``attempts`` times in all, as a client told "try again in a moment" would.

    ``tally`` counts every 503 (``"503"``) and those without a positive ``Retry-After``. Returns 201 when an
    attempt stored the answer; ``STORED_BEFORE_503`` when a retry after a 503 finds the invitation already
    answered (the API's 409, the form's "already answered" page, a 200): that 503's commit reached the
    database but its acknowledgement never reached the app; ``GAVE_UP`` after ``attempts`` 503s; any other
    status as it came.
    """
    status, retried = job(), False
    for attempt in range(attempts):
        if status != 503:
            break
        headers = {k.lower(): v for k, v in getattr(last_response, "headers", [])}
        wait = headers.get("retry-after", "")
        with lock:
            tally["503"] += 1
            if not (wait.isdigit() and int(wait) > 0):
                tally["503 without Retry-After"] += 1
        if attempt == attempts - 1:
            return GAVE_UP
        time.sleep(min(float(wait) if wait.isdigit() else 1.0, longest_wait))
        status, retried = job(), True
    if retried and status in (200, 409):
        return STORED_BEFORE_503
    return status


# --- A phase: every job once, with ``clients`` threads ---------------------------------------


def run_phase(jobs: list, clients: int, seconds: float, midway=None, midway_after: int = 0) -> dict:
    """Run each job (a callable returning a status, 201 for a stored answer) once, ``clients`` at a time.

    With ``midway``, it is called once, in a thread of its own, when ``midway_after`` jobs are done, while
    the others go on; the result's ``finished`` lists when (``time.monotonic()``) each job ended, and how."""
    results: list = []
    lock = threading.Lock()
    todo = iter(jobs)
    deadline = time.monotonic() + seconds
    side: list[threading.Thread] = []

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
                results.append((status, elapsed, time.monotonic()))
                start_midway = midway is not None and len(results) == midway_after
            if start_midway:
                side.append(threading.Thread(target=midway, daemon=True))
                side[0].start()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 70))
    for thread in side:
        thread.join(timeout=120)
    wall = time.perf_counter() - started
    latencies = sorted(elapsed for _status, elapsed, _finished in results)
    ok = sum(1 for status, _elapsed, _finished in results if status == 201)
    errors = collections.Counter(str(status) for status, _elapsed, _finished in results if status != 201)
    not_run = len(jobs) - len(results)
    if not_run:
        errors["not run (time bound)"] = not_run
    return {"sent": len(results), "ok": ok, "wall": wall, "rate": ok / wall if wall else 0.0,
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
            "errors": dict(errors), "finished": [(finished, status) for status, _elapsed, finished in results]}


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    return 1000 * ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def duplicates(ports: list[int], phase: dict, count: int, rng: random.Random, seconds: float) -> dict:
    """For ``count`` invitations, 2-5 copies of one answer at once (API and form alternately, and to
    each server in turn), ten invitations at a time; returns the successes per invitation and the
    statuses seen."""
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
                port = ports[copy % len(ports)]
                if copy % 2 == 0:
                    calls.append((invitation_id, lambda t=api_token, v=values, p=port:
                                  api_answer(p, phase["round"], t, v)))
                else:
                    opened = form_open(port, link)  # the page first, so that only the posts race
                    calls.append((invitation_id, lambda lk=link, o=opened, v=values, p=port:
                                  form_post(p, lk, o[1], o[2], v) if o[0] == 200 else o[0]))
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


# --- Ticks on several "hosts" ---------------------------------------------------------------

TICK_SUMMARY = re.compile(r"opened (\d+) round\(s\), invited (\d+), reminded (\d+), closed (\d+), "
                          r"mixed (\d+) answer\(s\).*e-mail sent (\d+), failed (\d+)")
LOGGED_MAIL = re.compile(r"logged instead of sent:\nTo: (.*)\nSubject: (.*)\nKind: (.*)\n")


def start_ticks(env: dict, hosts: int, now: datetime, logdir: Path, label: str) -> list[tuple]:
    """``flask pulses tick --now <now>`` on each of ``hosts`` "hosts" at once: one process each, with an
    environment of its own (the same database, no MAIL_SERVER, so each e-mail sent is logged)."""
    command = [sys.executable, "-m", "flask", "--app", "app", "pulses", "tick", "--now", now.isoformat()]
    started = []
    for host in range(hosts):
        log = logdir / f"tick-{label}-host{host + 1}.log"
        host_env = {**env, "POLSO_BENCH_HOST": f"host{host + 1}"}
        process = subprocess.Popen(command, cwd=ROOT, env=host_env, stdout=subprocess.PIPE, stderr=log.open("wb"))
        started.append((process, log, time.perf_counter()))
    return started


def finish_ticks(started: list[tuple], timeout: float) -> dict:
    """Wait for the ticks (at most ``timeout`` seconds each); per host its report, and every e-mail the
    hosts logged as sent, as (kind, to, subject)."""
    hosts = []
    mails: collections.Counter = collections.Counter()
    for process, log, began in started:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        seconds = time.perf_counter() - began
        found = TICK_SUMMARY.search(output.decode(errors="replace"))
        numbers = [int(n) for n in found.groups()] if found else [0] * 7
        report = dict(zip(("opened", "invited", "reminded", "closed", "mixed", "sent", "failed"), numbers,
                          strict=True))
        hosts.append({"rc": process.returncode, "parsed": bool(found), "seconds": seconds, "log": log, **report})
        text = log.read_text(errors="replace")
        mails.update((kind, to, subject) for to, subject, kind in LOGGED_MAIL.findall(text))
    return {"hosts": hosts, "mails": mails}


def tick_line(ticks: dict, wall: float) -> str:
    parts = [f"host{n} {h['seconds']:.1f} s, rc {h['rc']}: opened {h['opened']}, invited {h['invited']}, "
             f"closed {h['closed']}, mixed {h['mixed']}, e-mail sent {h['sent']}"
             for n, h in enumerate(ticks["hosts"], 1)]
    return f"       ticks started with the phase's {wall:.1f} s of load: " + "; ".join(parts)


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


def database_totals(url: str, races: dict) -> dict:
    """What the ticks left: per race survey its rounds (status, invited_count, invitations, company
    results rows); over the database the rounds, invitations, outbox rows by kind (all, sent), stored
    results and milestone payouts."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        def rows(sql: str, **params) -> list:
            return connection.execute(sa.text(sql), params).all()

        per_race = {}
        for phase, race in races.items():
            per_race[phase] = [tuple(r) for r in rows(
                "SELECT r.status, r.invited_count, "
                "(SELECT count(*) FROM invitations i WHERE i.round_id = r.id), "
                "(SELECT count(*) FROM round_results x WHERE x.round_id = r.id AND x.kind = 'company') "
                "FROM rounds r WHERE r.survey_id = :survey ORDER BY r.id", survey=race["survey"])]
        outbox = {kind: (n, sent) for kind, n, sent in rows(
            "SELECT kind, count(*), count(sent_at) FROM outbox GROUP BY kind ORDER BY kind")}
        totals = {
            "rounds": rows("SELECT count(*) FROM rounds")[0][0],
            "invitations": rows("SELECT count(*) FROM invitations")[0][0],
            "outbox rows (all, sent) by kind": outbox,
            "outbox dedupe keys used twice": rows(
                "SELECT count(*) FROM (SELECT dedupe_key FROM outbox WHERE dedupe_key IS NOT NULL "
                "GROUP BY dedupe_key HAVING count(*) > 1) d")[0][0],
            "round_results rows": rows("SELECT count(*) FROM round_results")[0][0],
            "milestone payouts": rows("SELECT count(*) FROM milestone_payouts")[0][0],
        }
    engine.dispose()
    return {"races": per_race, "totals": totals}


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
    parser.add_argument("--postgres-server", default=None,
                        help="where to create (and drop) the scratch database: a loopback URL (default "
                             f"{SHARED_POSTGRES}), or 'private' for a PostgreSQL cluster of the bench's own, "
                             "made with initdb in a temporary directory and deleted afterwards")
    parser.add_argument("--restart-postgres", action="store_true",
                        help="restart PostgreSQL once in the middle of each api and form phase (fast shutdown, "
                             "down --restart-down seconds); only a private cluster (--postgres-server private, "
                             "the default with this option), never a shared server; implies --no-tick")
    parser.add_argument("--restart-down", type=float, default=2.0, help="seconds PostgreSQL stays down")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (README: 4)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--servers", type=int, nargs="+", default=[1],
                        help="app servers (gunicorn instances) on one database; several values: one run each, "
                             "then their totals compared")
    parser.add_argument("--tick", action=argparse.BooleanOptionalAction, default=None,
                        help="run `flask pulses tick` once per server during each api/form phase (default: on, "
                             "off with --restart-postgres)")
    parser.add_argument("--paths", nargs="+", choices=("api", "form"), default=["api", "form"])
    parser.add_argument("--duplicates", type=int, default=200, help="invitations sent 2-5 times at once")
    parser.add_argument("--profile", type=int, default=0, help="profile this many API answers in-process")
    parser.add_argument("--phase-seconds", type=float, default=300, help="time bound of each phase")
    args = parser.parse_args()
    if args.profile and args.profile < 6:
        parser.error("--profile needs at least 6 answers")
    if not 20 <= args.employees <= 200_000 or not all(1 <= c <= 1000 for c in args.clients):
        parser.error("--employees must be within 20..200000 and --clients within 1..1000")
    if not all(1 <= n <= 4 for n in args.servers):
        parser.error("--servers must be within 1..4")
    if args.restart_postgres:
        if args.database != "postgres":
            parser.error("--restart-postgres needs --database postgres")
        if args.postgres_server not in (None, "private"):
            parser.error("--restart-postgres restarts only a private cluster (--postgres-server private), never "
                         "a server others may be using")
        if args.tick:
            parser.error("--restart-postgres runs without ticks: a tick cut off by the restart fails (cron runs "
                         "it again) and the race checks would count it")
        if not 0 <= args.restart_down <= 30:
            parser.error("--restart-down must be within 0..30 seconds")
        args.postgres_server, args.tick = "private", False
    args.postgres_server = args.postgres_server or SHARED_POSTGRES
    args.tick = True if args.tick is None else args.tick

    runs = []
    for servers in args.servers:
        failures, totals = run(args, servers)
        runs.append((servers, failures, totals))
    failed = [f"--servers {servers}: {', '.join(failures)}" for servers, failures, _totals in runs if failures]
    if len(runs) > 1:
        first_servers, _failures, first = runs[0]
        print(f"\nTotals against --servers {first_servers} (stored answers per phase, floor rows, duplicates, "
              f"rounds opened per race, rounds, invitations, outbox rows by kind, e-mails the ticks sent by "
              f"kind, stored results, payouts):")
        for servers, _failures, totals in runs[1:]:
            differ = [key for key in sorted(first.keys() | totals.keys()) if first.get(key) != totals.get(key)]
            if differ:
                failed.append(f"--servers {servers}: totals differ")
                print(f"  DIFFER   --servers {servers}: {len(differ)} of {len(first)} totals differ:")
                for key in differ:
                    print(f"           {key}: {first.get(key)} against {totals.get(key)}")
            else:
                outbox = totals.get("outbox rows (all, sent) by kind", {})
                print(f"  ok       --servers {servers}: all {len(first)} totals identical "
                      f"(stored {sum(v[1] for k, v in totals.items() if k.startswith('stored '))} answers, "
                      f"{totals.get('rounds', '-')} rounds, {totals.get('invitations', '-')} invitations, "
                      f"{sum(n for n, _sent in outbox.values())} outbox rows, "
                      f"{sum(totals.get('e-mails sent by the ticks, by kind', {}).values())} e-mails sent by "
                      f"the ticks)")
    if failed:
        print(f"FAILED: {'; '.join(failed)}")
        return 1
    return 0


def run(args, servers: int) -> tuple[list[str], dict]:
    """One run with ``servers`` app servers: build, load, tick, check; returns the failures and the totals
    to compare with another run of the same size."""
    phases = [f"{path}{clients}" for clients in args.clients for path in args.paths]
    races = list(phases) if args.tick else []
    phases += ["duplicates"] * bool(args.duplicates) + ["profile"] * bool(args.profile)
    rng = random.Random(1)
    failures: list[str] = []
    totals: dict = {}
    private: list[PrivatePostgres] = []
    with scratch_database(args.database, args.postgres_server, private) as url:
        cluster = private[0] if args.restart_postgres else None
        started = time.perf_counter()
        plan = build(url, args.employees, phases, races)
        invited = len(next(iter(plan["phases"].values()))["invitations"])
        print(f"\n{args.database}: {args.employees} people, {invited} invited per round, {len(phases)} rounds, "
              f"built in {time.perf_counter() - started:.1f} s; {servers} server(s) on one database, each "
              f"gunicorn --workers {args.workers} --threads {args.threads} (sync)"
              + (f"; a tick per server during each of {len(races)} phases" if races else "")
              + (f"; PostgreSQL (private, port {cluster.port}) restarted in each api/form phase once a third "
                 f"of it is done, down {args.restart_down:g} s; clients send a 503 again after its Retry-After, "
                 f"at most {RETRY_ATTEMPTS} times" if cluster else ""), flush=True)
        floor.create_table(url)
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "POLSO_BASE_URL": f"http://{HOST}",
               "MAIL_SERVER": ""}
        logdir = Path(tempfile.mkdtemp(prefix=f"polso-load-{os.getpid()}-s{servers}-"))
        log = logdir / "servers.log"
        polsos, bares = [], []
        try:
            for _ in range(servers):
                polsos.append(serve("app:create_app()", env, args, log))
                bares.append(serve("bench.floor:create_app()", env, args, log))
        except BaseException:
            for server, _port in polsos + bares:
                stop(server)
            raise
        polso_ports = [port for _server, port in polsos]
        floor_ports = [port for _server, port in bares]
        floor_ok = 0
        dup = None
        ticks: dict[str, dict] = {}
        live: list[tuple] = []
        try:
            print(f"{'path':<6} {'clients':>4} {'stored':>6} {'answers/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
                  f"{'p99 ms':>8} {'floor':>7}  errors by status", flush=True)
            for clients in args.clients:
                sample = next(iter(plan["phases"].values()))
                values = answers_for(sample["questions"], rng)
                body = json.dumps({"answers": [{"question_id": q, "value": v} for q, v in values.items()]}).encode()
                headers = {"Content-Type": "application/json"}
                # Round-robin per job over the servers, here and below.
                jobs = [lambda b=body, h=headers, p=floor_ports[n % servers]: request(p, "POST", "/answer", b, h)[0]
                        for n in range(invited)]
                floor_result = run_phase(jobs, clients, args.phase_seconds)
                floor_ok += floor_result["ok"]
                print(row("floor", clients, floor_result, None), flush=True)
                for path in args.paths:
                    name = f"{path}{clients}"
                    phase = plan["phases"][name]
                    jobs = []
                    for n, (_id, token, link) in enumerate(phase["invitations"]):
                        values = answers_for(phase["questions"], rng)
                        port = polso_ports[n % servers]
                        if path == "api":
                            jobs.append(lambda t=token, v=values, r=phase["round"], p=port: api_answer(p, r, t, v))
                        else:
                            jobs.append(lambda lk=link, v=values, p=port: form_answer(p, lk, v))
                    running = (start_ticks(env, servers, plan["races"][name]["now"], logdir, name)
                               if name in plan["races"] else None)
                    live.extend(running or [])
                    if cluster:
                        result = restart_phase(cluster, jobs, clients, args)
                        failures += [f"restart {name}: {problem}" for problem in result["problems"]]
                    else:
                        result = run_phase(jobs, clients, args.phase_seconds)
                    phase["result"] = result
                    print(row(path, clients, result, floor_result["rate"]), flush=True)
                    if cluster:
                        print(restart_line(result), flush=True)
                    if running:
                        ticks[name] = finish_ticks(running, args.phase_seconds + 120)
                        print(tick_line(ticks[name], result["wall"]), flush=True)
            if args.duplicates:
                dup = duplicates(polso_ports, plan["phases"]["duplicates"], args.duplicates, rng, args.phase_seconds)
        finally:
            for process, _log, _began in live:
                if process.poll() is None:  # only if the run broke off: the ticks are waited for above
                    process.kill()
                    process.wait()
            for server, _port in polsos + bares:
                stop(server)

        counts = stored(url)
        print("\nStored (waiting ballots + mixed responses) against successes, per round:")
        for name, phase in plan["phases"].items():
            if name in ("duplicates", "profile"):
                continue
            got, answered = counts.get(phase["round"], (0, 0))
            result = phase.get("result", {})
            # A 503 whose commit had reached the database (found answered by its retry) counts as a success.
            late = result.get("errors", {}).get(STORED_BEFORE_503, 0)
            ok = result.get("ok", 0) + late
            verdict = "ok" if got == ok == answered else "MISMATCH"
            failures += [name] * (verdict != "ok")
            totals[f"stored {name} (successes, stored, answered)"] = (ok, got, answered)
            print(f"  {verdict:<8} {name:<10} successes {ok}" + (f" ({late} {STORED_BEFORE_503})" if late else "")
                  + f", stored {got}, invitations answered {answered}")
        floor_rows = floor.count(url)
        verdict = "ok" if floor_rows == floor_ok else "MISMATCH"
        failures += ["floor"] * (verdict != "ok")
        totals["floor (successes, rows)"] = (floor_ok, floor_rows)
        print(f"  {verdict:<8} {'floor':<10} successes {floor_ok}, rows {floor_rows}")
        if dup is not None:
            phase = plan["phases"]["duplicates"]
            got, answered = counts.get(phase["round"], (0, 0))
            once = sum(1 for n in dup["successes"].values() if n == 1)
            tried = len(dup["successes"])
            verdict = "ok" if once == tried == got == answered else "MISMATCH"
            failures += ["duplicates"] * (verdict != "ok")
            totals["duplicates (tried, once, stored, answered)"] = (tried, once, got, answered)
            print(f"  {verdict:<8} duplicates {tried} invitations sent 2-5 times at once: {once} succeeded exactly "
                  f"once, stored {got}, invitations answered {answered}; statuses {dup['statuses']}")
        if races:
            failures += check_ticks(url, plan, ticks, servers, invited, totals)
        if args.profile:
            print("\n" + profile(url, plan["phases"]["profile"], args.profile))
        print(f"\nserver and tick logs: {logdir}")
    return failures, totals


RETRY_ATTEMPTS = 5


def restart_phase(cluster: PrivatePostgres, jobs: list, clients: int, args) -> dict:
    """``run_phase`` with each job sent again after a 503 (``answer_with_retries``), and ``cluster``
    restarted once a third of the jobs are done; the result adds the restart's moments, the 503s seen, the
    answers stored after the restart, and what went wrong (a 500, a 503 without Retry-After, a client
    that gave up, no answer stored once the database was back)."""
    tally: collections.Counter = collections.Counter()
    lock = threading.Lock()
    restart: dict = {}

    def midway() -> None:
        restart["began"] = time.monotonic()
        try:
            restart["stopped"], restart["started"] = cluster.restart(args.restart_down)
        except RuntimeError as error:
            restart["error"] = str(error)

    wrapped = [lambda job=job: answer_with_retries(job, tally, lock, RETRY_ATTEMPTS) for job in jobs]
    result = run_phase(wrapped, clients, args.phase_seconds, midway=midway, midway_after=max(1, len(jobs) // 3))
    problems = []
    if "started" not in restart:
        problems.append(restart.get("error", "the phase ended before a third of it was done: no restart"))
    after = sum(1 for finished, status in result["finished"]
                if status == 201 and finished > restart.get("started", float("inf")))
    errors = result["errors"]
    if errors.get("500"):
        problems.append(f"{errors['500']} answer(s) got a 500")
    if tally["503 without Retry-After"]:
        problems.append(f"{tally['503 without Retry-After']} 503(s) without Retry-After")
    if errors.get(GAVE_UP):
        problems.append(f"{errors[GAVE_UP]} client(s) still got a 503 after {RETRY_ATTEMPTS} attempts")
    if "started" in restart and not after:
        problems.append("no answer stored after the restart")
    return {**result, "restart": restart, "tally": dict(tally), "after restart": after, "problems": problems}


def restart_line(result: dict) -> str:
    restart, tally, errors = result["restart"], result["tally"], result["errors"]
    if "started" not in restart:
        return f"       PostgreSQL NOT restarted: {'; '.join(result['problems'])}"
    began = min(finished for finished, _status in result["finished"]) if result["finished"] else restart["began"]
    return (f"       PostgreSQL restarted: stop began {restart['began'] - began:.1f} s after the first answer, down "
            f"{restart['stopped'] - restart['began']:.1f}..{restart['started'] - restart['began']:.1f} s, "
            f"{tally.get('503', 0)} responses 503 ({tally.get('503 without Retry-After', 0)} without Retry-After), "
            f"{errors.get('500', 0)} answers 500, {errors.get(STORED_BEFORE_503, 0)} {STORED_BEFORE_503} "
            f"(commit acknowledged, reply lost), {errors.get(GAVE_UP, 0)} gave up; {result['after restart']} "
            f"answers stored after it" + (f"; {'; '.join(result['problems'])}" if result["problems"] else ""))


def check_ticks(url: str, plan: dict, ticks: dict, servers: int, invited: int, totals: dict) -> list[str]:
    """Per race phase: one round opened (by one host), its invitations and their e-mails once each, the
    previous race round closed once with one company result; then the database's totals."""
    found = database_totals(url, plan["races"])
    failures = []
    sent: collections.Counter = collections.Counter()
    print(f"\nTicks, {servers} per phase at the same moment (a race survey due at each phase's --now):")
    for index, (name, race) in enumerate(plan["races"].items()):
        run = ticks.get(name, {"hosts": [], "mails": collections.Counter()})
        hosts, mails = run["hosts"], run["mails"]
        for (kind, _to, _subject), n in mails.items():
            sent[kind] += n
        rounds_ = found["races"][name]
        invitation_mails = collections.Counter(to for (kind, to, _s), n in mails.items() if kind == "invitation"
                                               for _ in range(n))
        twice = {key: n for key, n in mails.items() if n > 1}
        problems = []
        if len(hosts) != servers or any(h["rc"] != 0 or not h["parsed"] for h in hosts):
            problems.append(f"tick exit codes {[h['rc'] for h in hosts]}")
        if len(rounds_) != 1 or sum(h["opened"] for h in hosts) != 1:
            problems.append(f"{len(rounds_)} round(s) stored, {sum(h['opened'] for h in hosts)} reported opened")
        elif not rounds_[0][1] == rounds_[0][2] == invited == sum(h["invited"] for h in hosts):
            problems.append(f"invited_count {rounds_[0][1]}, invitations {rounds_[0][2]}, "
                            f"reported {sum(h['invited'] for h in hosts)}, expected {invited}")
        if len(invitation_mails) != invited or any(n != 1 for n in invitation_mails.values()):
            problems.append(f"invitation e-mails to {len(invitation_mails)} people, "
                            f"{sum(invitation_mails.values())} sent")
        if sum(mails.values()) != sum(h["sent"] for h in hosts):
            problems.append(f"{sum(h['sent'] for h in hosts)} e-mails reported sent, {sum(mails.values())} logged")
        if twice:
            problems.append(f"{len(twice)} e-mail(s) sent more than once, e.g. {next(iter(twice))}")
        if index:
            previous = found["races"][list(plan["races"])[index - 1]]
            closed = sum(h["closed"] for h in hosts)
            if closed != 1 or [r[0] for r in previous] != ["closed"] or any(r[3] > 1 for r in previous):
                problems.append(f"previous race round: {closed} closes reported, now {previous}")
        verdict = "ok" if not problems else "MISMATCH"
        failures += [f"tick {name}"] * bool(problems)
        totals[f"race {name} rounds (status, invited_count, invitations, company results)"] = rounds_
        per_host = ", ".join(f"host{n} {h['sent']}" for n, h in enumerate(hosts, 1))
        print(f"  {verdict:<8} {name:<10} at {race['now'].isoformat()}: {len(rounds_)} round opened "
              f"(by host {[n for n, h in enumerate(hosts, 1) if h['opened']]}), {sum(h['invited'] for h in hosts)} "
              f"invited, {len(invitation_mails)} invitation e-mails, each sent {set(invitation_mails.values())} "
              f"time(s); {sum(mails.values())} e-mails sent in all ({per_host})"
              + (f"; previous race round closed {sum(h['closed'] for h in hosts)} time(s)" if index else "")
              + ("" if not problems else f"; {'; '.join(problems)}"))
    totals["e-mails sent by the ticks, by kind"] = dict(sorted(sent.items()))
    totals.update(found["totals"])
    twice = found["totals"]["outbox dedupe keys used twice"]
    failures += ["outbox dedupe"] * bool(twice)
    print(f"  {'ok' if not twice else 'MISMATCH':<8} outbox    rows (all, sent) by kind "
          f"{found['totals']['outbox rows (all, sent) by kind']}; e-mails the ticks sent by kind {dict(sent)}; "
          f"{found['totals']['rounds']} rounds, {found['totals']['invitations']} invitations, "
          f"{found['totals']['round_results rows']} stored results rows, "
          f"{found['totals']['milestone payouts']} milestone payouts")
    return failures


if __name__ == "__main__":
    sys.exit(main())
