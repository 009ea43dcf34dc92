"""The ballot box: answers wait here, then reach the response store mixed.

``cast`` writes a ballot in the same transaction that marks the invitation
answered, so one response per invitation holds and a crash loses nothing.
A ballot names no person, invitation, token or time. While it waits, its
row was written in the same transaction as the invitation's mark (on
PostgreSQL the two share a transaction id), so its content, the answers and
the invitee's generalised segment, is sealed with AES-GCM under a key kept
outside the database (``POLSO_BALLOT_KEY``, by default derived from
``SECRET_KEY``): a copy of the database cannot read a waiting ballot.

``mix`` therefore moves ballots into ``responses`` and ``answers`` in
batches of at least k (all that remain once the round has closed): it
deletes them and writes the batch in shuffled order with new random keys,
in a transaction that writes nothing about people. When the round closes,
its last ballots and every response mixed before are written again as one
shuffled batch, so a closed round's responses share one transaction and no
order: the earlier batches cannot be told apart afterwards. After it, no stored
value, row order or transaction id tells which invitation a response came
from; within a batch, an observer can narrow a response down to the batch,
a crowd of at least k.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import uuid
from collections import defaultdict
from collections.abc import Mapping

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from errors import driver_errors
from extensions import db
from surveys.models import Answer, Ballot, Invitation, Question, ReplyThread, Response, Round, Survey

_shuffle = secrets.SystemRandom().shuffle
logger = logging.getLogger("polso.surveys")


def _cipher() -> AESGCM:
    """AES-256-GCM under ``POLSO_BALLOT_KEY``, or a key derived from ``SECRET_KEY``: never in the database."""
    secret = current_app.config.get("POLSO_BALLOT_KEY") or current_app.config["SECRET_KEY"]
    return AESGCM(hashlib.sha256(b"polso.ballots\0" + str(secret).encode()).digest())


def seal(round_id: int, content: list) -> bytes:
    """Encrypt a ballot's content, bound to its round; a random nonce, and no time in it (unlike Fernet)."""
    nonce = os.urandom(12)
    return nonce + _cipher().encrypt(nonce, json.dumps(content).encode(), str(round_id).encode())


def unseal(round_id: int, sealed: bytes, cipher: AESGCM | None = None) -> list:
    """:raise cryptography.exceptions.InvalidTag: sealed under another key or for another round.

    ``cipher`` is ``_cipher()``, made once by a caller opening many ballots."""
    return json.loads((cipher or _cipher()).decrypt(sealed[:12], sealed[12:], str(round_id).encode()))


_CAST = sa.insert(Ballot.__table__)


def cast(invitation: Invitation, values: Mapping[int, tuple[int | None, str | None]],
         reply_hashes: Mapping[int, str] | None = None) -> None:
    """Write the ballot for ``invitation`` (already claimed as answered) in the session's transaction; the
    caller commits.

    ``reply_hashes`` maps a comment's question to the hash of its secret reply link: it travels
    sealed with the comment, and is stored with it when mixed.
    """
    hashes = reply_hashes or {}
    content = [invitation.cell_department_id, invitation.cell_manager_id, invitation.cell_tenure_band,
               [[qid, number, text, hashes.get(qid)] for qid, (number, text) in values.items()]]
    # A Core insert built once: no unit of work to flush at commit, on the path every answer takes.
    db.session.connection().execute(_CAST, {"id": uuid.uuid4(), "round_id": invitation.round_id,
                                            "sealed": seal(invitation.round_id, content)})


def waiting(round_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).where(Ballot.round_id == round_id))


def mix(round_id: int, k: int, *, final: bool) -> int:
    """Move the round's ballots into the response store if at least ``k`` wait (any number if ``final``).

    Runs in the caller's transaction, which must write nothing about people;
    the caller commits. If another mixer claimed ballots first and fewer than
    ``k`` are left, the transaction is rolled back. Returns how many ballots were moved (0 when fewer
    than ``k`` waited). Safe under concurrent callers: ballots are claimed by
    deleting them, so each reaches the store once.
    """
    if not final and waiting(round_id) < k:
        return 0
    sealed = db.session.scalars(sa.delete(Ballot).where(Ballot.round_id == round_id).returning(Ballot.sealed)).all()
    try:
        cipher = _cipher()
        ballots = [tuple(unseal(round_id, blob, cipher)) for blob in sealed]
    except InvalidTag:
        # Sealed under another key (SECRET_KEY or POLSO_BALLOT_KEY changed): keep them for an operator.
        db.session.rollback()
        logger.error("Ballots of round %s cannot be opened with the configured key; they stay in the box", round_id)
        return 0
    if not final and len(ballots) < k:
        # Another mixer took most of them first: put the rest back by rolling back, for a later batch of k.
        db.session.rollback()
        return 0
    moved = len(ballots)
    if final:
        # The round's whole store is written again with the last ballots, in one shuffled batch:
        # afterwards no transaction id or row order tells the round's earlier batches apart.
        ballots += _take_back(round_id)
    if not ballots:
        return 0
    _shuffle(ballots)
    kinds = _question_kinds(round_id)
    responses, answers = [], []
    for department_id, manager_id, band, values in ballots:
        key = uuid.uuid4()
        responses.append({"id": key, "round_id": round_id, "department_id": department_id,
                          "manager_id": manager_id, "tenure_band": band})
        answers.extend({"response_id": key, "question_id": qid, "kind": kinds[qid], "value_int": number,
                        "value_text": text, "reply_hash": reply if kinds[qid] == "text" else None}
                       for qid, number, text, reply in map(_value, values) if qid in kinds)
    insert_rows(Response.__table__, responses)
    insert_rows(Answer.__table__, answers)
    if final:
        _open_threads(round_id, [a["reply_hash"] for a in answers if a["reply_hash"]])
    return moved


