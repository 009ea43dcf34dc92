"""Time migration 0008 on a demo database that the previous version seeded.

    .venv/bin/python bench/migrate.py --employees 10000 --weeks 52           # SQLite in a temp dir
    .venv/bin/python bench/migrate.py --postgres postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python bench/migrate.py --old-checkout /tmp/polso-old          # reuse a checkout of the old code
    .venv/bin/python bench/migrate.py --new-checkout /tmp/polso-new          # measure another checkout's 0008

With the old code (a git worktree of --old-rev, made in a temp dir and removed after, unless
--old-checkout names one), it creates the database, runs ``db upgrade`` and ``demo seed``; then,
with this checkout (or --new-checkout), it times ``db upgrade`` (only 0008 is left to run) and ``results recount``, and
runs ``anonymity audit``, printing its lines. With --postgres, a scratch database
``polso_bench_migrate`` is created on that server and dropped after.
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
SCRATCH = "polso_bench_migrate"
COUNTED = ("rounds", "invitations", "responses", "answers", "round_results", "outbox")


def flask(checkout: Path, env: dict, *args: str, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``flask`` with the app of ``checkout`` (from its directory, so its migrations are used); time it."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "flask", "--app", str(checkout / "app.py"), *args], cwd=checkout,
                            env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if check and result.returncode != 0:
        sys.exit(f"flask {' '.join(args)} in {checkout} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return elapsed, result


def counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            found = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in COUNTED}
            found["alembic_version"] = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            if conn.dialect.name == "sqlite":
                page = conn.exec_driver_sql("PRAGMA page_size").scalar()
                found["sqlite_mib"] = conn.exec_driver_sql("PRAGMA page_count").scalar() * page / 2**20
                found["free_mib"] = conn.exec_driver_sql("PRAGMA freelist_count").scalar() * page / 2**20
            return found
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=10000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--old-rev", default="1084691", help="git revision of the code before the storage change")
    parser.add_argument("--old-checkout", type=Path, help="a checkout of the old code to use instead of a worktree")
    parser.add_argument("--new-checkout", type=Path, default=ROOT,
                        help="the checkout whose migration, recount and audit are measured (default: this one)")
    parser.add_argument("--postgres", help="server URL; a scratch database is created there")
    args = parser.parse_args()

    new = args.new_checkout.resolve()
    env = {**os.environ, "POLSO_ENV": "development"}
    env.pop("FLASK_APP", None)
    backend = "postgresql" if args.postgres else "sqlite"
    admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT") if args.postgres else None
    with tempfile.TemporaryDirectory(prefix="polso-bench-migrate-") as tmp:
        old = args.old_checkout.resolve() if args.old_checkout else Path(tmp) / "old"
        if not args.old_checkout:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.old_rev],
                           check=True, capture_output=True)
        try:
            if admin is not None:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
                    conn.exec_driver_sql(f"CREATE DATABASE {SCRATCH}")
                url = sa.make_url(args.postgres).set(database=SCRATCH).render_as_string(hide_password=False)
            else:
                path = Path(tmp) / "migrate.sqlite3"
                url = f"sqlite:///{path}"
            env["DATABASE_URL"] = url

            flask(old, env, "db", "upgrade")
            seed_time, seeded = flask(old, env, "demo", "seed", "--employees", str(args.employees),
                                      "--weeks", str(args.weeks), "--seed", str(args.seed))
            before = counts(url)

            upgrade_time, _ = flask(new, env, "db", "upgrade")
            after = counts(url)
            start_time, _ = flask(new, env, "db", "current")  # what process start and a connection cost
            recount_time, recounted = flask(new, env, "results", "recount")
            audit_time, audit = flask(new, env, "anonymity", "audit", check=False)
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
                admin.dispose()
            if not args.old_checkout:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=True)

    print(f"old code: {old if args.old_checkout else args.old_rev}; new code: {new}; {backend}; "
          f"{args.employees} employees x {args.weeks} weeks, seed {args.seed}")
    print(f"  {seeded.stdout.splitlines()[0] if seeded.stdout else 'seeded'}")
    print(f"  demo seed (old code): {seed_time:.1f} s")
    print("  before 0008: " + ", ".join(f"{before[t]:,} {t}" for t in COUNTED)
          + f" (at {before['alembic_version']})")
    print(f"process start (flask db current): {start_time:.1f} s")
    print(f"db upgrade (0008): {upgrade_time:.1f} s wall clock (including process start); "
          f"now at {after['alembic_version']}")
    print("  after 0008: " + ", ".join(f"{after[t]:,} {t}" for t in COUNTED))
    if "sqlite_mib" in before:
        print(f"  SQLite file: {before['sqlite_mib']:,.0f} MiB before ({before['free_mib']:,.0f} free), "
              f"{after['sqlite_mib']:,.0f} MiB after ({after['free_mib']:,.0f} MiB of zeroed free pages, "
              "which VACUUM would return)")
    print(f"results recount: {recount_time:.1f} s wall clock; {recounted.stdout.strip()}")
    print(f"anonymity audit: {audit_time:.1f} s wall clock, exit {audit.returncode}")
    for line in (audit.stdout + audit.stderr).strip().splitlines():
        print(f"  {line}")


if __name__ == "__main__":
    main()
