"""add evaluation jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 21:29:14.463802
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evaluation_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'succeeded', 'failed', name='jobstatus', native_enum=False, length=16), nullable=False),
    sa.Column('total_queries', sa.Integer(), nullable=False),
    sa.Column('processed_queries', sa.Integer(), nullable=False),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['collection_id'], ['collections.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('evaluation_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_jobs_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_jobs_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('evaluation_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_evaluation_jobs_collection_id'))

    op.drop_table('evaluation_jobs')
