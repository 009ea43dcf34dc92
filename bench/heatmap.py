"""The HR heatmap and the HR home's hot spots (which build the department heatmap) as the organisation grows.

    .venv/bin/python bench/heatmap.py                           # 2,500 and 10,000 employees x 3 weeks, SQLite
    .venv/bin/python bench/heatmap.py --employees 10000 --repeat 10
    .venv/bin/python bench/heatmap.py --database postgresql+psycopg://postgres@127.0.0.1:5432/polso_scale_00100000

For each size it seeds a fresh SQLite database with ``flask demo seed`` (or, with ``--database``, reads an
existing one whose first HR admin has the demo's password), then times in one process, as that HR admin,
over the latest closed round: the heatmap of departments, the heatmap of departments and teams,
``home.hot_spots``, and ``GET /results/heatmap`` and ``GET /`` through the app. Prints the rows and the
median and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dashboard import seed, timed  # noqa: E402

from demo import DEMO_PASSWORD  # noqa: E402


def spread(took: dict) -> str:
    return f"median {took['median_ms']:7.1f} ms  p95 {took['p95_ms']:7.1f} ms"


def measure(url: str, repeat: int) -> None:
    import sqlalchemy as sa
    from flask_login import login_user

    import home
    from app import create_app
    from dashboards import heatmap
    from extensions import db
    from people.models import Person

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "MAIL_SERVER": None,
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        hr = db.session.scalar(sa.select(Person).where(Person.role == "hr_admin").order_by(Person.id))
        people = db.session.scalar(sa.select(sa.func.count()).select_from(Person))
        survey = home.results_survey()
        with app.test_request_context("/"):
            login_user(hr)
            round_ = heatmap.round_for(survey, None, hr)
            print(f"{people} people, round {round_.id}")
            for kinds in (("department",), ("department", "manager")):
                rows = len(heatmap.heatmap(survey, round_, hr, "en", kinds).rows)
                took = timed(lambda k=kinds: heatmap.heatmap(survey, round_, hr, "en", k), repeat)
                print(f"  heatmap {' + '.join(kinds):<20} {rows:>6} rows  {spread(took)}")
            took = timed(lambda: home.hot_spots(survey, hr, "en"), repeat)
            print(f"  {'home.hot_spots':<28} {'':>11}  {spread(took)}")
        client = app.test_client()
        signed_in = client.post("/login", data={"email": hr.email, "password": DEMO_PASSWORD})
        if signed_in.status_code != 302:
            raise SystemExit(f"could not sign in as {hr.email} with the demo password")
        for path in ("/results/heatmap", "/"):
            status = client.get(path).status_code
            print(f"  GET {path:<24} {status:>11}  {spread(timed(lambda p=path: client.get(p), repeat))}")
        db.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, nargs="+", default=[2500, 10000])
    parser.add_argument("--weeks", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--database", help="an existing database to read instead of seeding")
    args = parser.parse_args()
    if not 1 <= args.repeat <= 200:
        parser.error("--repeat must be within 1..200")
    os.chdir(ROOT)
    if args.database:
        measure(args.database, args.repeat)
        return 0
    for employees in args.employees:
        with tempfile.TemporaryDirectory(prefix="polso-heatmap-") as folder:
            path = Path(folder) / "bench.sqlite3"
            started = time.perf_counter()
            seed(path, employees, args.weeks)
            print(f"seeded {employees} x {args.weeks} weeks in {time.perf_counter() - started:.0f} s")
            measure(f"sqlite:///{path}", args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
