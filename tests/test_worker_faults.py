"""Faults under load, with real processes: a gunicorn worker killed with SIGKILL while answers arrive.

Every 201 is stored, nothing is stored twice, and a request cut off by the kill is either stored (its
retry is told "already answered") or not stored at all (its retry is stored): the accounting closes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from surveys import building, rounds
from surveys.models import Ballot, Invitation, Response

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 60
CLIENTS = 6


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(database_uri, tmp_path):
    """gunicorn with two sync workers on the test database, as the README runs it; yields (url, master).

    Its log goes to a file: a pipe nobody reads would stop the workers once it holds 64 KiB."""
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": database_uri, "SECRET_KEY": "test-secret", "POLSO_ENV": "production",
           "POLSO_BASE_URL": f"http://127.0.0.1:{port}", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    master = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
                               "--timeout", "30", "--graceful-timeout", "5", "app:create_app()"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/login", timeout=10).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        master.kill()
        pytest.fail("gunicorn did not start: " + log.read_text(errors="replace")[-2000:])
    yield url, master
    master.terminate()
    try:
        master.wait(timeout=15)
    except subprocess.TimeoutExpired:
        master.kill()


def _workers(master: subprocess.Popen) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def test_a_worker_killed_mid_load_loses_and_doubles_nothing(db, factory, api_token, served):
    url, master = served
    team = factory.department("Team")
    people = [factory.person(f"p{i}@example.com", department=team) for i in range(PEOPLE)]
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, datetime.now(UTC))
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    question, round_id = survey.questions[0].id, round_.id
    headers = [api_token(p.email) for p in people]
    db.session.commit()

    outcomes: Counter = Counter()
    lock = threading.Lock()
    queue = list(range(PEOPLE))

    def post(index: int) -> int | None:
        try:
            return requests.post(f"{url}/api/v1/rounds/{round_id}/responses", headers=headers[index],
                                 json={"answers": [{"question_id": question, "value": index % 11}]},
                                 timeout=30).status_code
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            # Cut off by the kill: before the response, or (the answer already committed) in its middle.
            return None

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                index = queue.pop()
            status = post(index)
            if status is None:  # cut off by the kill: was it stored? Ask again.
                retry = post(index)
                status = {201: "stored on retry", 409: "stored before the cut"}.get(retry, f"retry {retry}")
            with lock:
                outcomes[status] += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    while sum(outcomes.values()) < PEOPLE // 3 and any(t.is_alive() for t in threads):
        time.sleep(0.01)
    victims = _workers(master)
    assert victims, "no gunicorn worker to kill"
    os.kill(victims[0], signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=120)

    assert set(outcomes) <= {201, "stored on retry", "stored before the cut"}, outcomes
    db.session.expire_all()
    stored = (db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).where(Ballot.round_id == round_id))
              + db.session.scalar(sa.select(sa.func.count()).select_from(Response)
                                  .where(Response.round_id == round_id)))
    answered = db.session.scalar(sa.select(sa.func.count()).select_from(Invitation).where(
        Invitation.round_id == round_id, Invitation.answered.is_(True)))
    assert stored == answered == PEOPLE == sum(outcomes.values()), outcomes
    assert victims[0] not in _workers(master)  # the master replaced the killed worker
    assert requests.get(f"{url}/login", timeout=10).status_code == 200
