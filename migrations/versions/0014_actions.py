"""Action plans on survey drivers, and their updates

Revision ID: 0014_actions
Revises: 0013_reset_requests
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_actions'
down_revision = '0013_reset_requests'
branch_labels = None
depends_on = None

STATUSES = "('planned', 'in_progress', 'done', 'dropped')"


def upgrade():
    op.create_table('actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('baseline_round_id', sa.Integer(), nullable=True),
    sa.CheckConstraint(f"status IN {STATUSES}", name=op.f('ck_actions_status_known')),
    sa.CheckConstraint("department_id IS NULL OR manager_id IS NULL", name=op.f('ck_actions_one_group')),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_actions_survey_id_surveys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['survey_questions.id'], name=op.f('fk_actions_question_id_survey_questions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_actions_department_id_departments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['manager_id'], ['people.id'], name=op.f('fk_actions_manager_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['people.id'], name=op.f('fk_actions_owner_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_actions_created_by_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['baseline_round_id'], ['rounds.id'], name=op.f('fk_actions_baseline_round_id_rounds'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actions'))
    )
    op.create_index(op.f('ix_actions_survey_id'), 'actions', ['survey_id'], unique=False)
    op.create_index(op.f('ix_actions_question_id'), 'actions', ['question_id'], unique=False)
    op.create_index(op.f('ix_actions_department_id'), 'actions', ['department_id'], unique=False)
    op.create_index(op.f('ix_actions_manager_id'), 'actions', ['manager_id'], unique=False)
    op.create_index(op.f('ix_actions_owner_id'), 'actions', ['owner_id'], unique=False)
    op.create_table('action_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(f"from_status IS NULL OR from_status IN {STATUSES}", name=op.f('ck_action_updates_from_status_known')),
    sa.CheckConstraint(f"to_status IS NULL OR to_status IN {STATUSES}", name=op.f('ck_action_updates_to_status_known')),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_action_updates_action_id_actions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], name=op.f('fk_action_updates_author_id_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_updates'))
    )
    op.create_index(op.f('ix_action_updates_action_id'), 'action_updates', ['action_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_action_updates_action_id'), table_name='action_updates')
    op.drop_table('action_updates')
    op.drop_index(op.f('ix_actions_owner_id'), table_name='actions')
    op.drop_index(op.f('ix_actions_manager_id'), table_name='actions')
    op.drop_index(op.f('ix_actions_department_id'), table_name='actions')
    op.drop_index(op.f('ix_actions_question_id'), table_name='actions')
    op.drop_index(op.f('ix_actions_survey_id'), table_name='actions')
    op.drop_table('actions')
