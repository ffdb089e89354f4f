"""Recordings for the voice benchmark: real speech (FSDD) and synthetic voices (TTS).

Every recording is a :class:`Recording` (speaker, split, duration, index, 16-bit-free float32
mono audio and its rate, and what went into it), a pure function of the seed:

* **FSDD** (Free Spoken Digit Dataset, ``$FSDD_DIR`` or ``../shared/data/fsdd``): four male
  speakers saying digits, 8 kHz, ``{digit}_{speaker}_{take}.wav``, 50 takes per digit. Split
  ``A`` uses takes 0-24 of every digit, split ``B`` takes 25-49. Within a speaker, split and
  duration the 250 takes are shuffled and packed, with 0.10-0.30 s of silence between them,
  into recordings of exactly the duration (the last take is cut at the end); no take appears
  in two recordings of the same duration and split, so any two recordings are disjoint.
  Recordings are left at the level they were recorded at (the speakers differ by up to
  20 dB; see ``level`` in :mod:`degrade`).
* **TTS**: espeak-ng voices (English accents, Arabic, French, German, Spanish, Italian,
  Portuguese, Dutch, Turkish, Russian, with voice variants) and flite voices kal, awb, rms
  and slt. Each recording reads its own seeded pseudo-sentences in the voice's language
  (:data:`WORDS`), at a seeded speaking rate, resampled to 16 kHz and cut to the duration.
  Synthesised audio is cached under ``.cache/tts/``.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import signal

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
FSDD_DIR = Path(os.environ.get("FSDD_DIR", HERE.parents[1].parent / "shared" / "data" / "fsdd"))
FSDD_SPEAKERS = ("jackson", "nicolas", "theo", "yweweler")
SPLITS = {"A": range(0, 25), "B": range(25, 50)}
"""FSDD takes per split: A calibrates, B evaluates (and the other way for TTS text seeds)."""
GAP = (0.10, 0.30)
"""Seconds of silence between FSDD takes (uniform)."""

ESPEAK_VOICES = {  # espeak-ng voice+variant -> word-list language
    "en+m1": "en", "en+m5": "en", "en+f3": "en", "en-us+m2": "en",
    "en-gb-scotland+m6": "en", "en-029+m4": "en", "en-gb-x-gbclan+f1": "en",
    "ar+m1": "ar", "ar+f2": "ar", "ar+m6": "ar", "ar+klatt": "ar",
    "fr+m5": "fr", "de+f4": "de", "es+m6": "es", "it+f3": "it", "pt+m7": "pt",
    "nl+f1": "nl", "tr+m3": "tr", "ru+f5": "ru",
}
FLITE_VOICES = ("kal", "awb", "rms", "slt")

WORDS = {  # everyday words per language, for seeded pseudo-sentences
    "en": "people city river market morning evening letter winter summer bridge village "
          "teacher station garden window journey doctor answer question mountain road school "
          "office number family weather season valley forest island machine table kitchen "
          "yellow green quickly slowly always never water bread apple",
    "fr": "maison rivière marché matin soir lettre hiver été pont village professeur gare "
          "jardin fenêtre voyage médecin réponse question montagne route école bureau nombre "
          "famille temps saison vallée forêt île machine table cuisine jaune vert toujours "
          "jamais eau pain pomme",
    "de": "Haus Fluss Markt Morgen Abend Brief Winter Sommer Brücke Dorf Lehrer Bahnhof "
          "Garten Fenster Reise Arzt Antwort Frage Berg Straße Schule Büro Zahl Familie "
          "Wetter Tal Wald Insel Maschine Tisch Küche gelb grün immer nie Wasser Brot Apfel",
    "es": "casa río mercado mañana tarde carta invierno verano puente pueblo maestro "
          "estación jardín ventana viaje médico respuesta pregunta montaña camino escuela "
          "oficina número familia tiempo valle bosque isla máquina mesa cocina amarillo verde "
          "siempre nunca agua pan manzana",
    "it": "casa fiume mercato mattina sera lettera inverno estate ponte villaggio maestro "
          "stazione giardino finestra viaggio medico risposta domanda montagna strada scuola "
          "ufficio numero famiglia tempo valle bosco isola macchina tavolo cucina giallo "
          "verde sempre mai acqua pane mela",
    "pt": "casa rio mercado manhã noite carta inverno verão ponte aldeia professor estação "
          "jardim janela viagem médico resposta pergunta montanha estrada escola escritório "
          "número família tempo vale floresta ilha máquina mesa cozinha amarelo verde sempre "
          "nunca água pão maçã",
    "nl": "huis rivier markt ochtend avond brief winter zomer brug dorp leraar station tuin "
          "raam reis dokter antwoord vraag berg weg school kantoor nummer familie weer dal "
          "bos eiland machine tafel keuken geel groen altijd nooit water brood appel",
    "tr": "ev nehir pazar sabah akşam mektup kış yaz köprü köy öğretmen istasyon bahçe "
          "pencere yolculuk doktor cevap soru dağ yol okul ofis sayı aile hava vadi orman ada "
          "makine masa mutfak sarı yeşil asla su ekmek elma",
    "ru": "дом река рынок утро вечер письмо зима лето мост деревня учитель вокзал сад окно "
          "путешествие врач ответ вопрос гора дорога школа офис число семья погода долина лес "
          "остров машина стол кухня жёлтый зелёный всегда никогда вода хлеб яблоко",
    "ar": "بيت نهر سوق صباح مساء رسالة شتاء صيف جسر قرية معلم محطة حديقة نافذة رحلة طبيب "
          "جواب سؤال جبل طريق مدرسة مكتب رقم عائلة طقس وادي غابة جزيرة آلة طاولة مطبخ أصفر "
          "أخضر دائما ماء خبز تفاحة",
}


@dataclass(frozen=True)
class Recording:
    """One benchmark recording and what it is made of."""

    population: str          # "fsdd" or "tts"
    speaker: str
    split: str               # "A" (calibration) or "B" (evaluation)
    duration: float          # seconds (exact)
    index: int
    y: np.ndarray = field(repr=False)
    sr: int
    parts: tuple[str, ...] = ()   # FSDD take names, or the TTS text

    @property
    def key(self) -> str:
        return f"{self.population}-{self.split}-{self.duration:g}s-{self.speaker}-{self.index}"


def seed_of(*parts: object) -> int:
    """A stable 32-bit seed from any labels (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little")


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono 16-bit WAV as float32 in [-1, 1) and its rate."""
    with wave.open(str(path)) as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM")
        y = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
        if w.getnchannels() > 1:
            y = y.reshape(-1, w.getnchannels()).mean(axis=1)
        return y, w.getframerate()


def resample(y: np.ndarray, sr: int, target: int) -> np.ndarray:
    """Polyphase resampling to ``target`` Hz, as float32."""
    if sr == target:
        return np.asarray(y, np.float32)
    g = math.gcd(sr, target)
    return signal.resample_poly(y, target // g, sr // g).astype(np.float32)


def fsdd_recordings(split: str, duration: float, *, seed: int = 0,
                    max_per_speaker: int | None = None,
                    fsdd: Path = FSDD_DIR) -> list[Recording]:
    """All FSDD recordings of ``duration`` s from the takes of ``split``, balanced over speakers.

    Each speaker gets as many recordings as the speaker with the fewest (their takes differ
    in length), at most ``max_per_speaker``.
    """
    sr = 8000
    n = int(round(duration * sr))
    per_speaker: dict[str, list[Recording]] = {}
    for speaker in FSDD_SPEAKERS:
        rng = np.random.default_rng(seed_of("fsdd", seed, speaker, split, duration))
        takes = [f"{d}_{speaker}_{t}" for d in range(10) for t in SPLITS[split]]
        takes = [takes[i] for i in rng.permutation(len(takes))]
        recs, buf, names = [], [], []
        length = 0

        def silence(rng: np.random.Generator = rng) -> np.ndarray:
            return np.zeros(int(rng.uniform(*GAP) * sr), np.float32)

        for name in takes:
            if not buf:
                buf.append(silence())
                length = len(buf[0])
            y, take_sr = read_wav(fsdd / f"{name}.wav")
            if take_sr != sr:
                y = resample(y, take_sr, sr)
            buf += [y, silence()]
            names.append(name)
            length += len(y) + len(buf[-1])
            if length >= n:
                recs.append(Recording("fsdd", speaker, split, duration, len(recs),
                                      np.concatenate(buf)[:n], sr, tuple(names)))
                buf, names, length = [], [], 0
        per_speaker[speaker] = recs
    keep = min(len(r) for r in per_speaker.values())
    if max_per_speaker is not None:
        keep = min(keep, max_per_speaker)
    return [r for recs in per_speaker.values() for r in recs[:keep]]


def tts_voices() -> list[str]:
    """Voice labels: ``espeak:<voice>`` and ``flite:<voice>``."""
    return [f"espeak:{v}" for v in ESPEAK_VOICES] + [f"flite:{v}" for v in FLITE_VOICES]


def pseudo_text(lang: str, n_words: int, rng: np.random.Generator) -> str:
    """Seeded pseudo-sentences of 5-9 words from the language's word list."""
    words = WORDS[lang].split()
    out, left = [], n_words
    while left > 0:
        k = int(min(left, rng.integers(5, 10)))
        sentence = " ".join(rng.choice(words, size=k))
        out.append(sentence[0].upper() + sentence[1:] + ".")
        left -= k
    return " ".join(out)


def synthesise(voice: str, text: str, rate_factor: float, wav: Path) -> None:
    """Run espeak-ng or flite for ``voice`` (``engine:name``) into ``wav``."""
    engine, name = voice.split(":", 1)
    if engine == "espeak":
        cmd = ["espeak-ng", "-v", name, "-s", str(int(round(165 * rate_factor))), "-w",
               str(wav), text]
    else:
        cmd = ["flite", "-voice", name, "--setf", f"duration_stretch={1 / rate_factor:.3f}",
               "-t", text, "-o", str(wav)]
    subprocess.run(cmd, check=True, capture_output=True)


def tts_recording(voice: str, split: str, duration: float, index: int, *,
                  seed: int = 0, cache: Path = CACHE) -> Recording:
    """One TTS recording (synthesised once, then read from the cache)."""
    sr = 16000
    engine, name = voice.split(":", 1)
    lang = ESPEAK_VOICES.get(name, "en") if engine == "espeak" else "en"
    rng = np.random.default_rng(seed_of("tts", seed, voice, split, duration, index))
    rate_factor = float(rng.uniform(0.9, 1.1))
    folder = cache / "tts" / voice.replace(":", "-").replace("+", "_")
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"s{seed}-{split}-{duration:g}s-{index}"
    wav, txt = stem.with_suffix(".wav"), stem.with_suffix(".txt")
    n_words = int(duration * 3.2) + 6
    for _attempt in range(4):
        if not (wav.is_file() and txt.is_file()):
            text = pseudo_text(lang, n_words, rng)
            synthesise(voice, text, rate_factor, wav)
            txt.write_text(text + "\n", encoding="utf-8")
        y, file_sr = read_wav(wav)
        y = resample(y, file_sr, sr)
        if len(y) >= duration * sr:
            break
        wav.unlink()
        txt.unlink()
        n_words *= 2
    else:
        raise RuntimeError(f"{voice}: could not synthesise {duration} s")
    text = txt.read_text(encoding="utf-8").strip()
    return Recording("tts", voice, split, duration, index, y[: int(round(duration * sr))], sr,
                     (text,))


def tts_recordings(split: str, duration: float, per_voice: int, *, seed: int = 0,
                   voices: list[str] | None = None, cache: Path = CACHE) -> list[Recording]:
    """``per_voice`` recordings of every TTS voice, each on its own text."""
    return [tts_recording(v, split, duration, i, seed=seed, cache=cache)
            for v in (voices or tts_voices()) for i in range(per_voice)]
