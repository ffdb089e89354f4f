"""Voice against the archive and against files: cached embeddings, speaker profiles,
calibrations.

The pure core (:mod:`purport.voice`: embed, calibrate, compare) knows nothing of storage;
this module reads and writes only through :class:`purport.archive.Archive`. A speaker's
profile is derived from their reference recordings each time, from per-recording cached
embeddings, so adding or removing a reference changes the profile at once and nothing
stale is kept.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from purport import media
from purport.archive import Archive, Recording
from purport.errors import ArchiveError, ParameterError, PurportError
from purport.voice import conditions as cond
from purport.voice.calibrate import Calibration, calibrate, default_calibration
from purport.voice.compare import VoiceReport, compare
from purport.voice.conditions import Like
from purport.voice.embed import (
    Embedded,
    Encoder,
    Quality,
    embed_recording,
    load_encoder,
    to_rate,
)

MEDIA_SUFFIXES = {".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".oga", ".webm",
                  ".mp4", ".mkv", ".wma", ".amr", ".3gp"}

log = logging.getLogger("purport.voice")


def to_bytes(e: Embedded) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, vector=e.vector, window_times=e.window_times,
                        window_vectors=e.window_vectors.astype(np.float16),
                        meta=np.array(json.dumps({"encoder": e.encoder,
                                                  "quality": e.quality.__dict__})))
    return buf.getvalue()


def from_bytes(data: bytes) -> Embedded:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        return Embedded(encoder=meta["encoder"], vector=z["vector"],
                        window_times=z["window_times"],
                        window_vectors=z["window_vectors"].astype(np.float32),
                        quality=Quality(**meta["quality"]))


def embed_file(path: str | Path, encoder: Encoder | None = None) -> tuple[Embedded, str]:
    """Decode and embed one media file; also return its codec (for mismatch warnings)."""
    encoder = encoder or load_encoder()
    signal = media.load(path, sr=encoder.sr)
    return embed_recording(signal.y, sr=signal.sr, encoder=encoder), signal.info.codec


#: bumped whenever embed_recording changes what it computes, so old caches are not reused
EMBED_VERSION = "3"


def rendered_reference(y: np.ndarray, sr: int, like: Like | None, *, label: str,
                       encoder: Encoder) -> Embedded:
    """A reference's embedding, rendered ``like`` a questioned recording
    (:func:`purport.voice.conditions.render_like`) when given, as it is otherwise. The
    noise is seeded by ``label``: the same inputs give the same LR."""
    if like is None:
        return embed_recording(y, sr=sr, encoder=encoder)
    rng = np.random.default_rng(cond.reference_seed(f"{label}/{like.tag}"))
    return embed_recording(cond.render_like(to_rate(y, sr, cond.SR), like, rng), sr=cond.SR,
                           encoder=encoder)


def recording_embedding(archive: Archive, rec: Recording, encoder: Encoder | None = None, *,
                        like: Like | None = None) -> Embedded:
    """A recording's embedding from the archive's cache, computed and cached when missing;
    rendered ``like`` a questioned recording when given (:func:`rendered_reference`)."""
    encoder = encoder or load_encoder()
    key = f"{encoder.name}/v{EMBED_VERSION}" + (f"/{like.tag}" if like else "")
    cached = archive.voice_embedding(rec.id, key)
    if cached is not None:
        try:
            return from_bytes(cached)
        except Exception as exc:  # a damaged cache entry: computed again below
            log.warning("recording %s: stored embedding %s unreadable (%s): recomputing",
                        rec.id, key, type(exc).__name__)
    if not Path(rec.stored_path).is_file():
        raise ArchiveError(f"recording {rec.id} ({rec.name}): its file {rec.stored_path} "
                           "is gone")
    signal = media.load(rec.stored_path, sr=encoder.sr)
    embedded = rendered_reference(signal.y, signal.sr, like, label=rec.sha256, encoder=encoder)
    archive.put_voice_embedding(rec.id, key, to_bytes(embedded))
    return embedded


def _rendering(q: Embedded, q_codec: str, q_bit_rate: int | None) -> tuple[Like | None, str]:
    """How to render the references for ``q`` (None: as they are), and the channel name
    :func:`compare` checks them against."""
    how = cond.reference_rendering(q.quality, cond.codec_like(q_codec, q_bit_rate))
    if how is None:
        return None, cond.CLEAN_CHANNEL
    bucket, like = how
    return like, bucket.channel


def get_calibration(archive: Archive | None, name: str | None) -> Calibration:
    """The named calibration (from the archive), or purport's default."""
    default = default_calibration()
    if name is None or name == default.name:
        return default
    if archive is None:
        raise ParameterError(f"calibration {name!r} lives in an archive: pass --db")
    return Calibration.from_dict(archive.calibration_data(name))


