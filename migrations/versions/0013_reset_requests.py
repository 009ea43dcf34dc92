"""Forgot-password requests, counted per address typed and per client address

Revision ID: 0013_reset_requests
Revises: 0012_identity
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_reset_requests'
down_revision = '0012_identity'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reset_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reset_requests'))
    )
    op.create_index(op.f('ix_reset_requests_email'), 'reset_requests', ['email'], unique=False)
    op.create_index(op.f('ix_reset_requests_remote_addr'), 'reset_requests', ['remote_addr'], unique=False)
    op.create_index(op.f('ix_reset_requests_at'), 'reset_requests', ['at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_reset_requests_at'), table_name='reset_requests')
    op.drop_index(op.f('ix_reset_requests_remote_addr'), table_name='reset_requests')
    op.drop_index(op.f('ix_reset_requests_email'), table_name='reset_requests')
    op.drop_table('reset_requests')
