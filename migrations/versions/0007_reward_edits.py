"""milestone events may record an edit of draft terms

Revision ID: 0007_reward_edits
Revises: 0006_rewards

HR may now correct a plan's milestones until anyone has agreed to them; each
correction is an ``edit`` event. Only the CHECK on ``milestone_events.action``
changes. PostgreSQL swaps the constraint in place. SQLite cannot alter a CHECK,
so the table is rebuilt as its documentation describes (new table, copy,
drop, rename), and its indexes and append-only triggers are created again:
dropping the old table drops them. The rebuild copies rows with INSERT, which
the append-only triggers allow. Downgrading fails while ``edit`` events exist,
on purpose: history is not thrown away.
"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_reward_edits'
down_revision = '0006_rewards'
branch_labels = None
depends_on = None


OLD = "('create', 'agree', 'submit', 'approve', 'request-changes', 'pay', 'cancel')"
NEW = "('create', 'agree', 'submit', 'approve', 'request-changes', 'pay', 'cancel', 'edit')"
CONSTRAINT = "ck_milestone_events_action_known"
APPEND_ONLY_MESSAGE = "milestone_events is append-only: rows can be inserted, never changed or deleted"
SQLITE_AFTER_REBUILD = [
    "CREATE INDEX ix_milestone_events_actor_id ON milestone_events (actor_id)",
    "CREATE INDEX ix_milestone_events_milestone_id ON milestone_events (milestone_id)",
    *[f"CREATE TRIGGER milestone_events_no_{kind.lower()} BEFORE {kind} ON milestone_events "
      f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END" for kind in ("UPDATE", "DELETE")],
]


def _sqlite_rebuild(old: str, new: str) -> None:
    bind = op.get_bind()
    ddl = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'milestone_events'").scalar_one()
    check = f"CHECK (action IN {old})"
    if check not in ddl:
        raise RuntimeError(f"milestone_events has an unexpected definition: {ddl}")
    # After a rename SQLite keeps the name quoted ('CREATE TABLE "milestone_events"').
    ddl = re.sub(r'^CREATE TABLE\s+"?milestone_events"?', "CREATE TABLE milestone_events_rebuilt",
                 ddl.replace(check, f"CHECK (action IN {new})"), count=1)
    op.execute(ddl)
    op.execute("INSERT INTO milestone_events_rebuilt SELECT * FROM milestone_events")
    op.execute("DROP TABLE milestone_events")
    op.execute("ALTER TABLE milestone_events_rebuilt RENAME TO milestone_events")
    for sql in SQLITE_AFTER_REBUILD:
        op.execute(sql)


def _change(old: str, new: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_rebuild(old, new)
    else:
        op.drop_constraint(op.f(CONSTRAINT), "milestone_events", type_="check")
        op.create_check_constraint(op.f(CONSTRAINT), "milestone_events", sa.text(f"action IN {new}"))


def upgrade():
    _change(OLD, NEW)


def downgrade():
    _change(NEW, OLD)
