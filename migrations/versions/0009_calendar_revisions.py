"""one-on-ones: revision numbers for calendar clients, and when each feed's content last changed

Revision ID: 0009_calendar_revisions
Revises: 0008_anonymous_storage

- ``oneonone_series.sequence``: the iCalendar SEQUENCE of the series' events, raised by
  every change to the series or to one of its meetings. Existing series start at the
  number of their moved or cancelled meetings, plus one if paused or ended, so no
  event's SEQUENCE goes down from what feeds sent before (moved meetings were sent as 1).
- ``oneonone_series.changed_at``: when the series or one of its meetings last changed
  (LAST-MODIFIED and DTSTAMP); NULL while nothing changed since ``created_at``.
- ``oneonone_calendar_feeds.content_hash`` and ``content_changed_at``: the SHA-256 of
  the feed last served, and since when it has been that, for ETag and Last-Modified.

Only columns are added (nothing is rebuilt), so SQLite needs no table copy.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_calendar_revisions'
down_revision = '0008_anonymous_storage'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('oneonone_series', sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))
    op.add_column('oneonone_series', sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('oneonone_calendar_feeds', sa.Column('content_hash', sa.String(length=64), nullable=True))
    op.add_column('oneonone_calendar_feeds',
                  sa.Column('content_changed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("""
        UPDATE oneonone_series SET
            sequence = (SELECT COUNT(*) FROM oneonone_exceptions e WHERE e.series_id = oneonone_series.id)
                       + CASE WHEN status = 'active' THEN 0 ELSE 1 END,
            changed_at = (SELECT MAX(e.changed_at) FROM oneonone_exceptions e
                          WHERE e.series_id = oneonone_series.id)
    """)
    # Pausing and ending leave their time on the series itself.
    for column in ('paused_at', 'ends_at'):
        op.execute(f"""
            UPDATE oneonone_series SET changed_at = {column}
            WHERE {column} IS NOT NULL AND (changed_at IS NULL OR changed_at < {column})
        """)


def downgrade():
    op.drop_column('oneonone_calendar_feeds', 'content_changed_at')
    op.drop_column('oneonone_calendar_feeds', 'content_hash')
    op.drop_column('oneonone_series', 'changed_at')
    op.drop_column('oneonone_series', 'sequence')
