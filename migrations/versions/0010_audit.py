"""audit log: who did what, when and from which address; append-only in the database

Revision ID: 0010_audit
Revises: 0009_calendar_revisions
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_audit'
down_revision = '0009_calendar_revisions'
branch_labels = None
depends_on = None


# As for the rewards ledger (0006): rows can only be inserted; the application never tries more.
POSTGRES_UP = [
    """CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: rows can be inserted, never changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
    END $$""",
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP FUNCTION IF EXISTS audit_append_only()",
]

SQLITE_UP = [
    f"CREATE TRIGGER audit_events_no_{kind.lower()} BEFORE {kind} ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: rows can be inserted, never changed or deleted'); END"
    for kind in ("UPDATE", "DELETE")
]

SQLITE_DOWN = [f"DROP TRIGGER IF EXISTS audit_events_no_{kind}" for kind in ("update", "delete")]


def upgrade():
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sa.String(length=254), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('remote_addr', sa.String(length=45), nullable=True),
    sa.CheckConstraint("length(action) BETWEEN 3 AND 60 AND action = lower(action) AND action LIKE '%_._%'", name=op.f('ck_audit_events_action_code')),
    sa.CheckConstraint('actor_id IS NULL OR actor_email IS NOT NULL', name=op.f('ck_audit_events_actor_email_kept')),
    sa.CheckConstraint('actor_email IS NULL OR actor_email = lower(actor_email)', name=op.f('ck_audit_events_actor_email_lower')),
    sa.CheckConstraint('target_id IS NULL OR target_type IS NOT NULL', name=op.f('ck_audit_events_target_typed')),
    sa.CheckConstraint('length(summary) <= 500', name=op.f('ck_audit_events_summary_length')),
    sa.CheckConstraint('remote_addr IS NULL OR length(remote_addr) BETWEEN 2 AND 45', name=op.f('ck_audit_events_remote_addr_length')),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_audit_events_actor_id_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)

    dialect = op.get_bind().dialect.name
    for sql in POSTGRES_UP if dialect == "postgresql" else SQLITE_UP if dialect == "sqlite" else []:
        op.execute(sql)


def downgrade():
    dialect = op.get_bind().dialect.name
    for sql in POSTGRES_DOWN if dialect == "postgresql" else SQLITE_DOWN if dialect == "sqlite" else []:
        op.execute(sql)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
