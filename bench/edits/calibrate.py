"""Measure every edit detector's false alarms per hour on unedited speech, and ship them.

Builds a corpus of unedited recordings (each one continuous take: one voice, one room, one
noise floor, one hum, one channel, one codec, start to end), runs every detector of
:mod:`purport.edits` on each exactly as the product does (the file decoded by
:func:`purport.media.load` at 16 kHz), counts what fires, and writes
``src/purport/edits/false_alarms.json``: per detector its threshold, the false alarms at
that threshold, the hours, the rate per hour with its 95 % upper bound, the rate at other
thresholds (so a threshold can be picked for a target rate), the count per speech
generator, and the corpus's description, the commit and the date. The product reads that
file; no rate is a constant in code.

Speech comes from four independent generators: espeak-ng and flite (sentences of Python
docstrings, from ``bench/reuse/textpool.py``), FSDD (real spoken digits, takes of one
speaker, from ``../shared/data/fsdd``) and the seeded speech-like synthesiser of
``tests/speechlike.py``. Each recording draws a room (dry, or an exponentially decaying
noise impulse response of RT60 0.2-0.7 s), a noise floor (pink or white, 35-60 dB below
the speech), hum (none, or 50 Hz from a grid log stitched from the real ENF-WHU mains
recordings by ``bench/timing/gridlog.py``, 10-45 dB below the speech, as strong as
bench/edits' -10 dB; an earlier corpus held 25-45 dB only), a band (16 kHz, or
8 kHz and back) and a codec (WAV, MP3 32-64 kbit/s, Opus 16-24 kbit/s).

The ENF piece detectors need the recording placed in a grid log: every recording with
hum is placed in the stitched log it was cut from, piece by piece, as ``purport when
--grid`` would. The reuse detectors match every recording against an index of all the
others (re-used span boundaries) and against itself (self-repeats); the voice-change
detector compares each recording with itself as the claimed speaker's reference.

    .venv/bin/python bench/edits/calibrate.py [--hours 3] [--seed 1] [--cache DIR]
        [--out src/purport/edits/false_alarms.json] [--jobs 1]

About 3 h of audio take about 12 minutes of CPU (generation, decoding, detectors, ENF
placement, reuse matching); the generated corpus is cached in ``--cache``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal as sps
from scipy import stats

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "bench" / "cases"))
sys.path.insert(0, str(ROOT / "bench" / "reuse"))
sys.path.insert(0, str(ROOT))

import audio  # noqa: E402  (bench/cases)
import speech as case_speech  # noqa: E402  (bench/cases)
import textpool  # noqa: E402  (bench/reuse)
from plan import SR, Voice  # noqa: E402  (bench/cases)
from tests.speechlike import speech as speechlike  # noqa: E402

from purport import media  # noqa: E402
from purport.edits import background, channel, fuse, join, questions  # noqa: E402  # noqa: E402
from purport.edits import enf as enf_edits  # noqa: E402
from purport.edits.frames import analyse  # noqa: E402

OUT = ROOT / "src" / "purport" / "edits" / "false_alarms.json"
RECORDING_SECONDS = 180.0
PER_RECORDING = 150  # sentences set aside for each recording
FSDD_FADE = 0.01  # seconds of fade at each end of an FSDD take
GATE_DB = 50.0  # the generators' own pause noise below this (re the speech) is removed
GENERATORS = ("espeak", "flite", "fsdd", "speechlike")
ESPEAK = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-us+f2", "en-us+m3",
          "en-gb+f3", "en-us+klatt")
FLITE = ("kal", "kal16", "awb", "rms", "slt")
#: candidate thresholds at which the rate is reported, per detector (the code's own is added)
CURVES = {
    "room_tone": (3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0),
    "reverb": (3.0, 4.0, 5.0, 6.0, 8.0),
    "bandwidth": (8.0, 10.0, 12.0, 15.0, 18.0, 20.0, 25.0),
    "digital_silence": (30.0, 35.0, 40.0, 60.0),
    "click": (3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0),
    "dc_step": (4.0, 6.0, 8.0, 12.0, 16.0, 24.0),
    "enf_phase_step": (8.0, 12.0, 16.0),
    "enf_frequency_step": (10.0, 15.0, 20.0, 30.0, 50.0),
    "enf_piece_jump": (3.0, 10.0, 30.0),
}
#: the lowest threshold each detector is run at (scores below it are never counted)
FLOORS = {"room_tone": 2.0, "reverb": 2.0, "bandwidth": 6.0, "digital_silence": 30.0, "click": 3.0,
          "dc_step": 4.0}


@dataclass(frozen=True)
class Recipe:
    """One unedited recording of the corpus."""

    index: int
    generator: str
    voice: str
    rt60: float          # 0: dry
    floor_db: float      # dB below the speech
    floor_colour: str    # pink | white
    hum_db: float | None  # dB below the speech; None: no hum
    band_sr: int         # 16000, or 8000 (down and back up)
    codec: str           # wav | mp3 | opus
    kbps: int | None
    seed: int

    def label(self) -> str:
        hum = "no hum" if self.hum_db is None else f"hum -{self.hum_db:.0f} dB"
        room = "dry" if not self.rt60 else f"RT60 {self.rt60:.2f} s"
        codec = self.codec + (f" {self.kbps}k" if self.kbps else "")
        return (f"{self.generator} {self.voice}, {room}, {self.floor_colour} floor "
                f"-{self.floor_db:.0f} dB, {hum}, {self.band_sr // 1000} kHz band, {codec}")

    @property
    def suffix(self) -> str:
        return {"wav": ".wav", "mp3": ".mp3", "opus": ".ogg"}[self.codec]


def plan(hours: float, seed: int) -> list[Recipe]:
    """Recipes for ``hours`` of audio, the generators taken in turn."""
    rng = np.random.default_rng([seed, 1])
    n = int(math.ceil(hours * 3600 / RECORDING_SECONDS))
    out = []
    for i in range(n):
        gen = GENERATORS[i % len(GENERATORS)]
        voice = {"espeak": lambda: str(rng.choice(ESPEAK)),
                 "flite": lambda: str(rng.choice(FLITE)),
                 "fsdd": lambda: str(rng.choice(case_speech.Fsdd.speakers())),
                 "speechlike": lambda: f"seed {int(rng.integers(1 << 30))}"}[gen]()
        codec = str(rng.choice(["wav", "mp3", "opus"], p=[0.4, 0.3, 0.3]))
        kbps = None if codec == "wav" else int(rng.choice([32, 48, 64] if codec == "mp3"
                                                          else [16, 24]))
        out.append(Recipe(
            index=i, generator=gen, voice=voice,
            rt60=float(rng.choice([0.0, 0.0, round(float(rng.uniform(0.2, 0.7)), 2)])),
            floor_db=round(float(rng.uniform(35, 60)), 1),
            floor_colour=str(rng.choice(["pink", "white"])),
            hum_db=None if rng.random() < 0.5 else round(float(rng.uniform(10, 45)), 1),
            band_sr=int(rng.choice([16000, 8000], p=[0.6, 0.4])),
            codec=codec, kbps=kbps, seed=int(rng.integers(1 << 30))))
    return out


# --- speech -------------------------------------------------------------------------------


def _sentences(seed: int) -> list[str]:
    """English sentences of the standard library's docstrings, each once, shuffled."""
    seen, out = set(), []
    for text in textpool.stdlib_texts():
        for s in textpool.split_sentences(text, "en"):
            if s.casefold() not in seen:
                seen.add(s.casefold())
                out.append(s)
    order = np.random.default_rng([seed, 2]).permutation(len(out))
    return [out[i] for i in order]


