"""What was said: transcribe recordings, keep transcripts in the archive, search them.

The service layer over :mod:`purport.speech` (pure over samples) and the archive.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from purport import media
from purport.archive import Archive
from purport.errors import NotFoundError, ParameterError
from purport.speech import asr
from purport.speech import model as asr_model
from purport.timing import content


def available() -> bool:
    """Should a recording be transcribed when the user did not say: speech recognition is
    installed (faster-whisper and a model: the speech extra, or ``$PURPORT_ASR_MODEL``) and
    ``$PURPORT_TRANSCRIBE`` is not "off"."""
    import importlib.util
    import os

    if os.environ.get("PURPORT_TRANSCRIBE", "auto").lower() in ("off", "0", "no", "false"):
        return False
    if importlib.util.find_spec("faster_whisper") is None:
        return False
    return bool(os.environ.get("PURPORT_ASR_MODEL")) or asr_model.part_folders() is not None


def transcribe_signal(signal: media.Signal, *, model: str | Path | None = None,
                      language: str | None = None) -> asr.Transcript:
    """A decoded recording's automatic transcript (decoded at 16 kHz, as ``verify`` does)."""
    asr.check_language(language)
    chosen = asr_model.resolve(model)
    y = signal.y if signal.sr == asr.SR else media.resample(signal.y, orig_sr=signal.sr,
                                                            target_sr=asr.SR)
    return asr.transcribe(y, chosen, language=language)


def transcribe_file(path: str | Path, *, model: str | Path | None = None,
                    language: str | None = None) -> tuple[asr.Transcript, media.MediaInfo]:
    """``purport transcribe``: one file's automatic transcript and the file's facts."""
    asr.check_language(language)
    asr_model.resolve(model)  # a missing extra or a bad --model fails before decoding
    signal = media.load(path, sr=asr.SR)
    return transcribe_signal(signal, model=model, language=language), signal.info


def wanted(transcript: str | Path | None, transcribe: bool | None) -> bool:
    """Will the recording's own words be transcribed: no transcript file is given, and
    ``transcribe`` asks for it (True), or leaves it to :func:`available` (None)."""
    return transcript is None and transcribe is not False and (
        bool(transcribe) or available())


def save(archive: Archive, sha256: str, transcript: asr.Transcript) -> int:
    """Keep a transcript with the archive's recording of these bytes."""
    try:
        rec = archive.recording(sha256)
    except NotFoundError:
        raise NotFoundError("the recording is not in the archive: add it first (purport add "
                            "FILE --transcribe transcribes while adding)") from None
    return archive.add_transcript(rec.id, transcript.to_dict())


def user_text(path: str | Path, *, duration: float, kind: str = "transcript",
              language: str | None = None) -> asr.Transcript:
    """A transcript or translation file the user gives, as a transcript marked as theirs
    (with the file's SHA-256)."""
    if kind not in ("transcript", "translation"):
        raise ParameterError(f"--kind is transcript or translation, not {kind!r}")
    text = content.read_transcript(path)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return asr.from_text(text, duration=duration, name=Path(path).name, kind=kind,
                         language=language, sha256=digest)


SEARCH_METHOD = ("Every stored transcript segment, normalised (Unicode NFKC, lower case, "
                 "punctuation dropped; Arabic diacritics and tatweel dropped, alef, ya, "
                 "ta marbuta and hamza-seat variants unified), searched for every word of "
                 "the phrase in order: SQLite FTS5, or PostgreSQL full text ('simple' "
                 "configuration, no stemming).")
SEARCH_LIMITS = ("Finds only what the transcripts say: an automatic transcript's misheard "
                 "word is not found under its true spelling, and a phrase split across two "
                 "segments is not found. Words are matched as written, not by meaning or "
                 "stem ('attack' does not find 'attacks').")


def search(archive: Archive, phrase: str, *, speaker: str | None = None,
           limit: int = 50) -> dict[str, Any]:
    """``purport search``: where the archive's transcripts say ``phrase``."""
    if not 1 <= limit <= 1000:
        raise ParameterError("--limit is between 1 and 1000")
    hits = archive.search_transcripts(phrase, speaker=speaker, limit=limit)
    return {"phrase": phrase, "speaker": speaker, "hits": hits, "method": SEARCH_METHOD,
            "limits": SEARCH_LIMITS}


def heard(signal: media.Signal, *, transcript: str | Path | None = None,
          transcribe: bool | None = None, model: str | Path | None = None,
          language: str | None = None) -> tuple[asr.Transcript | None, str | None]:
    """What content dating reads for a questioned recording: the user's transcript file
    (marked as theirs; with its SHA-256), else the recording's automatic transcript when
    ``transcribe`` is True, or None (the default) and speech recognition is installed;
    else (None, why not)."""
    if transcript is not None:
        return user_text(transcript, duration=signal.info.duration), None
    if transcribe is False:
        return None, "not transcribed (--no-transcribe)"
    if transcribe is None and not available():
        return None, ("not transcribed: speech recognition is off ($PURPORT_TRANSCRIBE) or "
                      f"not installed ({asr_model.INSTALL_HINT})")
    return transcribe_signal(signal, model=model, language=language), None
