"""milestone rewards

Revision ID: 0006_rewards
Revises: 0005_oneonones
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_rewards'
down_revision = '0005_oneonones'
branch_labels = None
depends_on = None


STATES = "('draft', 'agreed', 'submitted', 'changes_requested', 'approved', 'paid', 'cancelled')"
APPEND_ONLY = ("milestone_events", "milestone_payouts")
TERMS = ("plan_id", "position", "title", "criteria", "amount_minor", "due_on")
PLAN_TERMS = ("recipient_id", "approver_id", "currency", "starts_on", "payment_terms_days", "created_by_id")

# The database itself keeps the history honest: events and payouts can only be inserted, a
# milestone's terms are locked once it leaves draft, paid and cancelled are final, and a plan's
# parties, currency and payment terms never change. The application never tries any of this.
POSTGRES_UP = [
    """CREATE FUNCTION rewards_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: rows can be inserted, never changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
    END $$""",
    *[sql for table in APPEND_ONLY for sql in (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION rewards_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION rewards_append_only()")],
    f"""CREATE FUNCTION rewards_milestone_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'milestones are never deleted; cancel them' USING ERRCODE = 'restrict_violation';
      END IF;
      IF OLD.state <> 'draft' AND ({', '.join('NEW.' + c for c in TERMS)})
          IS DISTINCT FROM ({', '.join('OLD.' + c for c in TERMS)}) THEN
        RAISE EXCEPTION 'milestone terms are locked once agreed' USING ERRCODE = 'restrict_violation';
      END IF;
      IF OLD.state IN ('paid', 'cancelled') AND NEW.state IS DISTINCT FROM OLD.state THEN
        RAISE EXCEPTION 'a % milestone is final', OLD.state USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN NEW;
    END $$""",
    "CREATE TRIGGER milestones_guard BEFORE UPDATE OR DELETE ON milestones "
    "FOR EACH ROW EXECUTE FUNCTION rewards_milestone_guard()",
    f"""CREATE FUNCTION rewards_plan_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' OR ({', '.join('NEW.' + c for c in PLAN_TERMS)})
          IS DISTINCT FROM ({', '.join('OLD.' + c for c in PLAN_TERMS)}) THEN
        RAISE EXCEPTION 'a plan''s terms never change; cancel it and plan again'
          USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN NEW;
    END $$""",
    "CREATE TRIGGER milestone_plans_guard BEFORE UPDATE OR DELETE ON milestone_plans "
    "FOR EACH ROW EXECUTE FUNCTION rewards_plan_guard()",
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS milestone_plans_guard ON milestone_plans",
    "DROP FUNCTION IF EXISTS rewards_plan_guard()",
    "DROP TRIGGER IF EXISTS milestones_guard ON milestones",
    "DROP FUNCTION IF EXISTS rewards_milestone_guard()",
    *[f"DROP TRIGGER IF EXISTS {table}_{kind} ON {table}" for table in APPEND_ONLY
      for kind in ("append_only", "no_truncate")],
    "DROP FUNCTION IF EXISTS rewards_append_only()",
]


def _changed(columns):
    return " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)


SQLITE_UP = [
    *[sql for table in APPEND_ONLY for kind in ("UPDATE", "DELETE") for sql in (
        f"CREATE TRIGGER {table}_no_{kind.lower()} BEFORE {kind} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows can be inserted, never changed or deleted'); END",)],
    f"CREATE TRIGGER milestones_terms_locked BEFORE UPDATE ON milestones "
    f"WHEN OLD.state <> 'draft' AND ({_changed(TERMS)}) "
    "BEGIN SELECT RAISE(ABORT, 'milestone terms are locked once agreed'); END",
    "CREATE TRIGGER milestones_final BEFORE UPDATE ON milestones "
    "WHEN OLD.state IN ('paid', 'cancelled') AND NEW.state IS NOT OLD.state "
    "BEGIN SELECT RAISE(ABORT, 'a paid or cancelled milestone is final'); END",
    "CREATE TRIGGER milestones_no_delete BEFORE DELETE ON milestones "
    "BEGIN SELECT RAISE(ABORT, 'milestones are never deleted; cancel them'); END",
    f"CREATE TRIGGER milestone_plans_terms_locked BEFORE UPDATE ON milestone_plans WHEN {_changed(PLAN_TERMS)} "
    "BEGIN SELECT RAISE(ABORT, 'a plan''s terms never change; cancel it and plan again'); END",
    "CREATE TRIGGER milestone_plans_no_delete BEFORE DELETE ON milestone_plans "
    "BEGIN SELECT RAISE(ABORT, 'a plan''s terms never change; cancel it and plan again'); END",
]

SQLITE_DOWN = [
    *[f"DROP TRIGGER IF EXISTS {table}_no_{kind}" for table in APPEND_ONLY for kind in ("update", "delete")],
    "DROP TRIGGER IF EXISTS milestones_terms_locked",
    "DROP TRIGGER IF EXISTS milestones_final",
    "DROP TRIGGER IF EXISTS milestones_no_delete",
    "DROP TRIGGER IF EXISTS milestone_plans_terms_locked",
    "DROP TRIGGER IF EXISTS milestone_plans_no_delete",
]


def upgrade():
    op.create_table('milestone_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('payment_terms_days', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('approver_id <> recipient_id', name=op.f('ck_milestone_plans_approver_not_recipient')),
    sa.CheckConstraint('length(currency) = 3 AND currency = upper(currency)', name=op.f('ck_milestone_plans_currency_code')),
    sa.CheckConstraint('payment_terms_days BETWEEN 0 AND 365', name=op.f('ck_milestone_plans_payment_terms_range')),
    sa.ForeignKeyConstraint(['approver_id'], ['people.id'], name=op.f('fk_milestone_plans_approver_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_milestone_plans_created_by_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recipient_id'], ['people.id'], name=op.f('fk_milestone_plans_recipient_id_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestone_plans'))
    )
    with op.batch_alter_table('milestone_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_milestone_plans_approver_id'), ['approver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_milestone_plans_recipient_id'), ['recipient_id'], unique=False)

    op.create_table('milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('criteria', sa.Text(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('recipient_agreed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approver_agreed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence_note', sa.Text(), nullable=True),
    sa.Column('evidence_url', sa.String(length=2000), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state <> 'agreed' OR (recipient_agreed_at IS NOT NULL AND approver_agreed_at IS NOT NULL)", name=op.f('ck_milestones_agreed_by_both')),
    sa.CheckConstraint(f"state IN {STATES}", name=op.f('ck_milestones_state_known')),
    sa.CheckConstraint("state NOT IN ('approved', 'paid') OR approved_at IS NOT NULL", name=op.f('ck_milestones_approval_time')),
    sa.CheckConstraint('amount_minor > 0 AND amount_minor <= 1000000000000', name=op.f('ck_milestones_amount_range')),
    sa.CheckConstraint('position >= 1', name=op.f('ck_milestones_position_positive')),
    sa.ForeignKeyConstraint(['plan_id'], ['milestone_plans.id'], name=op.f('fk_milestones_plan_id_milestone_plans'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestones')),
    sa.UniqueConstraint('plan_id', 'position', name='uq_milestones_plan_position')
    )
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_milestones_state'), ['state'], unique=False)

    op.create_table('milestone_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('evidence_url', sa.String(length=2000), nullable=True),
    sa.CheckConstraint("action IN ('create', 'agree', 'submit', 'approve', 'request-changes', 'pay', 'cancel')", name=op.f('ck_milestone_events_action_known')),
    sa.CheckConstraint(f"from_state IS NULL OR from_state IN {STATES}", name=op.f('ck_milestone_events_from_state_known')),
    sa.CheckConstraint(f"to_state IN {STATES}", name=op.f('ck_milestone_events_to_state_known')),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_milestone_events_actor_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'], name=op.f('fk_milestone_events_milestone_id_milestones'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestone_events'))
    )
    with op.batch_alter_table('milestone_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_milestone_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_milestone_events_milestone_id'), ['milestone_id'], unique=False)

    op.create_table('milestone_payouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_minor > 0 AND amount_minor <= 1000000000000', name=op.f('ck_milestone_payouts_amount_range')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_milestone_payouts_currency_code')),
    sa.CheckConstraint('length(reference) > 0', name=op.f('ck_milestone_payouts_reference_given')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_milestone_payouts_department_id_departments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'], name=op.f('fk_milestone_payouts_milestone_id_milestones'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['people.id'], name=op.f('fk_milestone_payouts_recorded_by_id_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestone_payouts')),
    sa.UniqueConstraint('milestone_id', name=op.f('uq_milestone_payouts_milestone_id'))
    )
    with op.batch_alter_table('milestone_payouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_milestone_payouts_paid_on'), ['paid_on'], unique=False)

    dialect = op.get_bind().dialect.name
    for sql in POSTGRES_UP if dialect == "postgresql" else SQLITE_UP if dialect == "sqlite" else []:
        op.execute(sql)


def downgrade():
    dialect = op.get_bind().dialect.name
    for sql in POSTGRES_DOWN if dialect == "postgresql" else SQLITE_DOWN if dialect == "sqlite" else []:
        op.execute(sql)

    with op.batch_alter_table('milestone_payouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_milestone_payouts_paid_on'))

    op.drop_table('milestone_payouts')
    with op.batch_alter_table('milestone_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_milestone_events_milestone_id'))
        batch_op.drop_index(batch_op.f('ix_milestone_events_actor_id'))

    op.drop_table('milestone_events')
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_milestones_state'))

    op.drop_table('milestones')
    with op.batch_alter_table('milestone_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_milestone_plans_recipient_id'))
        batch_op.drop_index(batch_op.f('ix_milestone_plans_approver_id'))

    op.drop_table('milestone_plans')
