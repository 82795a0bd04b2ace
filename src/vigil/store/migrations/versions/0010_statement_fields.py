"""Fields the Transparency Database takes that Vigil now fills: the ground's URL, whether content incompatible with
the terms is also illegal, the end of a time-limited restriction, and when the content itself was posted

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("ground_reference_url", sa.String(500), nullable=True))
        batch.add_column(sa.Column("incompatible_content_illegal", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
    with op.batch_alter_table("case_contents") as batch:
        batch.add_column(sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_contents") as batch:
        batch.drop_column("posted_at")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("ends_on")
        batch.drop_column("incompatible_content_illegal")
        batch.drop_column("ground_reference_url")