def insert_rows(table: sa.Table, rows: list[dict]) -> None:
    """Write ``rows`` (dicts with the same keys, columns of ``table``) in the session's transaction, in
    their order; the caller commits.

    On PostgreSQL with ``COPY ... FROM STDIN``, several times faster than an INSERT per row (what
    psycopg's executemany sends) for the tens of thousands of rows of a round; elsewhere one executemany.
    A JSON value is written as SQLAlchemy writes it (``json.dumps``, None as JSON ``null``).
    """
    if not rows:
        return
    connection = db.session.connection()
    columns = list(rows[0])
    types = [table.c[column].type for column in columns]
    # COPY sends values as psycopg dumps them: a type that converts its values itself goes through INSERT.
    if connection.dialect.name != "postgresql" or any(isinstance(kind, sa.types.TypeDecorator) for kind in types):
        connection.execute(sa.insert(table), rows)
        return
    if any(len(row) != len(columns) for row in rows):
        raise ValueError("insert_rows takes rows with the same columns")
    as_json = [isinstance(kind, sa.JSON) for kind in types]
    quoted = ", ".join(connection.dialect.identifier_preparer.quote(name) for name in columns)
    name = connection.dialect.identifier_preparer.format_table(table)
    with driver_errors(connection), connection.connection.driver_connection.cursor() as cursor, \
            cursor.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
        if not any(as_json):
            for row in rows:
                copy.write_row([row[column] for column in columns])
            return
        for row in rows:
            copy.write_row([json.dumps(row[column]) if is_json else row[column]
                            for column, is_json in zip(columns, as_json, strict=True)])


def _value(value: list) -> tuple:
    """A ballot's answer as (question, number, text, reply hash); ballots sealed before replies have no hash."""
    return (*value, None)[:4] if len(value) == 3 else tuple(value)


def _open_threads(round_id: int, hashes: list[str]) -> None:
    """The round's reply threads, for the comments whose writers opted in and have none yet: written
    together in the round's last mixing transaction, in shuffled order, under random keys."""
    existing = set(db.session.scalars(sa.select(ReplyThread.reply_hash).where(ReplyThread.round_id == round_id)))
    new = [h for h in hashes if h not in existing]
    _shuffle(new)
    if new:
        db.session.execute(sa.insert(ReplyThread), [{"id": uuid.uuid4(), "round_id": round_id, "reply_hash": h,
                                                     "closed": False} for h in new])


def _take_back(round_id: int) -> list[tuple]:
    """Remove every stored response of the round and return them as ballots, to be written again."""
    of_round = sa.select(Response.id).where(Response.round_id == round_id)
    values: dict = defaultdict(list)
    for response_id, qid, number, text, reply in db.session.execute(
            sa.select(Answer.response_id, Answer.question_id, Answer.value_int, Answer.value_text, Answer.reply_hash)
            .where(Answer.response_id.in_(of_round))):
        values[response_id].append([qid, number, text, reply])
    taken = [(d, m, t, values[key]) for key, d, m, t in db.session.execute(
        sa.select(Response.id, Response.department_id, Response.manager_id, Response.tenure_band)
        .where(Response.round_id == round_id))]
    db.session.execute(sa.delete(Answer).where(Answer.response_id.in_(of_round)))
    db.session.execute(sa.delete(Response).where(Response.round_id == round_id))
    return taken


def _question_kinds(round_id: int) -> dict[int, str]:
    survey_id = sa.select(Round.survey_id).where(Round.id == round_id).scalar_subquery()
    return dict(db.session.execute(sa.select(Question.id, Question.kind).where(Question.survey_id == survey_id)).all())


def rounds_to_mix() -> list[tuple[int, int, bool]]:
    """(round id, k, final) for every round with ballots to move now: open rounds with k or more
    waiting, and closed rounds with any (which a crash between closing and mixing could leave)."""
    rows = db.session.execute(
        sa.select(Ballot.round_id, Survey.min_group_size, Round.status, sa.func.count())
        .join(Round, Round.id == Ballot.round_id).join(Survey, Survey.id == Round.survey_id)
        .group_by(Ballot.round_id, Survey.min_group_size, Round.status)).all()
    return [(round_id, k, status == "closed") for round_id, k, status, n in rows if status == "closed" or n >= k]
