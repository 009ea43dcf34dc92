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


def upgrade():
    pass


def downgrade():
    pass
