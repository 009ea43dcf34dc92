"""The floor of ``bench/load.py``: a bare Flask app that stores an answer with one INSERT in a transaction.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 .venv/bin/gunicorn --workers 4 'bench.floor:create_app()'

``POST /answer`` with a JSON body (what the API's ``POST /api/v1/rounds/<id>/responses`` gets) inserts one
row under a random key, in its own transaction, and answers 201. It reads no token, person, round or
survey, checks nothing and renders nothing: what Polso's answer path costs beyond it is Polso's own work.
On SQLite it opens connections as Polso does (WAL, ``busy_timeout``); ``create_table`` makes its table,
``bench_floor``, in the benchmark's scratch database before the workers start.
"""

from __future__ import annotations

import json
import os
import uuid

import sqlalchemy as sa
from flask import Flask, jsonify, request

TABLE = "bench_floor"


def engine_for(url: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()
    return engine


def create_table(url: str) -> None:
    engine = engine_for(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id VARCHAR(32) PRIMARY KEY, body TEXT NOT NULL)")
    engine.dispose()


def count(url: str) -> int:
    engine = engine_for(url)
    with engine.connect() as connection:
        n = connection.exec_driver_sql(f"SELECT count(*) FROM {TABLE}").scalar()
    engine.dispose()
    return n


def create_app(url: str | None = None) -> Flask:
    engine = engine_for(url or os.environ["DATABASE_URL"])
    insert = sa.text(f"INSERT INTO {TABLE} (id, body) VALUES (:id, :body)")
    app = Flask(__name__)

    @app.post("/answer")
    def answer():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify({"error": "The body must be a JSON object."}), 400
        with engine.begin() as connection:
            connection.execute(insert, {"id": uuid.uuid4().hex, "body": json.dumps(body)})
        return jsonify({"status": "recorded"}), 201

    return app
