"""``flask --app app anonymity audit``: check a live instance against the storage rules.

It reads what every package stores (ballots and responses, stored results, the outbox), so it
sits at the top with the other app-level commands and no package imports it.

Each check reads the database as an administrator could and reports what it
found; :func:`run` returns them all, and the command exits 1 if any failed.
What the checks cannot see (a live observer of the database server, the
logs of a proxy in front of the app) is listed in ``docs/anonymity.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from dashboards.models import RoundResult
from dashboards.results import count_round, stored_trees
from extensions import db
from logs import TOKEN_PATH
from mail.models import OutboxMessage
from mail.services import EPHEMERAL_KINDS
from people.models import Person
from scoring.segments import WHOLE
from surveys.models import Ballot, Invitation, Response, Round, Survey

ANSWER_TABLES = ("responses", "answers", "ballots")
# A comment's conversation: its thread and messages (``surveys.models.ReplyThread``).
REPLY_TABLES = ("reply_threads", "reply_messages")
# A column name that would say when, or who.
_TELLING_NAME = re.compile(r"(_at|_on|date|time|stamp|person|invitation|token|email|address|user)", re.I)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def check_ballot_box() -> Check:
    closed = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).join(Round, Round.id == Ballot.round_id)
                               .where(Round.status == "closed"))
    waiting = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot))
    return Check("ballot box", closed == 0,
                 f"{closed} ballots wait for closed rounds; {waiting - closed} wait for open rounds")


def check_no_time_in_answers() -> Check:
    inspector = sa.inspect(db.session.get_bind())
    problems = []
    for table in ANSWER_TABLES:
        for column in inspector.get_columns(table):
            kind = column["type"]
            if isinstance(kind, sa.Date | sa.DateTime | sa.Time | sa.Interval) or _TELLING_NAME.search(column["name"]):
                problems.append(f"{table}.{column['name']}")
    if _dialect() == "sqlite":
        for table in ANSWER_TABLES:
            sql = db.session.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                                     {"t": table}).scalar() or ""
            if "WITHOUT ROWID" not in sql.upper():
                problems.append(f"{table} keeps a rowid (insertion order)")
    detail = "; ".join(problems) if problems else (
        f"no date, time, person or order column in {', '.join(ANSWER_TABLES)}"
        + (" (WITHOUT ROWID tables)" if _dialect() == "sqlite" else ""))
    return Check("response store", not problems, detail)


def check_segments() -> Check:
    """Every stored (department, manager, tenure band) is shared by k invited people, or by k responses."""
    segment = (Response.department_id, Response.manager_id, Response.tenure_band)
    stored = db.session.execute(sa.select(Response.round_id, *segment, sa.func.count()).group_by(
        Response.round_id, *segment)).all()
    cell = (Invitation.cell_department_id, Invitation.cell_manager_id, Invitation.cell_tenure_band)
    invited = {(r, d, m, t): n for r, d, m, t, n in db.session.execute(
        sa.select(Invitation.round_id, *cell, sa.func.count()).group_by(Invitation.round_id, *cell))}
    ks = dict(db.session.execute(sa.select(Round.id, Survey.min_group_size).join(Survey)).all())
    bad, smallest = [], None
    for round_id, d, m, t, responses in stored:
        if (d, m, t) == WHOLE:
            continue
        crowd = max(invited.get((round_id, d, m, t), 0), responses)
        smallest = crowd if smallest is None else min(smallest, crowd)
        if crowd < ks[round_id]:
            bad.append(f"round {round_id} ({d}, {m}, {t}): {crowd}")
    detail = (f"{len(stored)} stored segment combinations, each shared by at least k"
              + (f" (smallest crowd {smallest})" if smallest is not None else ""))
    return Check("segments", not bad, "; ".join(bad[:10]) + (" ..." if len(bad) > 10 else "") if bad else detail)


def check_outbox() -> Check:
    kinds = OutboxMessage.kind.in_(EPHEMERAL_KINDS)
    sent = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        kinds, OutboxMessage.sent_at.is_not(None)))
    given_up = db.session.execute(sa.select(OutboxMessage.body_text, OutboxMessage.body_html).where(
        kinds, OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at.is_(None))).all()
    with_link = sum(bool(TOKEN_PATH.search(f"{text} {html or ''}")) for text, html in given_up)
    pending = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        kinds, OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at.is_not(None)))
    return Check("outbox", sent == 0 and with_link == 0,
                 f"{sent} sent survey e-mails kept, {with_link} refused ones still hold a link; "
                 f"{pending} waiting to be sent")


def _person_tables() -> list[str]:
    """Tables whose rows name a person: people itself, anything with a key to it, and the outbox."""
    names = {Person.__tablename__, OutboxMessage.__tablename__}
    for table in db.metadata.sorted_tables:
        if table.name in (*ANSWER_TABLES, *REPLY_TABLES, RoundResult.__tablename__):
            continue
        if any(fk.column.table.name in {Person.__tablename__, Invitation.__tablename__}
               for fk in table.foreign_keys):
            names.add(table.name)
    return sorted(names)


def check_transaction_ids() -> Check:
    if _dialect() != "postgresql":
        return Check("transaction ids", True, "not applicable: SQLite keeps no transaction id in rows")
    tables = _person_tables()
    # HR's replies name their author: they are people's rows; a respondent's, and a thread nobody
    # from HR has closed, must share no transaction with any of them.
    union = " UNION ".join([f"SELECT xmin::text AS x FROM {name}" for name in tables]
                           + ["SELECT xmin::text AS x FROM reply_messages WHERE side = 'hr'"])
    shared = 0
    for rows in ("responses", "answers", "reply_threads WHERE NOT closed",
                 "reply_messages WHERE side = 'respondent'"):
        where = " AND " if " WHERE " in rows else " WHERE "
        shared += db.session.execute(sa.text(
            f"SELECT count(*) FROM {rows}{where}xmin::text IN ({union})")).scalar()
    split = db.session.execute(sa.text(
        "SELECT count(*) FROM (SELECT r.round_id FROM responses r JOIN rounds ON rounds.id = r.round_id"
        " WHERE rounds.status = 'closed' GROUP BY r.round_id HAVING count(DISTINCT r.xmin::text) > 1) AS s")).scalar()
    return Check("transaction ids", shared == 0 and split == 0,
                 f"{shared} response, answer or reply rows share a transaction id with rows of {len(tables)} "
                 f"tables that name people; {split} closed rounds keep batches apart")


def check_stored_results() -> Check:
    """Every closed round's shown results are the stored answers' figures, and together they meet the
    invariant (atoms of 0 or at least k invited people, respondents and answers to each question)."""
    bad, rounds = [], 0
    for round_id, k in db.session.execute(sa.select(Round.id, Survey.min_group_size).join(Survey)
                                          .where(Round.status == "closed").order_by(Round.id)).all():
        rounds += 1
        stored = {(r.kind, r.key): r for r in db.session.scalars(
            sa.select(RoundResult).where(RoundResult.round_id == round_id))}
        if not stored:
            bad.append(f"round {round_id}: no stored results")
            continue
        trees = stored_trees(round_id)
        tally = count_round(round_id)
        expected = {(row["kind"], row["key"]): row for row in tally.rows(round_id, trees, k)}
        for key, row in stored.items():
            if not row.shown:
                continue  # hiding more than the guard would is always safe
            want = expected.get(key)
            if row.responses < k:
                bad.append(f"round {round_id} {key}: shown with {row.responses} responses")
            elif want is None or row.responses != want["responses"] or any(
                    want["histograms"].get(q) != h for q, h in (row.histograms or {}).items()):
                bad.append(f"round {round_id} {key}: shown with figures the stored answers do not give")
        shown = {key for key, row in stored.items() if row.shown}
        cells, groups = tally.guard_input(trees)
        members = {g: groups.get(g, set()) for g in shown}
        checks = [("invited people", shown, lambda cell: cell.invited),
                  ("respondents", shown, lambda cell: cell.respondents)]
        for index, question in enumerate(tally.guarded_questions()):
            with_answers = {g for g in shown if str(question) in (stored[g].histograms or {})}
            checks.append((f"answers to question {question}", with_answers, lambda cell, i=index: cell.answers[i]))
        for what, visible, value in checks:
            atoms: dict[frozenset, int] = {}
            for index, cell in enumerate(cells):
                signature = frozenset(g for g in visible if index in members[g])
                atoms[signature] = atoms.get(signature, 0) + value(cell)
            bad.extend(f"round {round_id}: {n} {what} in exactly the shown groups {sorted(atom)[:3]}"
                       f"{' ...' if len(atom) > 3 else ''}" for atom, n in atoms.items() if atom and 0 < n < k)
    return Check("stored results", not bad,
                 "; ".join(bad[:10]) + (" ..." if len(bad) > 10 else "") if bad
                 else f"{rounds} closed rounds: every combination of shown groups holds 0 or ≥ k invited people, "
                      "respondents and answers to each question")


CHECKS = (check_ballot_box, check_no_time_in_answers, check_segments, check_outbox, check_transaction_ids,
          check_stored_results)


def run() -> list[Check]:
    results = [check() for check in CHECKS]
    db.session.rollback()
    return results