def compare_audio(questioned: np.ndarray, references: list[np.ndarray], calibration: Calibration,
                  *, sr: int, codec: dict | None = None,
                  reference_names: list[str] | None = None) -> VoiceReport:
    """Questioned audio against reference audio (all at ``sr``), the references rendered
    like the questioned recording when its channel is degraded; ``codec`` is the
    questioned recording's (:func:`purport.voice.conditions.codec_like`), if lossy."""
    encoder = load_encoder()
    q = embed_recording(questioned, sr=sr, encoder=encoder)
    how = cond.reference_rendering(q.quality, codec)
    like, channel = (None, cond.CLEAN_CHANNEL) if how is None else (how[1], how[0].channel)
    names = reference_names or [f"reference {i + 1}" for i in range(len(references))]
    refs = [rendered_reference(y, sr, like, label=name, encoder=encoder)
            for y, name in zip(references, names, strict=True)]
    return compare(q, refs, calibration, reference_names=names, reference_channel=channel)


def compare_files(questioned: str | Path, references: list[str | Path],
                  calibration: Calibration) -> VoiceReport:
    """The questioned file against reference files, no archive involved."""
    if not references:
        raise ParameterError("give at least one --reference file")
    encoder = load_encoder()
    q_signal = media.load(questioned, sr=encoder.sr)
    q = embed_recording(q_signal.y, sr=q_signal.sr, encoder=encoder)
    q_codec = q_signal.info.codec
    like, channel = _rendering(q, q_codec, q_signal.info.bit_rate)
    refs, codecs = [], []
    for r in references:
        signal = media.load(r, sr=encoder.sr)
        refs.append(rendered_reference(signal.y, signal.sr, like, label=signal.info.sha256,
                                       encoder=encoder))
        codecs.append(signal.info.codec)
    return compare(q, refs, calibration, reference_names=[Path(r).name for r in references],
                   codecs=(q_codec, codecs), reference_channel=channel)


def references(archive: Archive, speaker: str, *,
               recordings: Sequence[Recording] | None = None) -> list[Recording]:
    """The speaker's reference recordings; ``recordings`` is the archive's list when the
    caller already holds it (``verify`` reads it once for every question)."""
    who = archive.speaker(speaker)
    if recordings is None:
        refs = archive.recordings(speaker=who.id, role="reference")
    else:
        refs = [r for r in recordings if r.speaker == who.name and r.role == "reference"]
    if not refs:
        raise ArchiveError(f"speaker {who.name!r} has no reference recordings: add some with "
                           f"`purport add FILES --speaker {who.name!r} --role reference`")
    return refs


def check_signal(archive: Archive, signal: media.Signal, speaker: str,
                 calibration: Calibration, *,
                 recordings: Sequence[Recording] | None = None) -> VoiceReport:
    """Decoded questioned audio against the claimed speaker's reference recordings."""
    refs = references(archive, speaker, recordings=recordings)
    encoder = load_encoder()
    q = embed_recording(signal.y, sr=signal.sr, encoder=encoder)
    used = [r for r in refs if r.sha256 != signal.info.sha256]
    if not used:
        raise ArchiveError("the questioned file is the speaker's only reference recording")
    like, channel = _rendering(q, signal.info.codec, signal.info.bit_rate)
    embedded = [recording_embedding(archive, r, encoder, like=like) for r in used]
    report = compare(q, embedded, calibration,
                     reference_names=[f"recording {r.id} {r.name}" for r in used],
                     codecs=(signal.info.codec, [r.codec for r in used]),
                     reference_channel=channel)
    if len(used) < len(refs):
        report.warnings.append("the questioned file is itself a reference of this speaker: "
                               "it was left out of the profile")
    return report


