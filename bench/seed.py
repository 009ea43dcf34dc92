"""Time ``flask demo seed`` on a fresh database.

    .venv/bin/python bench/seed.py --employees 10000 --weeks 52            # SQLite in a temp dir
    .venv/bin/python bench/seed.py --employees 10000 --weeks 52 --postgres postgresql+psycopg://postgres@127.0.0.1/test

With --postgres, a scratch database ``polso_bench_seed`` is created on that server and dropped after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "app"]


def run(env: dict, *args: str) -> str:
    result = subprocess.run([*FLASK, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=10000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", help="server URL; a scratch database is created there")
    args = parser.parse_args()

    env = {**os.environ, "POLSO_ENV": "development"}
    admin = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql("DROP DATABASE IF EXISTS polso_bench_seed WITH (FORCE)")
                conn.exec_driver_sql("CREATE DATABASE polso_bench_seed")
            env["DATABASE_URL"] = sa.make_url(args.postgres).set(database="polso_bench_seed").render_as_string(
                hide_password=False)
        else:
            env["DATABASE_URL"] = f"sqlite:///{tmp}/seed.sqlite3"
        run(env, "db", "upgrade")
        started = time.perf_counter()
        output = run(env, "demo", "seed", "--employees", str(args.employees), "--weeks", str(args.weeks),
                     "--seed", str(args.seed))
        elapsed = time.perf_counter() - started
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql("DROP DATABASE IF EXISTS polso_bench_seed WITH (FORCE)")
    backend = "postgresql" if args.postgres else "sqlite"
    print(output.splitlines()[0])
    print(f"demo seed {args.employees} employees x {args.weeks} weeks on {backend}: {elapsed:.1f} s wall clock "
          f"(including process start)")


if __name__ == "__main__":
    main()
