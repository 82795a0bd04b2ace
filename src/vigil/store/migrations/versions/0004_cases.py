"""notices, cases, decisions, appeals, disclosures, strikes, outbox

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = '0003'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("deadline", UTC, nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claim_expires_at", UTC, nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("notice_count", sa.Integer(), nullable=False),
        sa.Column("notifier_confidence", sa.Float(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("decided_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_queue"), "cases", ["queue"], unique=False)
    op.create_index("ix_cases_state_priority", "cases", ["state", "priority"], unique=False)

    op.create_table(
        "notices",
        sa.Column("id", BigId, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=True),
        sa.Column("order_reference", sa.String(length=200), nullable=True),
        sa.Column("content_id", sa.String(length=512), nullable=False),
        sa.Column("content_url", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("content_text", sa.Text(), nullable=True),
        sa.Column("content_hashes", sa.JSON(), nullable=False),
        sa.Column("uploader_id", sa.String(length=200), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("notifier_id", sa.String(length=200), nullable=True),
        sa.Column("notifier_name", sa.String(length=200), nullable=True),
        sa.Column("notifier_email", sa.String(length=320), nullable=True),
        sa.Column("good_faith", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("views", sa.BigInteger(), nullable=True),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_notices_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notices_idempotency_key")),
    )
    op.create_index(op.f("ix_notices_case_id"), "notices", ["case_id"], unique=False)

    op.create_table(
        "case_contents",
        sa.Column("id", BigId, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.String(length=512), nullable=False),
        sa.Column("content_url", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("content_text", sa.Text(), nullable=True),
        sa.Column("uploader_id", sa.String(length=200), nullable=True),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("video_pdq", sa.Text(), nullable=True),
        sa.Column("text_key", sa.String(length=128), nullable=True),
        sa.Column("first_seen_at", UTC, nullable=False),
        sa.Column("retained_until", UTC, nullable=True),
        sa.Column("purged_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_contents_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_contents")),
        sa.UniqueConstraint("case_id", "content_id", name="uq_case_contents_case_id_content_id"),
    )
    op.create_index(op.f("ix_case_contents_case_id"), "case_contents", ["case_id"], unique=False)
    op.create_index(op.f("ix_case_contents_retained_until"), "case_contents", ["retained_until"], unique=False)

    op.create_table(
        "case_keys",
        sa.Column("id", BigId, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=600), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_keys_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_keys")),
    )
    op.create_index(op.f("ix_case_keys_case_id"), "case_keys", ["case_id"], unique=False)
    op.create_index(op.f("ix_case_keys_key"), "case_keys", ["key"], unique=False)
    op.create_index("ix_case_keys_kind_id", "case_keys", ["kind", "id"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("territorial_scope", sa.JSON(), nullable=False),
        sa.Column("ground_type", sa.String(length=16), nullable=False),
        sa.Column("ground_reference", sa.String(length=500), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("reviewer_key_id", sa.Integer(), nullable=True),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("content_ids", sa.JSON(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_decisions_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index(op.f("ix_decisions_case_id"), "decisions", ["case_id"], unique=False)

    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("appellant", sa.String(length=16), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", UTC, nullable=False),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("outcome_explanation", sa.Text(), nullable=True),
        sa.Column("new_decision_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_appeals_case_id_cases")),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"], name=op.f("fk_appeals_decision_id_decisions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    op.create_index(op.f("ix_appeals_case_id"), "appeals", ["case_id"], unique=False)
    op.create_index(op.f("ix_appeals_decision_id"), "appeals", ["decision_id"], unique=False)
    op.create_index(op.f("ix_appeals_state"), "appeals", ["state"], unique=False)

    op.create_table(
        "disclosures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_disclosures_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosures")),
    )
    op.create_index(op.f("ix_disclosures_case_id"), "disclosures", ["case_id"], unique=False)

    op.create_table(
        "strikes",
        sa.Column("uploader_id", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("uploader_id", name=op.f("pk_strikes")),
    )
    op.create_table(
        "notifier_records",
        sa.Column("notifier_id", sa.String(length=200), nullable=False),
        sa.Column("accurate", sa.Integer(), nullable=False),
        sa.Column("inaccurate", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("notifier_id", name=op.f("pk_notifier_records")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("delivered_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index("ix_outbox_state_next_attempt_at", "outbox", ["state", "next_attempt_at"], unique=False)


def downgrade() -> None:
    for table in ("outbox", "notifier_records", "strikes", "disclosures", "appeals", "decisions",
                  "case_keys", "case_contents", "notices", "cases"):
        op.drop_table(table)
