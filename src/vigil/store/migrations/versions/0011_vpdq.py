"""vPDQ under its own name: `video_pdq` becomes `vpdq` (pytx's and HMA's name) in bank entries and case copies

Values keep their text: the signal type reads Vigil's older `hash:quality` frames as well as today's
`hash:quality:seconds` ones. Ledger records already written keep the name they were written with.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _rename(old: str, new: str) -> None:
    op.drop_index("ix_case_contents_video", table_name="case_contents")
    with op.batch_alter_table("case_contents") as batch:
        batch.alter_column(old, new_column_name=new, existing_type=sa.Text(), existing_nullable=True)
    where = sa.text(f"{new} IS NOT NULL")
    op.create_index("ix_case_contents_video", "case_contents", ["id"], postgresql_where=where, sqlite_where=where)


def upgrade() -> None:
    op.execute(sa.text("UPDATE bank_entries SET signal_type = 'vpdq' WHERE signal_type = 'video_pdq'"))
    _rename("video_pdq", "vpdq")


def downgrade() -> None:
    _rename("vpdq", "video_pdq")
    op.execute(sa.text("UPDATE bank_entries SET signal_type = 'video_pdq' WHERE signal_type = 'vpdq'"))
