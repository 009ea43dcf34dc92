"""Dashboard speed: stored results against the naive way, at full and quarter size.

    .venv/bin/python bench/dashboard.py                 # 10,000 and 2,500 employees x 52 weeks, SQLite
    .venv/bin/python bench/dashboard.py --employees 10000 --weeks 52 --repeat 40

For each size it seeds a fresh SQLite database with ``flask demo seed``, then measures
in one process (server time, no network):

- dashboard data: ``dashboards.services.dashboard`` for the whole company (what the HR
  page computes: trend over every round, latest distribution, participation,
  favorability, driver impact, department breakdown, comments);
- the HR page: ``GET /results`` through the app (data, figures, template);
- one round's results: ``GET /api/v1/rounds/<latest>/results``;
- naive: the same dashboard numbers with pandas over every raw answer row.

Prints median and p95 in milliseconds and the ratios the targets are stated in.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def seed(path: Path, employees: int, weeks: int) -> None:
    env = {**os.environ, "POLSO_ENV": "development", "DATABASE_URL": f"sqlite:///{path}"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "demo", "seed", "--employees", str(employees), "--weeks", str(weeks)], cwd=ROOT,
                   env=env, check=True, capture_output=True)


def timed(fn, repeat: int) -> dict:
    fn()  # warm caches (templates, plotly validators)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 1),
            "p95_ms": round(samples[max(0, round(0.95 * len(samples)) - 1)], 1), "n": repeat}


def naive_dashboard(engine) -> dict:
    """The same numbers the naive way: pandas over every raw answer row."""
    import numpy as np
    import pandas as pd

    from scoring import enps, favorability

    frame = pd.read_sql(
        "SELECT r.round_id, r.department_id, a.question_id, a.kind, a.value_int, a.value_text "
        "FROM answers a JOIN responses r ON r.id = a.response_id "
        "JOIN rounds o ON o.id = r.round_id WHERE o.status = 'closed'", engine)
    frame["value_int"] = frame.value_int.astype("Int64")  # NULL for text answers makes the column float
    scores = frame[frame.kind == "enps"]
    per_round = scores.groupby("round_id").value_int.apply(lambda s: enps(np.bincount(s, minlength=11).tolist()))
    latest = scores.round_id.max()
    last = frame[frame.round_id == latest]
    fav = last[last.kind == "likert"].groupby("question_id").value_int.apply(
        lambda s: favorability(np.bincount(s - 1, minlength=5).tolist()))
    departments = last[last.kind == "enps"].groupby("department_id").value_int.apply(
        lambda s: enps(np.bincount(s, minlength=11).tolist()))
    comments = last[last.kind == "text"].value_text.tolist()
    return {"rounds": len(per_round), "drivers": len(fav), "departments": len(departments),
            "comments": len(comments)}


def measure(employees: int, weeks: int, repeat: int, naive_repeat: int) -> dict:
    from app import create_app
    from dashboards import services
    from extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        started = time.perf_counter()
        seed(path, employees, weeks)
        seeded = time.perf_counter() - started
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "WTF_CSRF_ENABLED": False,
                          "SECRET_KEY": "bench", "TESTING": True})
        with app.app_context():
            survey = services.enps_survey()
            latest = services.closed_rounds(survey)[-1]
            client = app.test_client()
            client.post("/login", data={"email": "hr@polso.example", "password": "polso-demo"})
            token = client.post("/api/v1/auth/token", json={"email": "hr@polso.example",
                                                            "password": "polso-demo"}).get_json()["token"]
            headers = {"Authorization": f"Bearer {token}"}

            def data():
                db.session.expire_all()
                return services.dashboard(survey, services.Scope("company"))

            def page():
                assert client.get("/results").status_code == 200

            def round_results():
                assert client.get(f"/api/v1/rounds/{latest.id}/results", headers=headers).status_code == 200

            result = {"employees": employees, "weeks": weeks, "seed_s": round(seeded, 1),
                      "dashboard_data": timed(data, repeat), "hr_page": timed(page, repeat),
                      "round_results_api": timed(round_results, repeat),
                      "naive_dashboard_data": timed(lambda: naive_dashboard(db.engine), naive_repeat)}
            db.session.remove()
            db.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=10000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--naive-repeat", type=int, default=5)
    args = parser.parse_args()
    full = measure(args.employees, args.weeks, args.repeat, args.naive_repeat)
    quarter = measure(args.employees // 4, args.weeks, args.repeat, args.naive_repeat)
    report = {
        "full": full, "quarter": quarter,
        "speedup_vs_naive": round(full["naive_dashboard_data"]["median_ms"] / full["dashboard_data"]["median_ms"], 1),
        "full_over_quarter": round(full["dashboard_data"]["median_ms"] / quarter["dashboard_data"]["median_ms"], 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
