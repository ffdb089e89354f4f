"""The Assessment: every question that applies, run on one questioned recording, in one document.

The recording is decoded once (:func:`purport.media.load` at :data:`purport.media.SR`,
hashed once) and the archive's recordings are listed once; each question then gets the
decoded signal and what it needs from the archive: reuse the index, voice the claimed
speaker's reference embeddings, timing the grid log, the record the speaker's releases.

Each question's part is exactly what its own command prints with ``--json`` (``purport
match``, ``purport voice check``, ``purport when``, ``purport record``); ``edits`` runs
every edit detector (:mod:`purport.edits`) on the signal and on the other questions'
answers, and puts the candidate cut and splice points on one time axis.
No verdict word anywhere: the evidence and its strength.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purport import __version__, media
from purport.archive import Archive, Provenance, StoredAssessment
from purport.assess.edits import Edits
from purport.errors import PurportError
from purport.reuse.landmarks import Fingerprint
from purport.reuse.report import ReuseReport
from purport.voice.compare import VoiceReport

SCHEMA_VERSION = "1.0"

Progress = Callable[[float, str], None]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Skipped:
    """A question that was not answered, and why (``{"skipped": why}`` in the JSON)."""

    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"skipped": self.why}


@dataclass(frozen=True)
class Assessment:
    """``purport verify``'s document: the recording and every question's answer.

    ``to_dict()`` is the stored and printed JSON (schema :data:`SCHEMA_VERSION`);
    ``from_dict()`` reads it back; ``summary()`` is the one short human summary.
    """

    recording: dict[str, Any]
    claimed_speaker: str | None
    reuse: ReuseReport
    self_reuse: ReuseReport
    voice: VoiceReport | Skipped
    timing: dict[str, Any]
    edits: Edits
    record: dict[str, Any] | Skipped
    #: what was said: the automatic transcript, or the user's, or why there is none
    transcript: dict[str, Any] | Skipped = Skipped("no transcript")
    #: the audit entries of the recordings it used, once filed (``Archive.add_assessment``)
    custody: list[dict[str, Any]] = field(default_factory=list)
    created: str = field(default_factory=_now)
    schema_version: str = SCHEMA_VERSION
    purport_version: str = __version__

    @property
    def methods(self) -> dict[str, dict[str, str | None]]:
        """Each question's method and limits, in words."""
        voice = self.voice if isinstance(self.voice, VoiceReport) else None
        record = self.record if isinstance(self.record, dict) else {}
        enf = self.timing.get("enf") or {}
        return {
            "reuse": {"method": self.reuse.method, "limits": self.reuse.limits},
            "voice": {"method": voice.method if voice else None,
                      "limits": voice.limits if voice else None},
            "timing": {"method": enf.get("method"), "limits": enf.get("limits")},
            "edits": {"method": self.edits.method, "limits": self.edits.limits},
            "record": {"method": record.get("method"), "limits": record.get("limits")},
            "transcript": self.transcript_limits,
        }

    def to_dict(self) -> dict[str, Any]:
        """The Assessment as JSON-ready data (what ``purport verify --json`` prints)."""
        return {
            "schema_version": self.schema_version,
            "purport_version": self.purport_version,
            "created": self.created,
            "recording": self.recording,
            "claimed_speaker": self.claimed_speaker,
            "reuse": self.reuse.to_dict(),
            "self_reuse": self.self_reuse.to_dict(),
            "voice": self.voice.to_dict(),
            "timing": self.timing,
            "edits": self.edits.to_dict(),
            "record": self.record.to_dict() if isinstance(self.record, Skipped)
            else self.record,
            "transcript": self.transcript.to_dict() if isinstance(self.transcript, Skipped)
            else self.transcript,
            "methods": self.methods,
            "custody": self.custody,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Assessment:
        """An Assessment from its ``to_dict()`` (a stored one, say)."""
        voice, record = data["voice"], data["record"]
        return cls(
            recording=data["recording"], claimed_speaker=data.get("claimed_speaker"),
            reuse=ReuseReport.from_dict(data["reuse"]),
            self_reuse=ReuseReport.from_dict(data["self_reuse"]),
            voice=Skipped(voice["skipped"]) if "skipped" in voice
            else VoiceReport.from_dict(voice),
            timing=data["timing"], edits=Edits.from_dict(data["edits"]),
            record=Skipped(record["skipped"]) if "skipped" in record else record,
            transcript=_transcript(data.get("transcript")),
            custody=list(data.get("custody") or []),
            created=data["created"], schema_version=data["schema_version"],
            purport_version=data["purport_version"])

    @property
    def transcript_limits(self) -> dict[str, str | None]:
        t = self.transcript if isinstance(self.transcript, dict) else {}
        return {"method": t.get("model"), "limits": t.get("limits")}

    def summary(self) -> dict[str, str]:
        """One short line per question, by name (``content`` only when content was dated):
        what ``purport verify`` prints, the web job's result and the report's first list."""
        if isinstance(self.voice, Skipped):
            voice = self.voice.why
        elif self.voice.log10_lr is not None:
            voice = f"log10 LR {self.voice.log10_lr:+.2f}: {self.voice.verbal}"
        else:
            voice = self.voice.verbal
        out = {"reuse": self.reuse.summary, "voice": voice,
               "timing": (self.timing.get("enf") or {}).get("message", "")}
        if isinstance(self.transcript, dict):
            t = self.transcript
            lang = t.get("language") or "language not stated"
            if t.get("language_probability") is not None:
                lang += f" (p {t['language_probability']:.2f})"
            words = sum(len(x["text"].split()) for x in t.get("segments", []))
            out["speech"] = (f"{t.get('source', 'automatic')} {t.get('kind', 'transcript')}, "
                             f"{lang}, {words} words ({t.get('model')})")
        if self.timing.get("content"):
            out["content"] = self.timing["content"]["message"]
        out["edits"] = self.edits.summary
        return out


def _transcript(data: Mapping[str, Any] | None) -> dict[str, Any] | Skipped:
    if not data:
        return Skipped("no transcript")
    return Skipped(data["skipped"]) if "skipped" in data else dict(data)


def verify(path: str | Path, *, archive: Archive, claimed_speaker: str | None = None,
           transcript: str | Path | None = None, events: str | Path | None = None,
           region: str | None = None, grid_csv: str | Path | None = None,
           calibration: str | None = None, transcribe: bool | None = None,
           asr_model: str | Path | None = None, language: str | None = None,
           max_bytes: int = media.DEFAULT_MAX_BYTES,
           max_duration: float = media.DEFAULT_MAX_DURATION,
           progress: Progress | None = None) -> Assessment:
    """Run every question that applies to one recording file: its Assessment.

    ``progress(fraction, step)`` is called as each question starts (the web app's jobs
    show it).
    """
    if progress is not None:
        progress(0.0, "reading the recording")
    signal = media.load(path, sr=media.SR, max_bytes=max_bytes, max_duration=max_duration)
    assessment, _ = _assess(signal, archive=archive, claimed_speaker=claimed_speaker,
                            transcript=transcript, events=events, region=region,
                            grid_csv=grid_csv, calibration=calibration, progress=progress,
                            transcribe=transcribe, asr_model=asr_model, language=language)
    return assessment


def verify_signal(signal: media.Signal, *, archive: Archive,
                  claimed_speaker: str | None = None, transcript: str | Path | None = None,
                  events: str | Path | None = None, region: str | None = None,
                  grid_csv: str | Path | None = None, calibration: str | None = None,
                  progress: Progress | None = None,
                  transcribe: bool | None = None) -> Assessment:
    """``verify`` for a recording already decoded (best at :data:`purport.media.SR`)."""
    assessment, _ = _assess(signal, archive=archive, claimed_speaker=claimed_speaker,
                            transcript=transcript, events=events, region=region,
                            grid_csv=grid_csv, calibration=calibration, progress=progress,
                            transcribe=transcribe)
    return assessment


def _assess(signal: media.Signal, *, archive: Archive, claimed_speaker: str | None = None,
            transcript: str | Path | None = None, events: str | Path | None = None,
            region: str | None = None, grid_csv: str | Path | None = None,
            calibration: str | None = None, progress: Progress | None = None,
            transcribe: bool | None = None, asr_model: str | Path | None = None,
            language: str | None = None) -> tuple[Assessment, Fingerprint]:
    """The Assessment of decoded audio, and its landmark fingerprint (for filing it).

    Without a ``transcript`` file the recording is transcribed when ``transcribe`` is True,
    or None and speech recognition is installed; its words are then dated against the
    events catalog (the user's CSV and the archive's press reports), when there is one.
    """
    from purport.assess import edits as edits_
    from purport.assess import record as record_
    from purport.assess import reuse, speech, timing, voice
    from purport.speech import asr

    def step(fraction: float, what: str) -> None:
        if progress is not None:
            progress(fraction, what)

    recordings = archive.recordings()  # once, for every question
    known = next((r for r in recordings if r.sha256 == signal.info.sha256), None)
    recording = {k: v for k, v in signal.info.to_dict().items() if k != "path"}
    recording["archive_recording"] = known.to_dict() if known else None
    # what the questions need from the archive and the user, refused before the work
    if claimed_speaker is not None:
        archive.speaker(claimed_speaker)
    automatic = speech.wanted(transcript, transcribe)
    text, catalog = timing.content_inputs(transcript, events, archive, automatic=automatic)
    log = timing.grid_log(archive, region=region, grid_csv=grid_csv)
    if automatic:
        asr.check_language(language)

    step(0.05, "reuse: matching against the archive")
    fp = reuse.fingerprint_signal(signal)
    query = reuse.query_of(signal.info)
    found = reuse.match_fingerprint(archive, fp, query, recordings=recordings)
    step(0.25, "reuse: spans repeated inside the recording")
    repeated = reuse.match_fingerprint(archive, fp, query, self_match=True,
                                       recordings=recordings)
    if claimed_speaker is None:
        voice_said: VoiceReport | Skipped = Skipped("no --claimed-speaker given")
        filed: dict[str, Any] | Skipped = Skipped("no --claimed-speaker given")
    else:
        step(0.4, "voice: likelihood ratio against the claimed speaker's references")
        try:
            cal = voice.get_calibration(archive, calibration)
            voice_said = voice.check_signal(archive, signal, claimed_speaker, cal,
                                      recordings=recordings)
        except PurportError as exc:
            voice_said = Skipped(str(exc))
        filed = record_.record(archive, claimed_speaker, recordings=recordings)
    step(0.6, "speech: what was said" if automatic else "speech: the given transcript")
    said, why = speech.heard(signal, transcript=transcript, transcribe=transcribe,
                             model=asr_model, language=language)
    timed = None
    if said is not None and said.source == "automatic":
        text, timed = said.text, asr.timed_sentences(said)
    step(0.7, "timing: mains hum and content dating")
    when = timing.when_signal(signal, log=log, transcript=text if catalog else None,
                              events=catalog, timed=timed)
    step(0.85, "edits: joins, background, channel, hum steps and pieces")
    edits = edits_.edits_signal(signal, enf_report=when.get("enf"), reuse=found,
                                self_reuse=repeated,
                                voice=voice_said if isinstance(voice_said, VoiceReport)
                                else None)
    step(1.0, "done")
    return Assessment(recording=recording, claimed_speaker=claimed_speaker, reuse=found,
                      self_reuse=repeated, voice=voice_said, timing=when, edits=edits,
                      record=filed, transcript=said.to_dict() if said is not None
                      else Skipped(why or "no transcript")), fp


def verify_and_file(path: str | Path, *, archive: Archive, claimed_speaker: str | None = None,
                    provenance: Provenance | None = None,
                    max_bytes: int = media.DEFAULT_MAX_BYTES,
                    max_duration: float = media.DEFAULT_MAX_DURATION,
                    progress: Progress | None = None,
                    **questions: Any) -> tuple[Assessment, StoredAssessment]:
    """``verify``, then file the recording and keep the Assessment with it, in one
    transaction: (assessment, stored assessment).

    The recording is decoded once for both. A recording new to the archive is filed as a
    questioned recording of the claimed speaker; bytes already there keep their role and
    speaker and gain a sighting. ``questions`` are ``verify``'s keyword arguments
    (transcript, events, region, ...).
    """
    from purport import ingest

    def step(fraction: float, what: str) -> None:
        if progress is not None:
            progress(fraction, what)

    step(0.0, "reading the recording")
    signal = media.load(path, sr=media.SR, max_bytes=max_bytes, max_duration=max_duration)
    assessment, fp = _assess(signal, archive=archive, claimed_speaker=claimed_speaker,
                             progress=lambda f, m: step(0.9 * f, m), **questions)
    step(0.95, "filing the recording and its assessment")
    known = assessment.recording.get("archive_recording")
    with archive.transaction() as txn:
        added = ingest.add_signal(
            archive, signal, role=None if known else "questioned",
            speaker=None if known else claimed_speaker, provenance=provenance,
            fingerprint=fp, txn=txn)
        if isinstance(assessment.transcript, dict):
            archive.add_transcript(added.recording.id, assessment.transcript, txn=txn)
        stored = archive.add_assessment(added.recording.id, assessment.to_dict(),
                                        claimed_speaker=claimed_speaker, txn=txn)
    assessment = dataclasses.replace(assessment, custody=stored.data["custody"])
    step(1.0, "done")
    return assessment, stored
