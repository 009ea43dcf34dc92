"""stored results of closed rounds; rounds shared with employees

Revision ID: 0004_dashboards
Revises: 0003_surveys
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_dashboards'
down_revision = '0003_surveys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('round_results',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('key', sa.Integer(), nullable=False),
    sa.Column('parent_key', sa.Integer(), nullable=True),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('shown', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=True),
    sa.Column('invited', sa.Integer(), nullable=True),
    sa.Column('histograms', sa.JSON(), nullable=False),
    sa.Column('pairs', sa.JSON(), nullable=True),
    sa.Column('comments', sa.JSON(), nullable=True),
    sa.CheckConstraint("kind IN ('company', 'department', 'manager', 'tenure')", name=op.f('ck_round_results_kind_known')),
    sa.CheckConstraint('responses >= 0', name=op.f('ck_round_results_responses_not_negative')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_results_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'kind', 'key', name=op.f('pk_round_results'))
    )
    op.create_table('shared_rounds',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('shared_by_id', sa.Integer(), nullable=True),
    sa.Column('shared_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_shared_rounds_round_id_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shared_by_id'], ['people.id'], name=op.f('fk_shared_rounds_shared_by_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_shared_rounds'))
    )


def downgrade():
    op.drop_table('shared_rounds')
    op.drop_table('round_results')
