"""Live participation: the latest hourly snapshot of an open round's participation per shown group

Revision ID: 0016_live_participation
Revises: 0015_replies
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_live_participation'
down_revision = '0015_replies'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('live_participation',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_live_participation_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_live_participation'))
    )


def downgrade():
    op.drop_table('live_participation')
