"""Deterministic speech corpus for the reuse benchmark: TTS recordings plus real FSDD speech.

    .venv/bin/python bench/reuse/corpus.py --hours 1                     # smoke size
    .venv/bin/python bench/reuse/corpus.py --hours 20 --jobs 2           # full size
    .venv/bin/python bench/reuse/corpus.py --recipe room --hours 2.5     # another recipe

Writes 16 kHz mono 16-bit WAV files and ``manifest.json`` into the cache folder
(default ``bench/reuse/.cache/corpus-seed<SEED>`` for the base recipe,
``corpus-<RECIPE>-seed<SEED>`` for the others; see recipes.py). Recordings are planned one
after the other from the seed, so a smaller corpus is a prefix of a larger one: growing
``--hours`` only adds files. ``index`` recordings (ids 1, 2, ...) are meant to be indexed;
``negative`` recordings (ids from 100001) use different sentences (and FSDD takes) and must
never be indexed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recipes  # noqa: E402
import textpool  # noqa: E402
from recipes import Recipe  # noqa: E402

SR = 16000
HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / ".cache"
FSDD_DIR = Path(os.environ.get("FSDD_DIR", HERE.parents[2] / "shared" / "data" / "fsdd"))
NEGATIVE_ID_BASE = 100_000
MIN_SECONDS, MAX_SECONDS = 120.0, 900.0
FSDD_SLOTS = (1, 4, 7, 10)
"""Planning positions of the four FSDD speakers among the indexed recordings."""
FSDD_TAKES = 50
FSDD_INDEX_SHARE = 0.8
"""Of each speaker's 50 takes per digit, 40 go to the index and 10 to the negatives."""
FSDD_MIX_SHARE = 0.6
"""Mixed recipes: share of TTS recordings that get runs of FSDD digits in their pauses."""
TEXT_MARGIN = 1.4
"""Give the synthesiser this much more text than the target length needs, then trim."""


