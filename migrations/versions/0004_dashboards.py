"""stored results of closed rounds

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
    pass


def downgrade():
    pass
