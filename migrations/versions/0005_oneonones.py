"""one-on-ones: series, exceptions, agenda and action items, private notes, calendar feeds

Revision ID: 0005_oneonones
Revises: 0004_dashboards
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_oneonones'
down_revision = '0004_dashboards'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('oneonone_calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_oneonone_calendar_feeds_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oneonone_calendar_feeds')),
    sa.UniqueConstraint('person_id', name=op.f('uq_oneonone_calendar_feeds_person_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_oneonone_calendar_feeds_token_hash'))
    )
    op.create_table('oneonone_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('cadence', sa.String(length=10), nullable=False),
    sa.Column('rrule', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=20), nullable=True),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("cadence IN ('weekly', 'biweekly', 'monthly')", name=op.f('ck_oneonone_series_cadence_known')),
    sa.CheckConstraint("end_reason IS NULL OR end_reason IN ('ended', 'rescheduled', 'manager_changed')", name=op.f('ck_oneonone_series_end_reason_known')),
    sa.CheckConstraint("status <> 'ended' OR ends_at IS NOT NULL", name=op.f('ck_oneonone_series_ended_has_time')),
    sa.CheckConstraint("status <> 'paused' OR paused_at IS NOT NULL", name=op.f('ck_oneonone_series_paused_has_time')),
    sa.CheckConstraint("status IN ('active', 'paused', 'ended')", name=op.f('ck_oneonone_series_status_known')),
    sa.CheckConstraint('duration_minutes BETWEEN 15 AND 480', name=op.f('ck_oneonone_series_duration_range')),
    sa.CheckConstraint('manager_id <> report_id', name=op.f('ck_oneonone_series_two_people')),
    sa.ForeignKeyConstraint(['manager_id'], ['people.id'], name=op.f('fk_oneonone_series_manager_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['previous_id'], ['oneonone_series.id'], name=op.f('fk_oneonone_series_previous_id_oneonone_series'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['people.id'], name=op.f('fk_oneonone_series_report_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oneonone_series'))
    )
    with op.batch_alter_table('oneonone_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oneonone_series_manager_id'), ['manager_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oneonone_series_previous_id'), ['previous_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oneonone_series_report_id'), ['report_id'], unique=False)
        batch_op.create_index('uq_oneonone_series_current_pair', ['manager_id', 'report_id'], unique=True, sqlite_where=sa.text("status <> 'ended'"), postgresql_where=sa.text("status <> 'ended'"))

    op.create_table('oneonone_action_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('occurrence_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_oneonone_action_items_created_by_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['people.id'], name=op.f('fk_oneonone_action_items_owner_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['oneonone_series.id'], name=op.f('fk_oneonone_action_items_series_id_oneonone_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oneonone_action_items'))
    )
    with op.batch_alter_table('oneonone_action_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oneonone_action_items_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oneonone_action_items_series_id'), ['series_id'], unique=False)

    op.create_table('oneonone_agenda_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('occurrence_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_occurrence', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('done_occurrence IS NULL OR done_occurrence >= occurrence_start', name=op.f('ck_oneonone_agenda_items_done_not_before_added')),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], name=op.f('fk_oneonone_agenda_items_author_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['done_by_id'], ['people.id'], name=op.f('fk_oneonone_agenda_items_done_by_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['oneonone_series.id'], name=op.f('fk_oneonone_agenda_items_series_id_oneonone_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oneonone_agenda_items'))
    )
    with op.batch_alter_table('oneonone_agenda_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oneonone_agenda_items_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oneonone_agenda_items_series_id'), ['series_id'], unique=False)

    op.create_table('oneonone_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('original_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status <> 'moved' OR (starts_at IS NOT NULL AND ends_at > starts_at)", name=op.f('ck_oneonone_exceptions_moved_has_times')),
    sa.CheckConstraint("status IN ('moved', 'cancelled')", name=op.f('ck_oneonone_exceptions_status_known')),
    sa.ForeignKeyConstraint(['series_id'], ['oneonone_series.id'], name=op.f('fk_oneonone_exceptions_series_id_oneonone_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oneonone_exceptions')),
    sa.UniqueConstraint('series_id', 'original_start', name='uq_oneonone_exceptions_occurrence')
    )
    op.create_table('oneonone_private_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('occurrence_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], name=op.f('fk_oneonone_private_notes_author_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['oneonone_series.id'], name=op.f('fk_oneonone_private_notes_series_id_oneonone_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oneonone_private_notes')),
    sa.UniqueConstraint('series_id', 'occurrence_start', 'author_id', name='uq_oneonone_private_notes_author')
    )
    with op.batch_alter_table('oneonone_private_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oneonone_private_notes_author_id'), ['author_id'], unique=False)



def downgrade():
    with op.batch_alter_table('oneonone_private_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oneonone_private_notes_author_id'))

    op.drop_table('oneonone_private_notes')
    op.drop_table('oneonone_exceptions')
    with op.batch_alter_table('oneonone_agenda_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oneonone_agenda_items_series_id'))
        batch_op.drop_index(batch_op.f('ix_oneonone_agenda_items_author_id'))

    op.drop_table('oneonone_agenda_items')
    with op.batch_alter_table('oneonone_action_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oneonone_action_items_series_id'))
        batch_op.drop_index(batch_op.f('ix_oneonone_action_items_owner_id'))

    op.drop_table('oneonone_action_items')
    with op.batch_alter_table('oneonone_series', schema=None) as batch_op:
        batch_op.drop_index('uq_oneonone_series_current_pair', sqlite_where=sa.text("status <> 'ended'"), postgresql_where=sa.text("status <> 'ended'"))
        batch_op.drop_index(batch_op.f('ix_oneonone_series_report_id'))
        batch_op.drop_index(batch_op.f('ix_oneonone_series_previous_id'))
        batch_op.drop_index(batch_op.f('ix_oneonone_series_manager_id'))

    op.drop_table('oneonone_series')
    op.drop_table('oneonone_calendar_feeds')
