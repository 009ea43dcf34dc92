"""Anonymous replies to comments: the hash of a comment's secret link, its thread and messages

Revision ID: 0015_replies
Revises: 0014_actions
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_replies'
down_revision = '0014_actions'
branch_labels = None
depends_on = None


def upgrade():
    # A plain added column and a unique index: SQLite adds both in place, so ``answers`` stays
    # WITHOUT ROWID (a rebuilt table would not be).
    op.add_column('answers', sa.Column('reply_hash', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_answers_reply_hash'), 'answers', ['reply_hash'], unique=True)
    op.create_table('reply_threads',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('reply_hash', sa.String(length=64), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_reply_threads_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_threads')),
    sa.UniqueConstraint('reply_hash', name=op.f('uq_reply_threads_reply_hash')),
    sqlite_with_rowid=False
    )
    op.create_index(op.f('ix_reply_threads_round_id'), 'reply_threads', ['round_id'], unique=False)
    op.create_table('reply_messages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('thread_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=12), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.CheckConstraint("side IN ('respondent', 'hr')", name=op.f('ck_reply_messages_side_known')),
    sa.CheckConstraint("side <> 'respondent' OR author_id IS NULL", name=op.f('ck_reply_messages_respondent_unnamed')),
    sa.CheckConstraint("length(body) BETWEEN 1 AND 2000", name=op.f('ck_reply_messages_body_fits')),
    sa.ForeignKeyConstraint(['thread_id'], ['reply_threads.id'], name=op.f('fk_reply_messages_thread_id_reply_threads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], name=op.f('fk_reply_messages_author_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_messages')),
    sa.UniqueConstraint('thread_id', 'position', name=op.f('uq_reply_messages_thread_position')),
    sqlite_with_rowid=False
    )


def downgrade():
    op.drop_table('reply_messages')
    op.drop_index(op.f('ix_reply_threads_round_id'), table_name='reply_threads')
    op.drop_table('reply_threads')
    op.drop_index(op.f('ix_answers_reply_hash'), table_name='answers')
    with op.batch_alter_table('answers', recreate='never') as batch_op:
        batch_op.drop_column('reply_hash')
