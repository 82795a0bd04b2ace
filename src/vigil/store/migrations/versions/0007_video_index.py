"""partial index on case_contents for the copies that are videos

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WHERE = sa.text("video_pdq IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_case_contents_video", "case_contents", ["id"], postgresql_where=WHERE, sqlite_where=WHERE)


def downgrade() -> None:
    op.drop_index("ix_case_contents_video", table_name="case_contents")