def check_file(archive: Archive, questioned: str | Path, speaker: str,
               calibration: Calibration) -> VoiceReport:
    """The questioned file against the claimed speaker's reference recordings in the archive.

    Decoded at :data:`purport.media.SR`, as ``purport verify`` decodes, so both give the
    same answer.
    """
    refs = references(archive, speaker)  # an unknown speaker fails before the decoding
    return check_signal(archive, media.load(questioned, sr=media.SR), speaker, calibration,
                        recordings=refs)


def population_files(folder: str | Path) -> dict[str, list[Path]]:
    """``DIR/<speaker>/*.audio`` as {speaker: files}; refuses layouts it cannot use."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ParameterError(f"{folder}: not a folder of speaker folders")
    found = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(f for f in sub.iterdir() if f.suffix.lower() in MEDIA_SUFFIXES)
        if files:
            found[sub.name] = files
    if len(found) < 2:
        raise ParameterError(f"{folder}: need at least 2 speaker folders with audio files "
                             f"(found {len(found)})")
    if not any(len(f) >= 2 for f in found.values()):
        raise ParameterError(f"{folder}: need at least one speaker with 2 or more recordings")
    return found


def calibrate_population(folder: str | Path, *, name: str, description: str | None = None,
                         conditions: str | Path | None = None,
                         progress: Callable[[int, int, str], None] | None = None) -> Calibration:
    """Fit and validate a calibration on the user's own relevant population.

    Each speaker's first file (by name) is the reference side; the others are cut into
    questioned clips. Without ``conditions`` the clips stay clean (wide band, no noise) and
    get one fit per net speech (3, 6, 15, 30 s). With ``conditions`` (a questioned
    recording) the clips are rendered like it: its net speech bucket and its 3-s windows,
    its band, its noise, its codec and bit rate.
    """
    from purport.voice import conditions as cond

    found = population_files(folder)
    encoder = load_encoder()
    population = {}
    for speaker, files in found.items():
        recs = []
        for f in files:
            try:
                recs.append(media.load(f, sr=cond.SR).y)
            except PurportError as exc:
                raise PurportError(f"population file {f}: {exc}") from exc
        population[speaker] = recs
    codec, rendering = None, "clean: questioned clips of the population as recorded"
    if conditions is None:
        buckets = tuple(cond.Bucket(n, "wide", None) for n in cond.NETS)
    else:
        signal = media.load(conditions, sr=cond.SR)
        q = embed_recording(signal.y, sr=signal.sr, encoder=encoder).quality
        bucket, reason = cond.bucket_of(q)
        if bucket is None:
            raise ParameterError(f"{Path(conditions).name}: no condition to render: {reason}")
        codec = cond.codec_like(signal.info.codec, signal.info.bit_rate)
        buckets = tuple(sorted({bucket, cond.Bucket(cond.NETS[0], bucket.band, bucket.snr)}))
        rendering = (f"rendered like {Path(conditions).name} ({bucket.describe()}; codec "
                     f"{signal.info.codec}"
                     + (f" at {codec['kbps']} kbit/s" if codec else ", not re-encoded") + ")")
    rendered = cond.render_population(population, encoder=encoder, buckets=buckets,
                                      codec=codec, progress=progress)
    cells = cond.fit_cells(rendered)
    if not cells:
        raise ParameterError(f"{folder}: too few speakers or recordings to fit and validate "
                             "a calibration (each speaker needs a reference file and another "
                             "file with enough speech; at least 4 speakers)")
    key = min(cells, key=lambda k: abs(cond.Bucket.from_key(k).net - 6))
    whole = rendered.pairs(key)
    win_key = min(cells, key=lambda k: cond.Bucket.from_key(k).net)
    windows = rendered.pairs(win_key)
    n_recordings = sum(len(f) for f in found.values())
    description = description or (f"user population {Path(folder).name}: {len(found)} "
                                  f"speakers, {n_recordings} recordings")
    return calibrate(name=name, encoder=encoder.name, population=description,
                     scores=whole["scores"], same=whole["same"],
                     pair_speakers=whole["pair_speakers"], window_scores=windows["scores"],
                     window_same=windows["same"], cells=cells,
                     rendering=f"{rendering}; references: up to 30 s of speech through MP3 "
                               "64 kbit/s, then rendered like the questioned channel")
