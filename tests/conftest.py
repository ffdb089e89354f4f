"""Fixtures: real archives (SQLite always, PostgreSQL when a server is set) and real audio."""

from __future__ import annotations

import os
import uuid
import wave
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from purport.archive import Archive

POSTGRES_ENV = "PURPORT_TEST_POSTGRES_URL"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _postgres_database():
    """A throwaway database on the configured server; dropped afterwards."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.skip(f"PostgreSQL tests need a server: set {POSTGRES_ENV} "
                    "(scripts/with-postgres.sh does, as CI does)")
    name = f"purport_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The URL of a new, empty archive database on each backend."""
    if request.param == "sqlite":
        yield str(tmp_path / "archive.db")
    else:
        yield from _postgres_database()


@pytest.fixture
def archive(db_url, tmp_path):
    with Archive.init(db_url, store_dir=tmp_path / "store") as arch:
        yield arch


def write_wav(path: Path, *, seconds: float = 1.0, sr: int = 16000, freq: float = 440.0,
              seed: int = 0, channels: int = 1) -> Path:
    """A tone plus seeded noise as 16-bit PCM: distinct bytes for every seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(len(t))
    return save_wav(path, y, sr=sr, channels=channels, rounded=False)


def save_wav(path: Path, y: np.ndarray, *, sr: int = 16000, channels: int = 1,
             rounded: bool = True) -> Path:
    """Float mono samples as 16-bit PCM (repeated on ``channels``)."""
    pcm = np.clip(y, -1, 1) * 32767
    pcm = (pcm.round() if rounded else pcm).astype("<i2")
    if channels > 1:
        pcm = np.repeat(pcm[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    return path


def encode_opus(path: Path, y: np.ndarray, *, sr: int = 16000, kbps: int = 16) -> Path:
    """Float mono samples as an Ogg/Opus voice note (libopus at 48 kHz)."""
    import av

    with av.open(str(path), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        stream.bit_rate = kbps * 1000
        frame = av.AudioFrame.from_ndarray((np.clip(y, -1, 1) * 32767).astype(np.int16)[None],
                                           format="s16", layout="mono")
        frame.sample_rate = sr
        for f in av.AudioResampler(format="flt", layout="mono", rate=48000).resample(frame):
            for p in stream.encode(f):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    return path


@pytest.fixture
def wavs(tmp_path):
    """Factory: ``wavs(n)`` writes n distinct short WAV files and returns their paths."""
    folder = tmp_path / "in"
    folder.mkdir()

    def make(n: int, *, seconds: float = 1.0, start: int = 0) -> list[Path]:
        return [write_wav(folder / f"talk{i}.wav", seconds=seconds, seed=i,
                          freq=300.0 + 50 * i) for i in range(start, start + n)]

    return make


@pytest.fixture(autouse=True)
def _no_automatic_transcription(monkeypatch):
    """``verify`` and ``when`` transcribe by themselves when the speech extra is installed;
    the suite asks for it explicitly (tests/test_speech.py), so other tests stay fast."""
    monkeypatch.setenv("PURPORT_TRANSCRIBE", "off")
