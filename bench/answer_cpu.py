"""CPU time per answer inside one gunicorn worker: the bare-INSERT floor, the API answer and the form answer.

    .venv/bin/python bench/answer_cpu.py --database sqlite --answers 400
    .venv/bin/python bench/answer_cpu.py --database postgres --answers 400

Throughput under load depends on what else the two cores are doing; the CPU a worker spends on one answer
much less so. This builds the same organisation as ``bench/load.py`` (``--answers`` + 20 people, a round per
path), serves Polso and ``bench/floor.py`` with one sync worker each, and sends the answers one at a time
from this process: the first 10 of each path warm the worker, then the worker's user + system CPU
(``/proc/<pid>/stat``) is read before and after the rest. A form answer is the page's GET and its POST.
Traffic goes only to 127.0.0.1; the scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import floor
import load

WARM_UP = 10


def worker_cpu(master: int) -> float:
    """Seconds of user + system CPU of the workers of the gunicorn ``master``."""
    pids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout.split()
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--answers", type=int, default=400, help="answers timed per path (after 10 to warm up)")
    args = parser.parse_args()
    if not 20 <= args.answers <= 20_000:
        parser.error("--answers must be within 20..20000")
    count = args.answers + WARM_UP
    with load.scratch_database(args.database, args.postgres_server) as url:
        plan = load.build(url, count + 20, ["api", "form"], [])
        floor.create_table(url)
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": load.SECRET_KEY,
               "POLSO_BASE_URL": f"http://{load.HOST}", "MAIL_SERVER": ""}
        settings = types.SimpleNamespace(workers=1, threads=1)
        log = Path(tempfile.mkdtemp(prefix="polso-answer-cpu-")) / "servers.log"
        polso, polso_port = load.serve("app:create_app()", env, settings, log)
        bare, bare_port = load.serve("bench.floor:create_app()", env, settings, log)
        rng = random.Random(1)
        api, form = plan["phases"]["api"], plan["phases"]["form"]
        body = json.dumps({"answers": [{"question_id": q, "value": v}
                                       for q, v in load.answers_for(api["questions"], rng).items()]}).encode()
        paths = {
            "floor": (bare, [lambda: load.request(bare_port, "POST", "/answer", body,
                                                  {"Content-Type": "application/json"})[0]] * count),
            "api": (polso, [lambda t=token: load.api_answer(polso_port, api["round"], t,
                                                            load.answers_for(api["questions"], rng))
                            for _id, token, _link in api["invitations"][:count]]),
            "form": (polso, [lambda link=link: load.form_answer(polso_port, link,
                                                                load.answers_for(form["questions"], rng))
                             for _id, _token, link in form["invitations"][:count]]),
        }
        try:
            print(f"{args.database}: one sync worker each, {args.answers} answers per path, one at a time")
            floor_cpu = None
            for name, (server, jobs) in paths.items():
                for job in jobs[:WARM_UP]:
                    job()
                cpu, wall = worker_cpu(server.pid), time.perf_counter()
                statuses = {job() for job in jobs[WARM_UP:]}
                cpu, wall = worker_cpu(server.pid) - cpu, time.perf_counter() - wall
                per_answer = 1000 * cpu / args.answers
                floor_cpu = floor_cpu or per_answer
                print(f"{name:6} worker CPU {per_answer:6.2f} ms per answer ({per_answer / floor_cpu:4.2f} x the "
                      f"floor's), wall clock {1000 * wall / args.answers:6.2f} ms; statuses {sorted(statuses)}",
                      flush=True)
        finally:
            load.stop(polso)
            load.stop(bare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
