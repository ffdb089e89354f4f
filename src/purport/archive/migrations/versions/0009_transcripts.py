"""Transcripts of recordings, one searchable row per segment, and their full-text index
(SQLite FTS5; PostgreSQL GIN over to_tsvector('simple', norm)).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transcripts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("recording_id", sa.Integer,
                  sa.ForeignKey("recordings.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("language", sa.String(20)),
        sa.Column("language_probability", sa.Float),
        sa.Column("model", sa.String(300), nullable=False),
        sa.Column("model_sha256", sa.String(64)),
        sa.Column("input_sha256", sa.String(64)),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "transcript_segments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("transcript_id", sa.Integer,
                  sa.ForeignKey("transcripts.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("norm", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX transcript_search ON transcript_segments "
                   "USING gin (to_tsvector('simple', norm))")
        return
    # FTS5 over the segments' normalised text (external content: no second copy)
    op.execute("CREATE VIRTUAL TABLE transcript_search USING fts5(norm, "
               "content='transcript_segments', content_rowid='id', "
               "tokenize='unicode61 remove_diacritics 2')")
    op.execute("""CREATE TRIGGER transcript_segments_ai AFTER INSERT ON transcript_segments
                  BEGIN INSERT INTO transcript_search(rowid, norm) VALUES (new.id, new.norm);
                  END""")
    op.execute("""CREATE TRIGGER transcript_segments_ad AFTER DELETE ON transcript_segments
                  BEGIN INSERT INTO transcript_search(transcript_search, rowid, norm)
                  VALUES ('delete', old.id, old.norm); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER transcript_segments_ad")
        op.execute("DROP TRIGGER transcript_segments_ai")
        op.execute("DROP TABLE transcript_search")
    op.drop_table("transcript_segments")
    op.drop_table("transcripts")