def _tts(r: Recipe, sentences: list[str], rng: np.random.Generator) -> np.ndarray:
    """About RECORDING_SECONDS of espeak-ng or flite speech, paragraphs 0.3-1.2 s apart."""
    if r.generator == "espeak":
        name, variant = (r.voice.split("+") + [""])[:2]
        voice = Voice("espeak", r.voice, "en", rate=float(rng.uniform(140, 190)),
                      pitch=float(rng.uniform(30, 70)))
    else:
        voice = Voice("flite", r.voice, "en", rate=float(rng.uniform(0.9, 1.15)),
                      pitch=float(rng.uniform(90, 180)))
    parts, total = [], 0.0
    start = (r.index * PER_RECORDING) % len(sentences)  # no sentence twice in a recording
    while total < RECORDING_SECONDS + 2:
        k = int(rng.integers(3, 8))
        text = "\n".join(sentences[start:start + k])
        start += k
        y = case_speech.synth(voice, text)
        pause = np.zeros(int(rng.uniform(0.3, 1.2) * SR), np.float32)
        parts += [y, pause]
        total += (len(y) + len(pause)) / SR
    return np.concatenate(parts)


def _fsdd(r: Recipe, rng: np.random.Generator) -> np.ndarray:
    """One FSDD speaker's takes in numbers of 2-6 digits (bench/cases's recipe), each take
    faded in and out over ``FSDD_FADE`` s (the takes are cut from longer recordings and
    start and end abruptly: butted together they would be real joins)."""
    takes = sorted(case_speech.FSDD_DIR.glob(f"*_{r.voice}_*.wav"))
    parts, total = [], 0.0
    while total < RECORDING_SECONDS + 1:
        for _ in range(int(rng.integers(2, 7))):
            y, sr = audio.read_wav(takes[int(rng.integers(len(takes)))])
            y = audio.to_sr(y, sr)
            fade = min(int(FSDD_FADE * SR), len(y) // 2)  # takes start and end abruptly:
            ramp = np.sin(np.linspace(0, np.pi / 2, fade)) ** 2  # a microphone's words do not
            y[:fade] *= ramp
            y[len(y) - fade:] *= ramp[::-1]
            gap = np.zeros(int(rng.uniform(0.05, 0.25) * SR), np.float32)
            parts += [y, gap]
            total += (len(parts[-2]) + len(gap)) / SR
        parts.append(np.zeros(int(rng.uniform(0.5, 1.2) * SR), np.float32))
        total += len(parts[-1]) / SR
    return np.concatenate(parts)


def _gate(y: np.ndarray, below_db: float = GATE_DB) -> np.ndarray:
    """The generator's own pause noise removed: 10-ms frames more than ``below_db`` under
    the active speech set to zero (5-ms ramps). TTS paragraphs and FSDD takes each carry
    their own faint noise, and butting them together is itself a join; the corpus's
    room tone is then added over the whole recording, as one room would be."""
    rms = audio.frame_rms(y)
    keep = (20 * np.log10(rms + 1e-12) > audio.active_dbfs(y) - below_db).astype(float)
    g = np.repeat(keep, audio.FRAME)
    g = np.pad(g, (0, len(y) - len(g)))
    ramp = np.hanning(2 * int(0.005 * SR) + 1)
    g = np.clip(np.convolve(g, ramp / ramp.sum(), "same") * 1.0001, 0, 1)
    return (y * g).astype(np.float32)


def _room(y: np.ndarray, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """``y`` in a room: convolved with decaying noise (RT60 ``rt60`` s) plus the direct path."""
    if not rt60:
        return y
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * 10 ** (-3 * t / rt60)
    tail[: int(0.003 * SR)] = 0
    ir = tail / np.sqrt(np.sum(tail ** 2)) * 0.5
    ir[0] = 1.0
    return sps.fftconvolve(y, ir)[: len(y)].astype(np.float32)


def _hum(n: int, log: np.ndarray, offset: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS 50 Hz hum following the grid log from log second ``offset``, with random
    harmonic amplitudes (harmonics 1-6)."""
    t = offset + np.arange(n) / SR
    f = np.interp(t, np.arange(len(log)) + 0.5, log)
    phase = 2 * np.pi * np.cumsum(f) / SR
    y = np.zeros(n)
    for h, (lo, hi) in {1: (0.3, 1), 2: (0.1, 0.5), 3: (0.3, 1), 4: (0.05, 0.3),
                        5: (0.1, 0.5), 6: (0.05, 0.2)}.items():
        y += rng.uniform(lo, hi) * np.cos(h * phase + rng.uniform(0, 2 * np.pi))
    return (y / np.sqrt(np.mean(y ** 2))).astype(np.float32)


def render(r: Recipe, sentences: list[str], log: np.ndarray, path: Path) -> dict:
    """Make recording ``r`` as a file; returns its truth (the hum's log offset)."""
    rng = np.random.default_rng(r.seed)
    if r.generator in ("espeak", "flite"):
        y = _tts(r, sentences, rng)
    elif r.generator == "fsdd":
        y = _fsdd(r, rng)
    else:
        y = speechlike(RECORDING_SECONDS + 1, seed=int(r.voice.split()[1]), sr=SR,
                       silence="digital")
    act = audio.activity(y)
    y = y[: audio.cut_at_pause(y, act, RECORDING_SECONDS)]
    y = _gate(y)
    y = _room(y, r.rt60, rng)
    y = audio.gain(y, -26.0 - audio.active_dbfs(y))
    n = len(y)
    noise = audio.pink(n, rng) if r.floor_colour == "pink" else \
        rng.standard_normal(n).astype(np.float32)
    y = y + audio.gain(noise, -26.0 - r.floor_db)
    offset = None
    if r.hum_db is not None:
        offset = float(rng.uniform(0, len(log) - n / SR - 10))
        y = y + audio.gain(_hum(n, log, offset, rng), -26.0 - r.hum_db)
    if r.band_sr != SR:
        y = sps.resample_poly(sps.resample_poly(y, 1, SR // r.band_sr), SR // r.band_sr, 1)
    y, _ = audio.peak_guard(np.asarray(y, np.float32))
    file_sr = r.band_sr if r.codec != "opus" else 16000
    if r.band_sr != SR and r.codec != "opus":
        y = sps.resample_poly(y, 1, SR // r.band_sr).astype(np.float32)
        write_sr = r.band_sr
    else:
        write_sr = SR
    _encode(y, write_sr, path, r, file_sr)
    return {"offset": offset}


def _encode(y: np.ndarray, sr: int, path: Path, r: Recipe, file_sr: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "in.wav"
        audio.write_wav(wav, y, sr)
        codec = {"wav": ["-c:a", "pcm_s16le"], "mp3": ["-c:a", "libmp3lame"],
                 "opus": ["-c:a", "libopus", "-application", "voip"]}[r.codec]
        rate = ["-b:a", f"{r.kbps}k"] if r.kbps else []
        cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(wav), *codec, *rate, "-ar",
               str(file_sr if r.codec != "opus" else 48000), "-ac", "1", "-map_metadata",
               "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", str(path)]
        subprocess.run(cmd, check=True, capture_output=True)


# --- the grid log -------------------------------------------------------------------------


def grid_log(cache: Path):
    """The stitched ENF-WHU grid log of bench/timing (tracks cached in ``cache``)."""
    spec = importlib.util.spec_from_file_location("timing_gridlog",
                                                  ROOT / "bench" / "timing" / "gridlog.py")
    gridlog = importlib.util.module_from_spec(spec)
    sys.modules["timing_gridlog"] = gridlog  # its dataclasses look their module up
    spec.loader.exec_module(gridlog)
    tracks = gridlog.whu_tracks(cache, log=lambda *a: None)
    return gridlog.build(tracks, seed=11).log


# --- detectors ----------------------------------------------------------------------------


def run_detectors(path: Path, log) -> tuple[dict[str, list[float]], float, object, dict]:
    """Every signal detector on one file, at its floor threshold: detector -> strengths;
    the decoded duration; the decoded signal."""
    from purport.timing import enf as timing_enf
    from purport.timing.report import enf_report

    signal = media.load(path, sr=media.SR)
    y, sr, src = signal.y, signal.sr, signal.info.sample_rate
    frames = analyse(y, sr=sr, source_sr=src)
    got: dict[str, list[float]] = {}

    def keep(cands):
        for c in cands:
            got.setdefault(c.detector, []).append(c.strength)

    keep(background.room_tone(frames=frames, threshold=FLOORS["room_tone"]))
    keep(background.reverb(frames=frames, threshold=FLOORS["reverb"]))
    keep(channel.bandwidth(frames=frames, threshold=FLOORS["bandwidth"]))
    keep(join.digital_silence(y, sr=sr, threshold=FLOORS["digital_silence"]))
    keep(join.clicks(y, sr=sr, threshold=FLOORS["click"]))
    keep(join.dc_steps(y, sr=sr, threshold=FLOORS["dc_step"]))
    x = timing_enf.to_analysis_rate(y, sr)
    report = enf_report(x, timing_enf.SR, log, source_sr=src)
    keep(enf_edits.steps(report, threshold=0.0))
    keep(enf_edits.piece_jumps(report, threshold=0.0))
    return got, signal.duration, signal, report


def landmarks(signal):
    """The reuse fingerprint of a decoded signal, as the product makes it."""
    from purport.reuse import fingerprint
    from purport.reuse.landmarks import SR as LSR

    return fingerprint(media.resample(signal.y, orig_sr=signal.sr, target_sr=LSR), sr=LSR)


def voice_count(signal) -> int:
    """Windows of one unedited recording that the voice question flags as another voice,
    the recording itself standing as the claimed speaker's reference (its own profile),
    rated by the shipped calibration."""
    from purport.voice.calibrate import default_calibration
    from purport.voice.compare import compare
    from purport.voice.embed import embed_recording

    q = embed_recording(signal.y, sr=signal.sr)
    report = compare(q, [q], default_calibration())
    return len(questions.voice_candidates(report))


def reuse_counts(fps: list, durations: list[float]) -> tuple[list[int], list[int]]:
    """Per recording: re-used span boundaries found against an index of all the others,
    and self-repeats found inside it."""
    from purport.reuse import Index, match, match_self
    from purport.reuse.report import ReuseReport

    index = Index()
    for i, fp in enumerate(fps):
        index.add(i + 1, fp)
    bounds, repeats = [], []
    for i, (dur, fp) in enumerate(zip(durations, fps, strict=True)):
        index.remove(i + 1)
        found = match(index, fp)
        index.add(i + 1, fp)
        selfm = match_self(fp)
        rep = ReuseReport(query={}, matches=[_m(m, "archive") for m in found], summary="")
        srep = ReuseReport(query={}, matches=[_m(m, "self") for m in selfm], summary="")
        cands = questions.reuse_candidates(rep, srep, dur)
        bounds.append(sum(c.detector == "reuse_boundary" for c in cands))
        repeats.append(sum(c.detector == "self_repeat" for c in cands))
    return bounds, repeats


def _m(m, name: str) -> dict:
    d = m.to_dict() if hasattr(m, "to_dict") else dict(m)
    return dict(d, name=d.get("name", name))


# --- the figures --------------------------------------------------------------------------


def upper95(k: int, hours: float) -> float:
    """One-sided 95 % upper bound on a Poisson rate per hour after ``k`` events."""
    return float(stats.chi2.ppf(0.95, 2 * (k + 1)) / 2 / hours)


def commit() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir())
                    / "purport-edits-calibration")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-reuse", action="store_true",
                    help="skip the reuse detectors (their figures are left out)")
    ap.add_argument("--thresholds-from", default=None,
                    help="where the thresholds in code were picked (stated in the file), "
                    "e.g. 'corpus seed 1': measure on another seed to keep the rate honest")
    ap.add_argument("--generate-only", action="store_true",
                    help="only make (and cache) the corpus's files")
    ap.add_argument("--no-voice", action="store_true",
                    help="skip the voice-change detector (its figure is left out)")
    args = ap.parse_args(argv)
    t0 = time.process_time()
    args.cache.mkdir(parents=True, exist_ok=True)
    recipes = plan(args.hours, args.seed)
    log = grid_log(args.cache)
    sentences = _sentences(args.seed)
    corpus = args.cache / f"corpus-s{args.seed}"
    corpus.mkdir(exist_ok=True)
    strengths: dict[str, list[list[float]]] = {}
    seconds, by_gen, fps, rows, voices = [], [], [], [], []
    for r in recipes:
        path = corpus / f"{r.index:03d}-{r.generator}{r.suffix}"
        if not path.exists():
            tmp = path.with_name("tmp-" + path.name)
            render(r, sentences, log.freq, tmp)
            tmp.rename(path)  # an interrupted run leaves no half-made file
        if args.generate_only:
            continue
        got, dur, signal, report = run_detectors(path, log)
        for name in set(strengths) | set(got):
            strengths.setdefault(name, [[] for _ in seconds])
        for name in strengths:
            strengths[name].append(got.get(name, []))
        seconds.append(dur)
        by_gen.append(r.generator)
        rows.append({"recipe": r.label(), "seconds": round(dur, 1),
                     "hum_present": bool(report.get("present")),
                     "pieces": len(report.get("pieces") or []),
                     "fired": {k: len(v) for k, v in got.items() if v}})
        if not args.no_reuse:
            fps.append(landmarks(signal))
        if not args.no_voice:
            voices.append(voice_count(signal))
        print(f"{r.index:3d} {r.label():90s} {dur:6.1f} s  "
              f"{ {k: len(v) for k, v in got.items() if v} }  cpu {time.process_time() - t0:.0f} s",
              flush=True)
    if args.generate_only:
        print(f"{len(recipes)} recordings in {corpus}")
        return
    hours = sum(seconds) / 3600
    detectors = {}
    for d in fuse.DETECTORS:
        if d.family in ("reuse", "voice"):
            continue
        per = strengths.get(d.name, [[] for _ in seconds])
        if d.family == "enf":  # only a recording with hum can fire: per hour of those
            hum = [row["hum_present"] for row in rows]
            sub = [i for i, h in enumerate(hum) if h]
            detectors[d.name] = _entry(d, [per[i] for i in sub],
                                       sum(seconds[i] for i in sub) / 3600,
                                       [by_gen[i] for i in sub], [seconds[i] for i in sub])
            detectors[d.name]["hours_of"] = "recordings with hum found (placed in the log)"
        else:
            detectors[d.name] = _entry(d, per, hours, by_gen, seconds)
    if not args.no_reuse:
        bounds, repeats = reuse_counts(fps, seconds)
        for d, counts in ((questions.REUSE_BOUNDARY, bounds), (questions.SELF_REPEAT, repeats)):
            per = [[1.0] * c for c in counts]
            detectors[d.name] = _entry(d, per, hours, by_gen, seconds)
    if not args.no_voice:
        per = [[1.0] * c for c in voices]
        detectors[questions.VOICE_CHANGE.name] = _entry(questions.VOICE_CHANGE, per, hours,
                                                        by_gen, seconds)
    hum_hours = sum(s for s, row in zip(seconds, rows, strict=True) if row["hum_present"]) / 3600
    gens = sorted(set(by_gen))
    out = {
        "version": 1,
        "commit": commit(),
        "date": dt.date.today().isoformat(),
        "script": "bench/edits/calibrate.py",
        "thresholds_picked_on": args.thresholds_from or "this corpus (rates are in-sample)",
        "corpus": {
            "summary": f"{len(recipes)} unedited {RECORDING_SECONDS / 60:.0f}-min recordings "
                       f"from {len(gens)} generators ({', '.join(gens)}); rooms dry or "
                       "RT60 0.2-0.7 s, pink or white floor 35-60 dB below the speech "
                       "(the generators' own pause noise gated out first), "
                       "half with 50 Hz hum (real ENF-WHU dynamics) 10-45 dB below, "
                       "16 or 8 kHz band, WAV / MP3 32-64k / Opus 16-24k",
            "hours": round(hours, 3),
            "hours_with_hum": round(hum_hours, 3),
            "recordings": len(recipes),
            "seed": args.seed,
            "hours_by_generator": {g: round(sum(s for s, b in zip(seconds, by_gen, strict=True)
                                               if b == g) / 3600, 3) for g in gens},
            "recipes": [row["recipe"] for row in rows],
        },
        "detectors": detectors,
        "cpu_seconds": round(time.process_time() - t0, 1),
    }
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"{hours:.2f} h, {time.process_time() - t0:.0f} s CPU -> {args.out}")
    for name, e in detectors.items():
        print(f"  {name:20s} threshold {e['threshold']!s:6s} {e['false_alarms']:4d} alarms  "
              f"{e['false_alarms_per_hour']:.2f}/h (95% <= {e['upper_95_per_hour']:.2f}/h)  "
              f"{e['by_generator']}")


def _entry(d, per: list[list[float]], hours: float, by_gen: list[str],
           seconds: list[float]) -> dict:
    thr = d.threshold

    def count(t: float | None) -> int:
        return sum(sum(1 for s in v if t is None or s >= t) for v in per)

    k = count(thr)
    curve = sorted(set(CURVES.get(d.name, ())) | ({thr} if thr is not None else set()))
    gens = sorted(set(by_gen))
    return {
        "family": d.family, "threshold": thr, "unit": d.unit,
        "false_alarms": k, "hours": round(hours, 3),
        "false_alarms_per_hour": round(k / hours, 3),
        "upper_95_per_hour": round(upper95(k, hours), 3),
        "at_thresholds": {f"{t:g}": round(count(t) / hours, 3) for t in curve},
        "by_generator": {g: sum(sum(1 for s in v if thr is None or s >= thr)
                                for v, b in zip(per, by_gen, strict=True) if b == g)
                         for g in gens},
        "max_strength": round(max((s for v in per for s in v), default=0.0), 2),
    }


if __name__ == "__main__":
    main()
