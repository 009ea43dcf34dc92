"""answers no database, backup or log can tie to a person

Revision ID: 0008_anonymous_storage
Revises: 0007_reward_edits

- ``ballots``: answers wait here, encrypted with a key outside the database,
  written with the invitation's "answered" mark, until they are mixed into
  the response store in shuffled batches.
- ``invitation_links``: personal links carry a random token; only its
  SHA-256 is stored. Links made before this revision were a signed
  invitation id and stop working.
- ``invitations`` gain the generalised segment snapshotted at opening,
  ``rounds`` the trees at opening.
- ``responses`` and ``answers`` are rebuilt: new random keys, rows written
  in random order (on SQLite as WITHOUT ROWID tables), ``submitted_on``
  dropped, and each round's segments generalised so that every stored
  (department, manager, tenure band) combination is shared by at least k of
  the round's responses (the invitations of past rounds hold no snapshot, so
  responses are the crowd that can be proved).
- Survey invitations and reminders in the outbox are deleted: sent ones
  linked a recipient to a round, and unsent ones carry links that no longer
  work (invitees answer from their home page after signing in).

Run ``flask --app app results recount`` afterwards so the stored results are
counted from the generalised segments, then ``flask --app app anonymity
audit``. Downgrading is refused: the old order and dates are gone on purpose.
"""
import json
import secrets
import uuid
from collections import Counter, defaultdict

import sqlalchemy as sa
from alembic import op

from scoring.segments import generalise

# revision identifiers, used by Alembic.
revision = '0008_anonymous_storage'
down_revision = '0007_reward_edits'
branch_labels = None
depends_on = None

TENURE_CHECK = "tenure_band IN ('<1y', '1-2y', '2-5y', '5y+')"
VALUE_CHECK = (
    "(kind = 'enps' AND value_int BETWEEN 0 AND 10 AND value_text IS NULL)"
    " OR (kind = 'likert' AND value_int BETWEEN 1 AND 5 AND value_text IS NULL)"
    " OR (kind = 'choice' AND value_int >= 0 AND value_text IS NULL)"
    " OR (kind = 'text' AND value_int IS NULL AND length(value_text) BETWEEN 1 AND 2000)")


def _segment_columns(table):
    return [
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('manager_id', sa.Integer(), nullable=True),
        sa.Column('tenure_band', sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=f'fk_{table}_department_id_departments', ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['manager_id'], ['people.id'], name=f'fk_{table}_manager_id_people',
                                ondelete='SET NULL'),
    ]


def _create_responses(name: str) -> None:
    op.create_table(
        name,
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        *_segment_columns('responses'),
        sa.CheckConstraint(TENURE_CHECK, name='ck_responses_tenure_band_known'),
        sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name='fk_responses_round_id_rounds',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=f'pk_{name}'),
        sqlite_with_rowid=False,
    )


