"""Speakers, recordings with their sightings, releases and the links between them.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "speakers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("notes", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "speaker_aliases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "speaker_id",
            sa.Integer,
            sa.ForeignKey("speakers.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("alias", sa.String(200), nullable=False),
        sa.UniqueConstraint("speaker_id", "alias", name="uq_speaker_alias"),
    )
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("storage", sa.String(8), nullable=False),
        sa.Column("stored_path", sa.Text, nullable=False),
        sa.Column("container", sa.String(100), nullable=False),
        sa.Column("codec", sa.String(100), nullable=False),
        sa.Column("bit_rate", sa.Integer),
        sa.Column("sample_rate", sa.Integer, nullable=False),
        sa.Column("channels", sa.Integer, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column(
            "speaker_id",
            sa.Integer,
            sa.ForeignKey("speakers.id", ondelete="RESTRICT"),
            index=True,
        ),
        sa.Column("notes", sa.Text),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('reference', 'questioned')", name="ck_recording_role"),
        sa.CheckConstraint("storage IN ('copy', 'link')", name="ck_recording_storage"),
    )
    op.create_table(
        "sightings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "recording_id",
            sa.Integer,
            sa.ForeignKey("recordings.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("original_name", sa.String(500), nullable=False),
        sa.Column("source_url", sa.Text),
        sa.Column("outlet", sa.String(200)),
        sa.Column("channel", sa.String(100)),
        sa.Column("released", sa.Date),
        sa.Column("first_seen", sa.DateTime(timezone=True)),
        sa.Column("notes", sa.Text),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "speaker_id",
            sa.Integer,
            sa.ForeignKey("speakers.id", ondelete="RESTRICT"),
            index=True,
        ),
        sa.Column("date", sa.Date),
        sa.Column("outlet", sa.String(200)),
        sa.Column("channels", sa.JSON, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("notes", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "release_recordings",
        sa.Column(
            "release_id",
            sa.Integer,
            sa.ForeignKey("releases.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "recording_id",
            sa.Integer,
            sa.ForeignKey("recordings.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        ),
    )


def downgrade() -> None:
    for table in (
        "release_recordings",
        "releases",
        "sightings",
        "recordings",
        "speaker_aliases",
        "speakers",
    ):
        op.drop_table(table)
