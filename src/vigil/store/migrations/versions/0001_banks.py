"""bank tables: banks, entries, bank change log

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("threshold", sa.Integer(), server_default="31", nullable=False),
        sa.Column("negative", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("dihedral", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_banks"),
        sa.UniqueConstraint("name", name="uq_banks_name"),
    )
    op.create_table(
        "bank_entries",
        sa.Column("id", BigId, nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("signal_type", sa.String(32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("value_key", sa.String(64), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(200), server_default="", nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name="fk_bank_entries_bank_id_banks", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_bank_entries"),
        sa.UniqueConstraint("bank_id", "signal_type", "value_key", name="uq_bank_entries_bank_signal_value"),
    )
    op.create_index("ix_bank_entries_bank_id", "bank_entries", ["bank_id"])
    op.create_table(
        "bank_changes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("bank_name", sa.String(200), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("signal_type", sa.String(32), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bank_changes"),
    )
    op.create_index("ix_bank_changes_bank_id", "bank_changes", ["bank_id"])


def downgrade() -> None:
    op.drop_index("ix_bank_changes_bank_id", table_name="bank_changes")
    op.drop_table("bank_changes")
    op.drop_index("ix_bank_entries_bank_id", table_name="bank_entries")
    op.drop_table("bank_entries")
    op.drop_table("banks")
