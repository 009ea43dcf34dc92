"""An index for the groups right below one in a round's stored results (round, kind, parent)

Revision ID: 0017_round_results_children
Revises: 0016_live_participation
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017_round_results_children'
down_revision = '0016_live_participation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('round_results', schema=None) as batch_op:
        batch_op.create_index('ix_round_results_children', ['round_id', 'kind', 'parent_key'], unique=False)


def downgrade():
    with op.batch_alter_table('round_results', schema=None) as batch_op:
        batch_op.drop_index('ix_round_results_children')
