"""Fuzz the JSON API with schemathesis: every operation, as HR, a manager and an employee.

    .venv/bin/python fuzz/api.py                       # SQLite in a temporary directory
    .venv/bin/python fuzz/api.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python fuzz/api.py --max-examples 50     # the outside review's depth (slow)

It builds a fresh demo database (``db upgrade``, then ``demo seed`` with a small organisation),
serves it with gunicorn on loopback, signs in the three demo roles through ``POST
/api/v1/auth/token`` and runs ``schemathesis run`` once per role against
``/api/v1/openapi.json`` with every check, from a fixed seed. It exits 1 if any run reports a
failure: a server error, a response that breaks the document, data the document allows
refused or data it forbids accepted. Reports (JUnit XML and a pytest file that replays each
failure) go to ``--reports`` (default ``fuzz/reports``, not committed).

With ``--postgres``, a scratch database ``polso_fuzz`` is created on that server and dropped
after. The settings below are the CI's; change them here so everyone reruns the same thing.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FLASK = [sys.executable, "-m", "flask", "--app", "app"]

#: The CI's settings: same seed, same depth, every run.
SEED = 20261202
MAX_EXAMPLES = 12
EMPLOYEES = 40
WEEKS = 3
# HR goes last: its run may deactivate or rename the others (POST /employees is fair game).
ROLES = (("employee", "employee@polso.example"), ("manager", "manager@polso.example"), ("hr", "hr@polso.example"))
PASSWORD = "polso-demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def token(base: str, email: str) -> str:
    request = urllib.request.Request(f"{base}/api/v1/auth/token", method="POST",
                                     data=json.dumps({"email": email, "password": PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start within 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="server URL; a scratch database polso_fuzz is created there")
    parser.add_argument("--max-examples", type=int, default=MAX_EXAMPLES)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--roles", default=",".join(r for r, _ in ROLES), help="comma-separated subset")
    parser.add_argument("--reports", default=str(ROOT / "fuzz" / "reports"))
    parser.add_argument("extra", nargs="*", help="passed on to schemathesis run (after --)")
    args = parser.parse_args()

    admin = None
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "POLSO_ENV": "development", "SECRET_KEY": "fuzz-only",
               "PYTHONUNBUFFERED": "1"}
        # The fuzzer signs in once per role, then sends thousands of requests: no lockout to meet.
        env["LOGIN_MAX_FAILURES"] = "1000000"
        if args.postgres:
            admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql("DROP DATABASE IF EXISTS polso_fuzz WITH (FORCE)")
                conn.exec_driver_sql("CREATE DATABASE polso_fuzz")
            env["DATABASE_URL"] = sa.make_url(args.postgres).set(database="polso_fuzz").render_as_string(
                hide_password=False)
        else:
            env["DATABASE_URL"] = f"sqlite:///{tmp}/fuzz.sqlite3"
        for step in (["db", "upgrade"], ["demo", "seed", "--employees", str(EMPLOYEES), "--weeks", str(WEEKS)]):
            done = subprocess.run([*FLASK, *step], cwd=ROOT, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"flask {' '.join(step)} failed:\n{done.stdout}{done.stderr}")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(Path(tmp) / "server.log", "w")  # noqa: SIM115  (closed after the server stops)
        server = subprocess.Popen([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
                                   "--threads", "4", "--timeout", "60", "app:create_app()"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        failed = []
        try:
            wait_until_up(base, server)
            wanted = set(args.roles.split(","))
            tokens = {role: token(base, email) for role, email in ROLES if role in wanted}  # before anyone fuzzes
            for role, email in ROLES:
                if role not in wanted:
                    continue
                reports = Path(args.reports) / (("postgresql-" if args.postgres else "sqlite-") + role)
                reports.mkdir(parents=True, exist_ok=True)
                command = [str(BIN / "schemathesis"), "--config-file", str(ROOT / "fuzz" / "schemathesis.toml"),
                           "run", f"{base}/api/v1/openapi.json",
                           "--checks", "all", "--max-examples", str(args.max_examples), "--seed", str(args.seed),
                           "--header", f"Authorization: Bearer {tokens[role]}", "--workers", "2",
                           "--request-timeout", "30", "--no-color",
                           "--report", "junit,pytest", "--report-dir", str(reports), *args.extra]
                print(f"== schemathesis as {role} ({email})", flush=True)
                started = time.perf_counter()
                result = subprocess.run(command, cwd=ROOT, env={**env, "SCHEMATHESIS_HOOKS": "fuzz.hooks",
                                                                  "PYTHONPATH": str(ROOT)})
                print(f"== {role}: exit {result.returncode} in {time.perf_counter() - started:.0f} s", flush=True)
                if result.returncode != 0:
                    failed.append(role)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
            errors = [line for line in (Path(tmp) / "server.log").read_text().splitlines()
                      if "Traceback" in line or " ERROR " in line]
            if errors:
                print(f"== the server logged {len(errors)} error lines; first ones:")
                print("\n".join(errors[:20]))
                failed.append("server log")
            if admin is not None:
                with admin.connect() as conn:
                    conn.exec_driver_sql("DROP DATABASE IF EXISTS polso_fuzz WITH (FORCE)")
    if failed:
        print(f"FUZZ FAILED: {', '.join(failed)}")
        return 1
    print("fuzz passed: 0 server errors, 0 schema violations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
