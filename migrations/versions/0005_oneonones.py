"""one-on-ones

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
    pass


def downgrade():
    pass