def _create_answers(name: str, responses: str) -> None:
    op.create_table(
        name,
        sa.Column('response_id', sa.Uuid(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('value_int', sa.Integer(), nullable=True),
        sa.Column('value_text', sa.Text(), nullable=True),
        sa.CheckConstraint(VALUE_CHECK, name='ck_answers_value_fits_kind'),
        sa.ForeignKeyConstraint(['question_id'], ['survey_questions.id'],
                                name='fk_answers_question_id_survey_questions', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['response_id'], [f'{responses}.id'], name='fk_answers_response_id_responses',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('response_id', 'question_id', name=f'pk_{name}'),
        sqlite_with_rowid=False,
    )


def _trees(bind):
    departments = dict(bind.execute(sa.text("SELECT id, parent_id FROM departments")).all())
    bosses = dict(bind.execute(sa.text("SELECT id, manager_id FROM people")).all())
    return departments, bosses


def upgrade():
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        # Freed pages (the old tables, deleted ballots) are overwritten with zeros, not left in the file.
        bind.exec_driver_sql("PRAGMA secure_delete = ON")

    op.create_table(
        'ballots',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('sealed', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name='fk_ballots_round_id_rounds', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_ballots'),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_ballots_round_id', 'ballots', ['round_id'])
    op.create_table(
        'invitation_links',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('invitation_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'],
                                name='fk_invitation_links_invitation_id_invitations', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token_hash', name='pk_invitation_links'),
    )
    op.create_index('ix_invitation_links_invitation_id', 'invitation_links', ['invitation_id'])
    with op.batch_alter_table('rounds') as batch_op:
        batch_op.add_column(sa.Column('snapshot', sa.JSON(), nullable=True))
    with op.batch_alter_table('invitations') as batch_op:
        batch_op.add_column(sa.Column('cell_department_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cell_manager_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cell_tenure_band', sa.String(length=8), nullable=True))
        batch_op.create_foreign_key('fk_invitations_cell_department_id_departments', 'departments',
                                    ['cell_department_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_invitations_cell_manager_id_people', 'people',
                                    ['cell_manager_id'], ['id'], ondelete='SET NULL')

    departments, bosses = _trees(bind)
    managers = {m for m in bosses.values() if m is not None}
    manager_parent = {m: bosses.get(m) for m in managers}

    # Re-key, generalise and shuffle every stored response.
    _create_responses('responses_new')
    _create_answers('answers_new', 'responses_new')
    op.create_table('response_rekey', sa.Column('old_id', sa.Uuid(), primary_key=True),
                    sa.Column('new_id', sa.Uuid(), nullable=False))
    rekey = sa.table('response_rekey', sa.column('old_id', sa.Uuid()), sa.column('new_id', sa.Uuid()))
    new = sa.table('responses_new', sa.column('id', sa.Uuid()), sa.column('round_id', sa.Integer()),
                   sa.column('department_id', sa.Integer()), sa.column('manager_id', sa.Integer()),
                   sa.column('tenure_band', sa.String()))
    shuffle = secrets.SystemRandom().shuffle
    by_round = defaultdict(list)
    old = sa.table('responses', sa.column('id', sa.Uuid()), sa.column('round_id', sa.Integer()),
                   sa.column('department_id', sa.Integer()), sa.column('manager_id', sa.Integer()),
                   sa.column('tenure_band', sa.String()))
    for row in bind.execute(sa.select(old.c.id, old.c.round_id, old.c.department_id, old.c.manager_id,
                                      old.c.tenure_band)):
        by_round[row.round_id].append(row)
    ks = dict(bind.execute(sa.text("SELECT r.id, s.min_group_size FROM rounds r JOIN surveys s"
                                   " ON s.id = r.survey_id")).all())
    for round_id, rows in by_round.items():
        counts = Counter((r.department_id, r.manager_id, r.tenure_band) for r in rows)
        mapping = generalise(counts, departments, manager_parent, ks[round_id])
        shuffle(rows)
        new_rows, pairs = [], []
        for r in rows:
            key = uuid.uuid4()
            d, m, t = mapping[(r.department_id, r.manager_id, r.tenure_band)]
            new_rows.append({"id": key, "round_id": round_id, "department_id": d, "manager_id": m, "tenure_band": t})
            pairs.append({"old_id": r.id, "new_id": key})
        bind.execute(sa.insert(new), new_rows)
        bind.execute(sa.insert(rekey), pairs)
    bind.exec_driver_sql(
        "INSERT INTO answers_new (response_id, question_id, kind, value_int, value_text)"
        " SELECT k.new_id, a.question_id, a.kind, a.value_int, a.value_text"
        " FROM answers a JOIN response_rekey k ON k.old_id = a.response_id ORDER BY k.new_id, a.question_id")
    op.drop_table('answers')
    op.drop_table('responses')
    op.drop_table('response_rekey')
    op.rename_table('responses_new', 'responses')
    op.rename_table('answers_new', 'answers')
    if not sqlite:
        # Index names are unique per schema, so the new tables' keys had names of their own until now.
        op.execute("ALTER TABLE responses RENAME CONSTRAINT pk_responses_new TO pk_responses")
        op.execute("ALTER TABLE answers RENAME CONSTRAINT pk_answers_new TO pk_answers")
    op.create_index('ix_responses_round_id', 'responses', ['round_id'])
    op.create_index('ix_answers_question_id', 'answers', ['question_id'])

    op.execute("DELETE FROM outbox WHERE kind IN ('invitation', 'reminder')")

    # Invitations name people: on PostgreSQL rows written in one transaction share its id, so they are
    # written in a subtransaction (a savepoint has an id of its own), and the migration stays atomic.
    with bind.begin_nested():
        _snapshot_open_rounds(bind, departments, managers, manager_parent)


def _snapshot_open_rounds(bind, departments, managers, manager_parent):
    """Open rounds: the trees and each invitation's generalised segment, as of now."""
    for round_id, k in bind.execute(sa.text(
            "SELECT r.id, s.min_group_size FROM rounds r JOIN surveys s ON s.id = r.survey_id"
            " WHERE r.status = 'open'")).all():
        members = bind.execute(sa.text(
            "SELECT i.id, p.department_id, p.manager_id FROM invitations i JOIN people p ON p.id = i.person_id"
            " WHERE i.round_id = :r"), {"r": round_id}).all()
        counts = Counter((d, m, None) for _i, d, m in members)
        mapping = generalise(counts, departments, manager_parent, k)
        for invitation_id, d, m in members:
            cell = mapping[(d, m, None)]
            bind.execute(sa.text(
                "UPDATE invitations SET cell_department_id = :d, cell_manager_id = :m, cell_tenure_band = :t"
                " WHERE id = :i"), {"d": cell[0], "m": cell[1], "t": cell[2], "i": invitation_id})
        snapshot = {"department": {str(d): (p if p in departments else -1) for d, p in departments.items()},
                    "manager": {str(m): (p if p in managers else -1) for m, p in manager_parent.items()}}
        bind.execute(sa.text("UPDATE rounds SET snapshot = :s WHERE id = :r"),
                     {"s": json.dumps(snapshot), "r": round_id})



def downgrade():
    raise RuntimeError("0008_anonymous_storage cannot be undone: the old order and dates are gone on purpose")
