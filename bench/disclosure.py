"""How much the disclosure guard shows on a demo organisation: groups with at least k answers that are shown.

    .venv/bin/python bench/disclosure.py [--database URL] [--employees 300 --weeks 12]

Without ``--database`` it seeds a fresh SQLite demo organisation in a temporary folder (the
``demo seed`` command, same seed as ``make run``). It reads the stored results of every closed round,
as every page does, and prints, pooled over rounds:

- departments and managers' teams (what HR sees) with at least k answers: the share shown;
- managers' own teams (their organisation) with at least k answers, and with at least k + 1: the share
  shown, i.e. the share of managers who see their own team.

It only reads ``round_results`` (kind, key, responses, shown), so it also measures a database written
by an older version.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent


def seed(employees: int, weeks: int, folder: str) -> str:
    url = f"sqlite:///{folder}/bench.sqlite3"
    env = {**os.environ, "DATABASE_URL": url, "POLSO_ENV": "development"}
    flask = [sys.executable, "-m", "flask", "--app", str(ROOT / "app.py")]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run([*flask, "demo", "seed", "--employees", str(employees), "--weeks", str(weeks)], env=env,
                   check=True, capture_output=True, cwd=ROOT)
    return url


def measure(url: str) -> dict[str, tuple[int, int]]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT rr.kind, rr.responses, rr.shown, s.min_group_size FROM round_results rr"
            " JOIN rounds r ON r.id = rr.round_id JOIN surveys s ON s.id = r.survey_id"
            " WHERE r.status = 'closed' AND rr.kind IN ('department', 'manager')")).all()
        reasons = Counter(reason for (reason,) in connection.execute(sa.text(
            "SELECT reason FROM round_results WHERE kind = 'manager' AND shown = false")))
    out: dict[str, list[int]] = {"departments with >= k answers": [0, 0], "teams with >= k answers": [0, 0],
                                 "managers' own teams with >= k + 1 answers": [0, 0]}
    for kind, responses, shown, k in rows:
        if responses >= k:
            name = "departments with >= k answers" if kind == "department" else "teams with >= k answers"
            out[name][0] += bool(shown)
            out[name][1] += 1
        if kind == "manager" and responses >= k + 1:
            out["managers' own teams with >= k + 1 answers"][0] += bool(shown)
            out["managers' own teams with >= k + 1 answers"][1] += 1
    out_t = {name: (a, b) for name, (a, b) in out.items()}
    out_t["hidden teams by reason"] = dict(reasons)  # type: ignore[assignment]
    return out_t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database")
    parser.add_argument("--employees", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or seed(args.employees, args.weeks, folder)
        for name, value in measure(url).items():
            if isinstance(value, dict):
                print(f"{name}: {value}")
            else:
                shown, total = value
                print(f"{name}: {shown} of {total} shown ({100 * shown / total if total else 0:.1f} %)")


if __name__ == "__main__":
    main()
