"""Generate a whole-message case set for the reuse question: an archive and questioned cases.

    .venv/bin/python bench/cases/generate.py --seed 1 --scale small --out DIR
    .venv/bin/python bench/cases/generate.py --seed 2 --scale full --out DIR

Writes ``DIR/archive/`` (one fictional speaker's releases, in mp3, m4a, ogg and wav),
``DIR/cases/`` (the questioned messages) and ``DIR/manifest.json`` with the exact truth of
every case: each re-used piece (archive recording, ref and query spans, speech edges, time
and pitch factor) and each copy-paste repeat. The set is a function of the seed, the scale,
the text installed on the machine and the FSDD folder; see README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audio  # noqa: E402
import speech  # noqa: E402
from plan import SPEECH_DBFS, SR, Case, Fresh, Piece, Release, SetPlan, draw_set  # noqa: E402
from truth import TruthPiece, TruthRepeat  # noqa: E402

from purport import media  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / ".cache"
MANIFEST_FORMAT = "purport-bench-cases/1"
REUPLOAD_LEVEL = (-42.0, -12.0)
"""A re-upload keeps its release's level plus the case gain, held inside this range (dBFS)."""


class Builder:
    """Renders a :class:`SetPlan` into files and truth, archive first."""

    def __init__(self, plan: SetPlan, out: Path, cache: Path, log=print) -> None:
        """Prepare the text and FSDD supplies for `plan`'s seed."""
        self.plan = plan
        self.out = out
        self.log = log
        self.texts = speech.Texts(speech.unique_sentences(cache), plan.seed)
        self.fsdd = speech.Fsdd(plan.seed)
        self.reader = speech.Reader(self.texts, self.fsdd, np.random.default_rng([plan.seed, 11]))
        self.rng = np.random.default_rng([plan.seed, 13])
        self.decoded: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.levels: dict[int, float] = {}

    # -- archive -----------------------------------------------------------------------

    def release(self, rel: Release) -> dict:
        """Synthesise, finish and write one release; keep its decoded audio for the cases."""
        t0 = time.time()
        sp = self.reader.read(rel.voice, rel.seconds, "archive")
        y = sp.y + audio.background(len(sp.y), rel.background, SPEECH_DBFS, self.rng)
        y, guard = audio.peak_guard(audio.gain(y, rel.gain_db))
        path = self.out / "archive" / rel.name
        audio.encode(y, path, rel.encoding)
        write_text(path, sp.lines)
        decoded = media.load(path, sr=SR).y
        self.decoded[rel.index] = (decoded, sp.act)
        self.levels[rel.index] = SPEECH_DBFS + rel.gain_db + guard
        row = {"index": rel.index, "name": rel.name, "path": f"archive/{rel.name}",
               "date": rel.date, "voice": asdict(rel.voice), "voice_label": rel.voice.label(),
               "duration": round(len(decoded) / SR, 3), "encoding": asdict(rel.encoding),
               "encoding_label": rel.encoding.label(), "background": asdict(rel.background),
               "background_label": rel.background.label(), "gain_db": rel.gain_db,
               "peak_guard_db": round(guard, 2), "speech_dbfs": round(self.levels[rel.index], 1),
               "units": sp.units, "build_s": round(time.time() - t0, 1)}
        self.log(f"archive {rel.name:40s} {rel.voice.label():32s} {row['duration'] / 60:5.1f} min "
                 f"{rel.encoding.label():10s} {time.time() - t0:5.1f} s")
        return row

    # -- cases -------------------------------------------------------------------------

    def cut(self, piece: Piece) -> tuple[float, float]:
        """Ref start and end of a piece: pauses near the planned points (a re-upload: the
        release less its trims)."""
        y, act = self.decoded[piece.release]
        duration = len(y) / SR
        if piece.kind == "reupload":
            return piece.trim_start, round(duration - piece.trim_end, 2)
        length = min(piece.seconds, duration - 2.0)
        start = round(piece.position * (duration - length), 2)
        if not piece.snap:
            return start, round(start + length, 2)
        start = audio.snap(act, start)
        end = audio.snap(act, start + length)
        if end - start < 0.85 * length or end > duration:
            end = min(duration, start + length)
        return start, end

    def piece(self, piece: Piece, case: Case, at: float
              ) -> tuple[np.ndarray, np.ndarray, TruthPiece]:
        """A piece's audio as it goes into the case at `at` s, its speech activity (the
        release's, stretched by the change) and its truth (quiet stretches still 0: the
        case knows them once it is whole)."""
        y, act = self.decoded[piece.release]
        ref_start, ref_end = self.cut(piece)
        seg = y[int(round(ref_start * SR)): int(round(ref_end * SR))]
        seg, time_factor, pitch_factor = audio.change(seg, piece.transform, piece.factor)
        if piece.kind == "reupload":
            level = self.levels[piece.release] + case.gain_db
            level_db = float(np.clip(level, *REUPLOAD_LEVEL)) - level
        else:
            level_db = SPEECH_DBFS + piece.level_db - self.levels[piece.release]
        seg = audio.gain(seg, level_db)
        speech_start, speech_end = audio.speech_edges(act, ref_start, ref_end)
        query_end = at + len(seg) / SR
        truth = TruthPiece(
            recording=self.plan.releases[piece.release].name, release=piece.release,
            kind=piece.kind, cut=cut_label(piece),
            transform=piece.transform, time_factor=round(time_factor, 6),
            pitch_factor=round(pitch_factor, 6), ref_start=round(ref_start, 3),
            ref_end=round(ref_end, 3), ref_speech_start=speech_start, ref_speech_end=speech_end,
            query_start=round(at, 3), query_end=round(query_end, 3),
            query_speech_start=round(at + (speech_start - ref_start) * time_factor, 3),
            query_speech_end=round(min(query_end, at + (speech_end - ref_start) * time_factor), 3),
            query_quiet_start=0.0, query_quiet_end=0.0, level_db=round(level_db, 2))
        ref_act = act[int(round(ref_start * 100)): int(round(ref_end * 100))]
        return seg, audio.stretch(ref_act, len(seg) // audio.FRAME, time_factor), truth

    def case(self, case: Case) -> dict:
        """Render one case: its parts joined by short pauses, background under the fresh
        speech, the copy-paste repeat, the case gain, and the file."""
        t0 = time.time()
        chunks: list[np.ndarray] = []
        under: list[np.ndarray] = []  # 1 where the case's own background goes
        acts: list[np.ndarray] = []
        pieces: list[TruthPiece] = []
        parts: list[dict] = []
        lines: list[tuple[float, str]] = []
        at = 0
        for i, part in enumerate(case.parts):
            if i:
                gap = int(self.rng.uniform(*case.joins) * 100) * audio.FRAME
                chunks.append(np.zeros(gap, np.float32))
                under.append(np.ones(gap, np.float32))
                acts.append(np.zeros(gap // audio.FRAME, bool))
                at += gap
            if isinstance(part, Fresh):
                sp = self.reader.read(part.voice, part.seconds, "fresh")
                y, act, mask = sp.y, sp.act, np.ones(len(sp.y), np.float32)
                parts.append({"kind": "fresh", "voice": part.voice.label(), "start": at / SR,
                              "end": (at + len(y)) / SR, "units": sp.units})
                lines += [(at / SR + t, text) for t, text in sp.lines]
            else:
                y, act, truth = self.piece(part, case, at / SR)
                mask = np.zeros(len(y), np.float32)
                pieces.append(truth)
                parts.append({"kind": truth.kind, "recording": truth.recording,
                              "start": at / SR, "end": (at + len(y)) / SR})
                lines.append((at / SR, f"<{truth.kind}: {truth.recording} {truth.ref_start:.2f}"
                                       f"-{truth.ref_end:.2f} s, {truth.transform}>"))
            y = y[: len(act) * audio.FRAME]  # whole frames keep the activity aligned
            chunks.append(y)
            under.append(mask[: len(y)])
            acts.append(act)
            at += len(y)
        y = np.concatenate(chunks)
        act = np.concatenate(acts)
        pieces = [replace(p, **dict(zip(("query_quiet_start", "query_quiet_end"),
                                        audio.quiet_around(act, p.query_start, p.query_end),
                                        strict=True)))
                  for p in pieces]
        mask = uniform_filter1d(np.concatenate(under), audio.FRAME)  # 10-ms ramps
        y = y + mask * audio.background(len(y), case.background, SPEECH_DBFS,
                                                           self.rng)
        repeats = []
        if case.repeat is not None:
            y, repeat = self.repeat(y, act, case)
            repeats.append(repeat)
        y, guard = audio.peak_guard(audio.gain(y, case.gain_db))
        path = self.out / "cases" / f"{case.name}{case.encoding.suffix}"
        audio.encode(y, path, case.encoding)
        write_text(path, lines, repeats)
        duration = len(y) / SR
        reused = union_seconds([(p.query_start, p.query_end) for p in pieces])
        row = {"name": case.name, "path": f"cases/{path.name}", "kind": case.kind,
               "duration": round(duration, 3), "fresh_seconds": round(duration - reused, 3),
               "encoding": asdict(case.encoding), "encoding_label": case.encoding.label(),
               "background": asdict(case.background),
               "background_label": case.background.label(), "gain_db": case.gain_db,
               "peak_guard_db": round(guard, 2), "parts": [_rounded(p) for p in parts],
               "pieces": [p.to_dict() for p in pieces],
               "repeats": [r.to_dict() for r in repeats], "build_s": round(time.time() - t0, 1)}
        self.log(f"case    {path.name:40s} {case.kind:12s} {duration / 60:5.1f} min "
                 f"{len(pieces)} piece(s) {case.encoding.label():10s} {time.time() - t0:5.1f} s")
        return row

    def repeat(self, y: np.ndarray, act: np.ndarray, case: Case
               ) -> tuple[np.ndarray, TruthRepeat]:
        """Paste `case.repeat.seconds` of the case again, `gap` s after the original."""
        rep = case.repeat
        first_start = audio.snap(act, rep.source_at)
        first_end = audio.snap(act, first_start + rep.seconds)
        insert = audio.snap(act, first_end + rep.gap)
        a, b, c = (int(round(t * SR)) for t in (first_start, first_end, insert))
        out = np.concatenate([y[:c], y[a:b], y[c:]])
        speech_start, speech_end = audio.speech_edges(act, first_start, first_end)
        return out, TruthRepeat(first_start=first_start, first_end=first_end,
                                second_start=insert,
                                second_end=round(insert + (b - a) / SR, 3),
                                first_speech_start=speech_start, first_speech_end=speech_end)

    # -- the set -----------------------------------------------------------------------

    def build(self) -> dict:
        """Every release, then every case; the manifest as a dict."""
        (self.out / "archive").mkdir(parents=True, exist_ok=True)
        (self.out / "cases").mkdir(parents=True, exist_ok=True)
        archive = [self.release(r) for r in self.plan.releases]
        cases = [self.case(c) for c in self.plan.cases]
        return {"format": MANIFEST_FORMAT, "seed": self.plan.seed, "scale": self.plan.scale,
                "speaker": self.plan.speaker, "sr": SR, "archive": archive, "cases": cases,
                "totals": totals(archive, cases),
                "text": {"pseudo_sentences": self.texts.pseudo,
                         "fsdd_takes_unused": self.fsdd.left()}}


def cut_label(piece: Piece) -> str:
    """How a piece's cut points were chosen: "trim" (a re-upload's ends), "pause" or "hard"."""
    if piece.kind == "reupload":
        return "trim"
    return "pause" if piece.snap else "hard"


def write_text(path: Path, lines: list[tuple[float, str]],
               repeats: list[TruthRepeat] = ()) -> None:
    """What a recording says, paragraph by paragraph with start times, beside it (.txt).

    The times are before a copy-paste repeat was pasted in (the repeat is noted at the end).
    """
    rows = [f"[{t:8.2f}] {text}" for t, text in lines]
    rows += [f"<repeat: {r.first_start:.2f}-{r.first_end:.2f} s pasted again at "
             f"{r.second_start:.2f} s>" for r in repeats]
    path.with_suffix(path.suffix + ".txt").write_text("\n".join(rows) + "\n", encoding="utf-8")


def union_seconds(spans: list[tuple[float, float]]) -> float:
    """Total length of the union of (start, end) spans."""
    total, reach = 0.0, -math.inf
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def totals(archive: list[dict], cases: list[dict]) -> dict:
    """Hours and counts of the set, for the manifest and the reports."""
    return {"archive_recordings": len(archive),
            "archive_hours": round(sum(r["duration"] for r in archive) / 3600, 3),
            "cases": len(cases),
            "case_hours": round(sum(c["duration"] for c in cases) / 3600, 3),
            "fresh_hours": round(sum(c["fresh_seconds"] for c in cases) / 3600, 3),
            "pieces": sum(len(c["pieces"]) for c in cases),
            "repeats": sum(len(c["repeats"]) for c in cases),
            "longest_case_minutes": round(max(c["duration"] for c in cases) / 60, 1)}


def _rounded(part: dict) -> dict:
    """A timeline row with its times to the millisecond."""
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in part.items()}


def git_commit() -> str:
    """HEAD of the checkout (with ``-dirty`` when the tree has changes), or ``unknown``."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=HERE, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True,
                               text=True, cwd=HERE).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def main(argv: list[str] | None = None) -> None:
    """Command line: plan the set for the seed, render it, write manifest.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True, help="folder for the set")
    ap.add_argument("--scale", choices=("small", "full"), default="small")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                    help="where the sentence list is cached (default bench/cases/.cache)")
    args = ap.parse_args(argv)
    for tool in ("espeak-ng", "flite", "sox", "ffmpeg"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            raise SystemExit(f"error: {tool} not found (apt-get install espeak-ng flite sox "
                             "ffmpeg)")
    if (args.out / "manifest.json").exists():
        raise SystemExit(f"error: {args.out} already holds a set; remove it first")
    t0 = time.time()
    plan = draw_set(args.seed, args.scale, speech.Fsdd.speakers())
    manifest = Builder(plan, args.out, args.cache, log=lambda m: print(m, flush=True)).build()
    command = " ".join(["bench/cases/generate.py", *(argv or sys.argv[1:])])
    manifest["generated"] = {"command": command, "git_commit": git_commit(),
                             "seconds": round(time.time() - t0, 1)}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    t = manifest["totals"]
    print(f"{args.out}: {t['archive_recordings']} archive recordings ({t['archive_hours']:.2f} h), "
          f"{t['cases']} cases ({t['case_hours']:.2f} h, {t['fresh_hours']:.2f} h fresh, "
          f"{t['pieces']} re-used pieces, {t['repeats']} repeats) in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