@dataclass
class Plan:
    """One recording to make: identity, voice settings and the exact text (or FSDD takes)."""

    id: int
    kind: str  # "index" | "negative"
    source: str  # "espeak" | "flite" | "fsdd"
    voice: str
    lang: str
    target_s: float
    speed: float = 0.0  # espeak words/min; flite duration stretch
    pitch: float = 0.0  # espeak 0-99; flite mean F0 Hz
    text: str = ""
    takes: list[str] = field(default_factory=list)
    seed: int = 0
    recipe: str = "base"
    finish: dict = field(default_factory=dict)  # recipes.draw_finish settings
    fsdd_runs: list[list[str]] = field(default_factory=list)  # FSDD takes put into pauses

    @property
    def name(self) -> str:
        """File stem, e.g. ``r00012`` or ``n00003``."""
        prefix = "r" if self.kind == "index" else "n"
        return f"{prefix}{self.id % NEGATIVE_ID_BASE:05d}"

    def digest(self) -> str:
        """Hash of everything that determines the audio (to reuse files already made); the
        recipe fields are left out at their defaults, so base-recipe files keep their hash."""
        d = asdict(self)
        for key, default in (("recipe", "base"), ("finish", {}), ("fsdd_runs", [])):
            if d[key] == default:
                del d[key]
        blob = json.dumps(d, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class TextSource:
    """Hands out sentences of one language/pool in order, never the same sentence twice."""

    def __init__(self, sentences: list[str], lang: str, seed: int) -> None:
        """Start at the first sentence; pseudo-words are seeded by `seed` and `lang`."""
        self.sentences = sentences
        self.lang = lang
        self.pos = 0
        self.rng = np.random.default_rng([seed, 7, textpool.LANGS.index(lang)])

    def take(self, n_words: int) -> str:
        """Sentences totalling at least `n_words` words (pseudo-words once the pool is spent)."""
        out, words = [], 0
        while words < n_words:
            if self.pos < len(self.sentences):
                sentence = self.sentences[self.pos]
                self.pos += 1
            else:
                sentence = textpool.pseudo_sentence(self.lang, self.rng)
            out.append(sentence)
            words += len(sentence.split())
        return "\n".join(out)


# --- planning ----------------------------------------------------------------------------


def words_needed(source: str, speed: float, seconds: float) -> int:
    """Estimate how many words fill `seconds` at this voice speed, with margin."""
    wps = speed / 60.0 * 0.8 if source == "espeak" else 2.6 / speed
    return int(seconds * wps * TEXT_MARGIN) + 10


def pick_category(counts: dict[str, int], weights: dict[str, float]) -> str:
    """Smooth weighted round robin over a recipe's language weights: every prefix keeps
    the proportions."""
    step = sum(counts.values()) + 1
    total = sum(weights.values())
    key = max(weights, key=lambda k: weights[k] / total * step - counts.get(k, 0))
    counts[key] = counts.get(key, 0) + 1
    return key


def pick_voice(key: str, rng: np.random.Generator,
               recipe: Recipe) -> tuple[str, str, str, float, float]:
    """Draw (source, voice, lang, speed, pitch) for a category of the recipe's weights.

    Fast espeak voices (``recipe.fast_share``) are drawn from a generator of their own, so
    that recipes without them draw exactly what the corpus drew before recipes existed.
    """
    if key == "flite-en":
        voice = str(rng.choice(sorted(recipe.flite_voices)))
        lo, hi = recipe.flite_voices[voice]
        return ("flite", voice, "en", float(rng.uniform(*recipe.flite_stretch)),
                float(rng.uniform(lo, hi)))
    base = str(rng.choice(recipe.espeak_en)) if key == "espeak-en" else key
    variant = str(rng.choice(recipe.espeak_variants))
    voice = f"{base}+{variant}" if variant else base
    lang = "en" if key == "espeak-en" else key
    lo, hi = recipe.espeak_speed
    speed = float(rng.integers(lo, hi + 1))
    pitch = float(rng.integers(recipe.espeak_pitch[0], recipe.espeak_pitch[1] + 1))
    if recipe.fast_share:
        fast = np.random.default_rng([int(rng.integers(1 << 31)), 3])
        if fast.random() < recipe.fast_share:
            speed = float(fast.integers(recipe.fast_speed[0], recipe.fast_speed[1] + 1))
    return "espeak", voice, lang, speed, pitch


def fsdd_takes(kind: str, recipe: Recipe, seed: int) -> list[int]:
    """The take numbers (0-49) of each speaker and digit that go into `kind` recordings."""
    n_index = int(FSDD_TAKES * FSDD_INDEX_SHARE)
    order = (np.arange(FSDD_TAKES) if recipe.fsdd_split == "by-take"
             else np.random.default_rng([seed, 11]).permutation(FSDD_TAKES))
    chosen = order[:n_index] if kind == "index" else order[n_index:]
    return sorted(int(t) for t in chosen)


def fsdd_plan(kind: str, rec_id: int, speaker: str, seed: int, recipe: Recipe) -> Plan:
    """One recording of all of a speaker's FSDD takes in the index (or negative) range."""
    takes = [f"{d}_{speaker}_{t}.wav" for d in range(10) for t in fsdd_takes(kind, recipe, seed)]
    order = np.random.default_rng([seed, rec_id]).permutation(len(takes))
    return Plan(id=rec_id, kind=kind, source="fsdd", voice=speaker, lang="en", target_s=0.0,
                takes=[takes[i] for i in order], seed=seed, recipe=recipe.name,
                finish=_finish(recipe, seed, rec_id))


def _finish(recipe: Recipe, seed: int, rec_id: int) -> dict:
    """A recording's finishing settings ({} for recipes without finishing steps)."""
    if not (recipe.digital_pauses or recipe.gain_db or recipe.room_tone_dbfs
            or recipe.hum_share):
        return {}
    return recipes.draw_finish(recipe, np.random.default_rng([seed, rec_id, 2]))


class TakeQueues:
    """Each FSDD speaker's takes of one kind in a seeded order, handed out in runs."""

    def __init__(self, kind: str, recipe: Recipe, seed: int) -> None:
        """Shuffle every speaker's takes (index or negative range) once."""
        self.queues = {}
        for k, speaker in enumerate(fsdd_speakers()):
            takes = [f"{d}_{speaker}_{t}.wav" for d in range(10)
                     for t in fsdd_takes(kind, recipe, seed)]
            order = np.random.default_rng([seed, 13, k, kind == "index"]).permutation(len(takes))
            self.queues[speaker] = [takes[i] for i in order]

    def runs(self, rng: np.random.Generator) -> list[list[str]]:
        """2-5 runs of 5-15 takes, each run one speaker (none once the takes are spent)."""
        out = []
        for _ in range(int(rng.integers(2, 6))):
            left = [s for s, q in self.queues.items() if q]
            if not left:
                break
            queue = self.queues[str(rng.choice(left))]
            n = int(rng.integers(5, 16))
            out.append(queue[:n])
            del queue[:n]
        return out


def fsdd_speakers() -> list[str]:
    """The FSDD speakers present, sorted."""
    return sorted({p.name.split("_")[1] for p in FSDD_DIR.glob("*_*_*.wav")})


def iter_plans(kind: str, pools: dict, seed: int,
               recipe: Recipe = recipes.RECIPES["base"]) -> Iterator[Plan]:
    """Endless deterministic sequence of recording plans of one kind.

    FSDD speech comes as one recording per speaker (``recipe.fsdd == "recordings"``), as
    runs of digits inside TTS recordings (``"mixed"``), or not at all (``"none"``).
    """
    sources = {lang: TextSource(p[kind], lang, seed + (0 if kind == "index" else 1))
               for lang, p in pools.items()}
    speakers = fsdd_speakers() if recipe.fsdd == "recordings" else []
    queues = TakeQueues(kind, recipe, seed) if recipe.fsdd == "mixed" else None
    base = 0 if kind == "index" else NEGATIVE_ID_BASE
    slots = FSDD_SLOTS if kind == "index" else tuple(range(len(speakers)))
    n = 0
    counts: dict[str, int] = {}
    while True:
        n += 1
        rec_id = base + n
        if n - 1 in slots and slots.index(n - 1) < len(speakers):
            yield fsdd_plan(kind, rec_id, speakers[slots.index(n - 1)], seed, recipe)
            continue
        rng = np.random.default_rng([seed, rec_id])
        source, voice, lang, speed, pitch = pick_voice(
            pick_category(counts, recipe.lang_weights), rng, recipe)
        target = float(rng.uniform(MIN_SECONDS, MAX_SECONDS))
        text = sources[lang].take(words_needed(source, speed, target))
        mix = np.random.default_rng([seed, rec_id, 4])
        runs = queues.runs(mix) if queues and mix.random() < FSDD_MIX_SHARE else []
        yield Plan(id=rec_id, kind=kind, source=source, voice=voice, lang=lang, target_s=target,
                   speed=speed, pitch=pitch, text=text, seed=seed, recipe=recipe.name,
                   finish=_finish(recipe, seed, rec_id), fsdd_runs=runs)


# --- synthesis ---------------------------------------------------------------------------


def run(cmd: list[str]) -> None:
    """Run a command, raising with its stderr on failure."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:3])}... failed: {proc.stderr.strip()[-500:]}")


def to_16k(src: Path) -> np.ndarray:
    """Convert any WAV to 16 kHz mono float32 with sox."""
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "out.wav"
        run(["sox", "-R", str(src), "-r", str(SR), "-c", "1", "-b", "16", str(dst)])
        return read_wav(dst)


def synth_tts(plan: Plan) -> np.ndarray:
    """Synthesise a TTS plan's text at 16 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        text, raw = Path(tmp) / "text.txt", Path(tmp) / "raw.wav"
        text.write_text(plan.text, encoding="utf-8")
        if plan.source == "espeak":
            run(["espeak-ng", "-v", plan.voice, "-s", str(int(plan.speed)),
                 "-p", str(int(plan.pitch)), "-f", str(text), "-w", str(raw)])
        else:
            run(["flite", "-voice", plan.voice, "-f", str(text), "-o", str(raw),
                 "--setf", f"duration_stretch={plan.speed:.3f}",
                 "--setf", f"int_f0_target_mean={plan.pitch:.1f}"])
        return to_16k(raw)


def synth_fsdd(plan: Plan, takes: list[str] | None = None, salt: int = 1) -> np.ndarray:
    """Concatenate FSDD takes (8 kHz; default the plan's) with seeded 0.15-0.6 s gaps, at
    16 kHz."""
    rng = np.random.default_rng([plan.seed, plan.id, salt])
    parts = []
    for take in plan.takes if takes is None else takes:
        parts.append(to_16k(FSDD_DIR / take))
        parts.append(np.zeros(int(rng.uniform(0.15, 0.6) * SR), dtype=np.float32))
    return np.concatenate(parts)


def trim_at_pause(y: np.ndarray, seconds: float) -> np.ndarray:
    """Cut `y` to at most `seconds`, at the quietest 20 ms frame of the last second."""
    n = int(seconds * SR)
    if len(y) <= n:
        return y
    frame = SR // 50
    tail = y[n - SR:n]
    energy = (tail[: len(tail) // frame * frame].reshape(-1, frame) ** 2).sum(axis=1)
    return y[: n - SR + int(np.argmin(energy)) * frame + frame // 2]


def normalise(y: np.ndarray) -> np.ndarray:
    """Scale to -20 dBFS RMS over the voiced part, clipping guarded at 0.99 peak."""
    rms = float(np.sqrt(np.mean(y[np.abs(y) > 1e-4] ** 2))) if np.any(np.abs(y) > 1e-4) else 1.0
    y = y * (0.1 / max(rms, 1e-6))
    peak = float(np.max(np.abs(y))) if y.size else 1.0
    return (y * min(1.0, 0.99 / peak)).astype(np.float32)


def make_recording(plan: Plan, out_dir: Path) -> dict:
    """Synthesise one plan into ``<out_dir>/<name>.wav`` (+ text) and return its manifest row."""
    t0 = time.time()
    y = synth_fsdd(plan) if plan.source == "fsdd" else synth_tts(plan)
    if plan.source != "fsdd":
        y = trim_at_pause(y, plan.target_s)
    y, facts = finish_recording(plan, y)
    path = out_dir / f"{plan.name}.wav"
    write_wav(path, y)
    if plan.text:
        path.with_suffix(".txt").write_text(plan.text, encoding="utf-8")
    row = {k: v for k, v in asdict(plan).items() if k not in ("text", "takes", "fsdd_runs")}
    row.update(facts, fsdd_takes_mixed=sum(map(len, plan.fsdd_runs)))
    row.update(path=path.name, duration=len(y) / SR, digest=plan.digest(),
               n_words=len(plan.text.split()), n_takes=len(plan.takes),
               build_s=round(time.time() - t0, 2))
    return row


def finish_recording(plan: Plan, y: np.ndarray) -> tuple[np.ndarray, dict]:
    """The recipe's steps after synthesis: FSDD runs into pauses, digital-silence pauses,
    -20 dBFS normalisation, then room tone, hum and level (see recipes.py)."""
    recipe = recipes.get(plan.recipe)
    rng = np.random.default_rng([plan.seed, plan.id, 5])
    if plan.fsdd_runs:
        runs = [synth_fsdd(plan, takes, salt=10 + k) for k, takes in enumerate(plan.fsdd_runs)]
        y = recipes.insert_runs(y, runs, rng)
    if recipe.digital_pauses:
        y = recipes.digital_pauses(y, rng)
    y = normalise(y)
    if not plan.finish:
        return y, {}
    return recipes.finish(y, plan.finish)


# --- WAV i/o -----------------------------------------------------------------------------


def read_wav(path: Path, start: float = 0.0, duration: float | None = None) -> np.ndarray:
    """Read (a segment of) a 16-bit PCM WAV as float32 mono."""
    with wave.open(str(path), "rb") as w:
        sr, n = w.getframerate(), w.getnframes()
        first = min(n, int(round(start * sr)))
        count = n - first if duration is None else min(n - first, int(round(duration * sr)))
        w.setpos(first)
        data = np.frombuffer(w.readframes(count), dtype="<i2")
        if w.getnchannels() > 1:
            data = data.reshape(-1, w.getnchannels()).mean(axis=1)
    return (data / 32768.0).astype(np.float32)


def wav_rate(path: Path) -> int:
    """Sample rate of a WAV file."""
    with wave.open(str(path), "rb") as w:
        return w.getframerate()


def write_wav(path: Path, y: np.ndarray, sr: int = SR) -> None:
    """Write float mono audio as 16-bit PCM WAV."""
    pcm = (np.clip(y, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


# --- corpus ------------------------------------------------------------------------------


def corpus_dir(cache: Path, seed: int, recipe: str = "base") -> Path:
    """Folder of the corpus of `recipe` and `seed` inside `cache`."""
    return cache / (f"corpus-seed{seed}" if recipe == "base" else f"corpus-{recipe}-seed{seed}")


def load_manifest(folder: Path) -> dict:
    """The manifest of a corpus folder (empty lists when there is none yet)."""
    path = folder / "manifest.json"
    if path.exists():
        return json.loads(path.read_text())
    return {"recordings": [], "negatives": []}


def hours_of(rows: list[dict]) -> float:
    """Total duration of manifest rows, hours."""
    return sum(r["duration"] for r in rows) / 3600


def select(rows: list[dict], hours: float) -> list[dict]:
    """The shortest prefix of `rows` that reaches `hours` of audio."""
    out, total = [], 0.0
    for row in rows:
        if total >= hours * 3600:
            break
        out.append(row)
        total += row["duration"]
    return out


def build_kind(kind: str, hours: float, pools: dict, folder: Path, seed: int, jobs: int,
               existing: dict[str, dict], log, recipe: Recipe) -> list[dict]:
    """Make (or reuse) recordings of one kind until they reach `hours`."""
    rows: list[dict] = []
    plans = iter_plans(kind, pools, seed, recipe)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        while sum(r["duration"] for r in rows) < hours * 3600:
            batch, planned = [], sum(r["duration"] for r in rows)
            while planned < hours * 3600 and len(batch) < 4 * jobs:
                plan = next(plans)
                batch.append(plan)
                planned += plan.target_s or 240.0
            futures = []
            for plan in batch:
                row = existing.get(plan.name)
                ok = row and row["digest"] == plan.digest() and (folder / row["path"]).exists()
                futures.append(row if ok else pool.submit(make_recording, plan, folder))
            for item in futures:
                row = item if isinstance(item, dict) else item.result()
                rows.append(row)
                log(f"{kind} {row['path']} {row['source']:6s} {row['voice']:22s} "
                    f"{row['duration'] / 60:5.1f} min  total {hours_of(rows):6.2f} h")
    return rows


def build_corpus(hours: float, negative_hours: float, cache: Path = DEFAULT_CACHE,
                 seed: int = 0, jobs: int = 2, log=print, recipe: str = "base") -> dict:
    """Make sure the corpus of `hours` indexed and `negative_hours` negative audio of
    `recipe` exists."""
    for tool in ("espeak-ng", "flite", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"error: {tool} not found (apt-get install espeak-ng flite sox)")
    folder = corpus_dir(cache, seed, recipe)
    folder.mkdir(parents=True, exist_ok=True)
    (cache / ".gitignore").write_text("*\n")
    manifest = load_manifest(folder)
    have_index = sum(r["duration"] for r in manifest["recordings"]) >= hours * 3600
    have_neg = sum(r["duration"] for r in manifest["negatives"]) >= negative_hours * 3600
    if have_index and have_neg and manifest.get("pools_version") == textpool.POOLS_VERSION:
        return manifest
    pools = textpool.load_pools(cache, seed)
    existing = {Path(r["path"]).stem: r for r in manifest["recordings"] + manifest["negatives"]}
    t0 = time.time()
    spec = recipes.get(recipe)
    recordings = build_kind("index", hours, pools, folder, seed, jobs, existing, log, spec)
    negatives = build_kind("negative", negative_hours, pools, folder, seed, jobs, existing, log,
                           spec)
    keep = {r["path"] for r in recordings + negatives}
    recordings += [r for r in manifest["recordings"] if r["path"] not in keep]
    negatives += [r for r in manifest["negatives"] if r["path"] not in keep]
    recordings.sort(key=lambda r: r["id"])
    negatives.sort(key=lambda r: r["id"])
    manifest = {"recipe": recipe, "seed": seed, "sr": SR, "pools_version": textpool.POOLS_VERSION,
                "recordings": recordings, "negatives": negatives,
                "build_wall_s": round(time.time() - t0, 1)}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest


def summary(manifest: dict, hours: float, negative_hours: float) -> str:
    """One paragraph: how much audio of which sources the selected corpus holds."""
    lines = []
    for label, rows in (("index", select(manifest["recordings"], hours)),
                        ("negative", select(manifest["negatives"], negative_hours))):
        by = {}
        for r in rows:
            key = f"{r['source']}:{r['lang']}"
            by[key] = by.get(key, 0.0) + r["duration"] / 3600
        parts = ", ".join(f"{k} {v:.2f} h" for k, v in sorted(by.items()))
        total = sum(r["duration"] for r in rows) / 3600
        lines.append(f"{label}: {len(rows)} recordings, {total:.2f} h ({parts})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: build the corpus and print what it holds."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0, help="indexed audio, hours")
    ap.add_argument("--negative-hours", type=float, default=None,
                    help="negative audio, hours (default: max(0.25, hours/10))")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--recipe", default="base", choices=sorted(recipes.RECIPES),
                    help="how the corpus is made (see recipes.py)")
    ap.add_argument("--seed", type=int, default=None, help="default: the recipe's own seed")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    seed = recipes.get(args.recipe).seed if args.seed is None else args.seed
    neg = args.negative_hours if args.negative_hours is not None else max(0.25, args.hours / 10)
    t0 = time.time()
    manifest = build_corpus(args.hours, neg, args.cache, seed, args.jobs,
                            log=lambda m: print(m, flush=True), recipe=args.recipe)
    print(summary(manifest, args.hours, neg))
    print(f"corpus at {corpus_dir(args.cache, seed, args.recipe)} ready in "
          f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
