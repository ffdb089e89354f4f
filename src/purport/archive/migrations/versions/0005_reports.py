"""Press reports (the facts each states) and the medium and length of releases.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("outlet", sa.String(200)),
        sa.Column("published", sa.Date),
        sa.Column("title", sa.Text),
        sa.Column(
            "speaker_id",
            sa.Integer,
            sa.ForeignKey("speakers.id", ondelete="RESTRICT"),
            index=True,
        ),
        sa.Column("is_release_report", sa.Boolean, nullable=False),
        sa.Column(
            "release_id",
            sa.Integer,
            sa.ForeignKey("releases.id", ondelete="SET NULL"),
            index=True,
        ),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("releases") as batch:
        batch.add_column(sa.Column("medium", sa.String(20)))
        batch.add_column(sa.Column("duration_minutes", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("duration_minutes")
        batch.drop_column("medium")
    op.drop_table("reports")
