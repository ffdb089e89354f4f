"""The archive's tables as they stand at the newest migration (queries are built on these).

``tests/test_archive.py`` checks that a database migrated from empty matches these
definitions exactly, so the migrations and this file cannot drift apart.
"""

import sqlalchemy as sa

metadata = sa.MetaData()

ROLES = ("reference", "questioned")
STORAGE = ("copy", "link")

speakers = sa.Table(
    "speakers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("notes", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

speaker_aliases = sa.Table(
    "speaker_aliases",
    metadata,
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

recordings = sa.Table(
    "recordings",
    metadata,
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

# One row per place and time a recording was seen: re-adding the same bytes from
# another source adds a sighting instead of a second recording.
sightings = sa.Table(
    "sightings",
    metadata,
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

releases = sa.Table(
    "releases",
    metadata,
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
    sa.Column("medium", sa.String(20)),
    sa.Column("duration_minutes", sa.Float),
    # when, as precisely as the sources allow (``date`` is the day when one is known)
    sa.Column("date_first", sa.Date),
    sa.Column("date_last", sa.Date),
    sa.Column("precision", sa.String(10)),
    sa.Column("weekday", sa.String(10)),
    sa.Column("date_basis", sa.Text),
)

release_recordings = sa.Table(
    "release_recordings",
    metadata,
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

# One landmark fingerprint per recording (compressed arrays, see purport.reuse.index);
# ``method`` names the landmark design so a new design can be rebuilt alongside.
fingerprints = sa.Table(
    "fingerprints",
    metadata,
    sa.Column(
        "recording_id",
        sa.Integer,
        sa.ForeignKey("recordings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("method", sa.String(40), nullable=False),
    sa.Column("n_hashes", sa.Integer, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Voice embeddings of a recording (whole and per window, see purport.assess.voice),
# one row per encoder; recomputed when missing, dropped with the recording.
voice_embeddings = sa.Table(
    "voice_embeddings",
    metadata,
    sa.Column(
        "recording_id",
        sa.Integer,
        sa.ForeignKey("recordings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("encoder", sa.String(100), primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Score-to-LLR calibrations fitted on a user's population, with their validation figures.
calibrations = sa.Table(
    "calibrations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("encoder", sa.String(100), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Grid-frequency logs (float32 Hz per second, NaN in gaps) that ENF traces are placed in.
grid_logs = sa.Table(
    "grid_logs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("region", sa.String(100), nullable=False, index=True),
    sa.Column("start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seconds", sa.Integer, nullable=False),
    sa.Column("nominal_hz", sa.Integer, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Press reports: what each article states (``facts``: the news extract record), linked to
# the release it reports (none when it reports no release).
reports = sa.Table(
    "reports",
    metadata,
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

SCOPES = ("read", "write")
JOB_STATES = ("queued", "running", "done", "failed")

# API tokens of `purport serve`: only a SHA-256 of the secret is kept; ``write`` includes read.
tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("scope", sa.String(8), nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("scope IN ('read', 'write')", name="ck_token_scope"),
)

# Assessments (`purport verify`'s document), kept with the recording they assess.
assessments = sa.Table(
    "assessments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "recording_id",
        sa.Integer,
        sa.ForeignKey("recordings.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("claimed_speaker", sa.String(200)),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Long work the web app runs in the background, with its progress and outcome.
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("progress", sa.Float, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("token_id", sa.Integer, sa.ForeignKey("tokens.id", ondelete="SET NULL")),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="ck_job_state"),
)

# Every change to the archive, who made it and the digest of its input; append-only (database
# triggers refuse UPDATE and DELETE) and hash-chained, so a removed or altered entry shows.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(300), nullable=False),
    sa.Column("action", sa.String(60), nullable=False, index=True),
    sa.Column("subject", sa.String(200), nullable=False, index=True),
    sa.Column("input_sha256", sa.String(64), index=True),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False, unique=True),
)

# Facts about the archive itself: ``archive_id``, the UUID its store folder is marked with
# (so ``purport check --clean`` never tidies another archive's store).
archive_meta = sa.Table(
    "archive_meta",
    metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# What was said: a recording's transcripts (automatic, by a named model; or given by the
# user, a transcript or a translation), the whole result in ``data`` (segments with word
# times), and one searchable row per segment (``norm``: the text normalised for search, see
# purport.speech.textnorm). SQLite indexes ``norm`` with FTS5 (the virtual table
# transcript_search, kept in step by triggers); PostgreSQL with a GIN full-text index.
transcripts = sa.Table(
    "transcripts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "recording_id",
        sa.Integer,
        sa.ForeignKey("recordings.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
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

transcript_segments = sa.Table(
    "transcript_segments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "transcript_id",
        sa.Integer,
        sa.ForeignKey("transcripts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("start", sa.Float, nullable=False),
    sa.Column("end", sa.Float, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("norm", sa.Text, nullable=False),
)
