"""Build purport's bundled demo recordings from the Free Spoken Digit Dataset (CC BY-SA 4.0).

Run once by a maintainer (the product never reads ../shared/data):

    .venv/bin/python scripts/make_demo_data.py ../shared/data/fsdd

Two fictional speakers are voiced by two FSDD speakers; the takes used for each
recording are disjoint, so a questioned recording re-uses exactly the seconds we
say it re-uses and nothing else. Writes src/purport/demo/data/.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import wave
from pathlib import Path

import av
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "purport" / "demo" / "data"
SR = 8000
GAP = 0.18  # seconds of silence between digits


def read_take(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == SR and w.getnchannels() == 1 and w.getsampwidth() == 2
        y = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    return y


def utterance(fsdd: Path, voice: str, takes: range, rng: np.random.Generator,
              seconds: float) -> np.ndarray:
    """Digits of one FSDD speaker, from the given takes, shuffled, with short gaps."""
    files = [fsdd / f"{d}_{voice}_{t}.wav" for t in takes for d in range(10)]
    rng.shuffle(files)
    parts, total = [], 0.0
    gap = np.zeros(int(GAP * SR), dtype=np.float32)
    for f in files:
        y = read_take(f)
        y = 0.5 * y / max(1e-6, float(np.max(np.abs(y))))
        parts += [y, gap]
        total += (len(y) + len(gap)) / SR
        if total >= seconds:
            break
    return np.concatenate(parts)


def encode(path: Path, y: np.ndarray, *, codec: str, rate: int, bit_rate: int | None,
           fmt: str | None = None, tags: dict[str, str] | None = None) -> None:
    """Write mono float audio at SR through PyAV's encoder, resampled to ``rate``."""
    pcm = np.clip(y * 32767, -32768, 32767).astype(np.int16)
    with av.open(str(path), "w", format=fmt) as container:
        for k, v in (tags or {}).items():
            container.metadata[k] = v
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        if bit_rate:
            stream.bit_rate = bit_rate
        resampler = av.AudioResampler(format=stream.format.name if stream.format else "s16",
                                      layout="mono", rate=rate)
        step = 4096
        for i in range(0, len(pcm), step):
            frame = av.AudioFrame.from_ndarray(pcm[None, i:i + step], format="s16", layout="mono")
            frame.sample_rate = SR
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    container.mux(packet)
        for f in resampler.resample(None):
            for packet in stream.encode(f):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main(fsdd: Path) -> None:
    rng = np.random.default_rng(20240310)
    OUT.mkdir(parents=True, exist_ok=True)
    fulan, zayd = "theo", "jackson"  # FSDD voices of the two fictional speakers
    ref1 = utterance(fsdd, fulan, range(0, 20), rng, 45)
    ref2 = utterance(fsdd, fulan, range(20, 40), rng, 45)
    new = utterance(fsdd, fulan, range(40, 50), rng, 12)
    other = utterance(fsdd, zayd, range(0, 20), rng, 45)
    other_new = utterance(fsdd, zayd, range(20, 50), rng, 180)
    # a fictional grid: 1 Hz log of a 50 Hz mains frequency (mean-reverting wander), and
    # hum that follows it from 09:12:07 UTC in the voice note (re-recorded near mains)
    grid_start = dt.datetime(2024, 5, 2, 6, 0, tzinfo=dt.UTC)
    path = np.zeros(4 * 3600)
    for i in range(1, len(path)):
        path[i] = 0.995 * path[i - 1] + 0.002 * rng.standard_normal()
    path += 50.0
    hum_at = 3 * 3600 + 12 * 60 + 7
    t = hum_at + np.arange(len(other_new)) / SR
    f = np.interp(t, np.arange(len(path)) + 0.5, path)
    phase = 2 * np.pi * np.cumsum(f) / SR
    hum = np.sin(2 * phase) + 0.6 * np.sin(3 * phase)  # a small speaker: no fundamental
    scale = np.sqrt(np.mean(other_new**2) / np.mean(hum**2)) * 10 ** (-28 / 20)
    other_new = (other_new + scale * hum).astype(np.float32)
    with open(OUT / "demo_grid_2024-05-02.csv", "w") as fh:
        fh.write("timestamp,frequency_hz\n")
        for i, v in enumerate(path):
            fh.write(f"{(grid_start + dt.timedelta(seconds=i)).strftime('%Y-%m-%dT%H:%M:%SZ')},"
                     f"{v:.4f}\n")

    # The questioned compilation: 10 s of ref1, 12 s never archived, 10 s of ref2,
    # lightly noisy as after a re-recording.
    a0, b0 = 5.0, 20.0
    cut1 = ref1[int(a0 * SR):int((a0 + 10) * SR)]
    cut2 = ref2[int(b0 * SR):int((b0 + 10) * SR)]
    compilation = np.concatenate([cut1, new, cut2])
    compilation = compilation + rng.normal(0, 0.003, len(compilation)).astype(np.float32)

    files = [
        dict(file="fulan_2019-03-01_address.ogg", y=ref1, codec="libopus", rate=48000,
             bit_rate=24000, fmt="ogg", speaker="Abu Fulan al-Mithali", role="reference",
             released="2019-03-01", outlet="Example Media Foundation", channel="telegram",
             source_url="https://example.org/fictional/fulan-2019-03-01",
             notes="Authenticated reference (fictional demo)."),
        dict(file="fulan_2020-06-15_sermon.mp3", y=ref2, codec="libmp3lame", rate=16000,
             bit_rate=64000, fmt="mp3", speaker="Abu Fulan al-Mithali", role="reference",
             released="2020-06-15", outlet="Example Media Foundation", channel="website",
             source_url="https://example.org/fictional/fulan-2020-06-15",
             notes="Authenticated reference (fictional demo)."),
        dict(file="zayd_2020-01-10_statement.m4a", y=other, codec="aac", rate=16000,
             bit_rate=48000, fmt="mp4", speaker="Shaykh Zayd Example", role="reference",
             released="2020-01-10", outlet="Placeholder Studio", channel="website",
             source_url="https://example.org/fictional/zayd-2020-01-10",
             notes="Authenticated reference of a second speaker (fictional demo)."),
        dict(file="questioned_2024-03-10_telegram.ogg", y=compilation, codec="libopus",
             rate=48000, bit_rate=16000, fmt="ogg", speaker="Abu Fulan al-Mithali",
             role="questioned", released="2024-03-10", outlet="Example Media Foundation",
             channel="telegram", source_url="https://example.org/fictional/channel/1234",
             notes="Purported new message. Truth (demo): 0-10 s re-use fulan_2019-03-01 "
                   "from 5.0 s; 10 s-22 s are new takes of the same voice; the last 10 s "
                   "re-use fulan_2020-06-15 from 20.0 s."),
        dict(file="questioned_2024-05-02_voice_note.ogg", y=other_new, codec="libopus",
             rate=48000, bit_rate=16000, fmt="ogg", speaker="Abu Fulan al-Mithali",
             role="questioned", released="2024-05-02", outlet=None, channel="telegram",
             source_url="https://example.org/fictional/channel/5678",
             notes="Purported voice note. Truth (demo): spoken by the voice of "
                   "Shaykh Zayd Example, not Abu Fulan; re-recorded near mains of the demo "
                   "grid from 2024-05-02T09:12:07Z; its transcript mentions the Northland "
                   "floods of 2024-04-28."),
    ]
    manifest = {
        "speakers": [
            {"name": "Abu Fulan al-Mithali", "aliases": ["Abu Fulan"],
             "notes": "Fictional speaker (demo); voice: FSDD speaker 'theo'."},
            {"name": "Shaykh Zayd Example", "aliases": ["Zayd"],
             "notes": "Fictional speaker (demo); voice: FSDD speaker 'jackson'."},
        ],
        "recordings": [],
    }
    for spec in files:
        y = spec.pop("y")
        encode(OUT / spec["file"], y, codec=spec.pop("codec"), rate=spec.pop("rate"),
               bit_rate=spec.pop("bit_rate"), fmt=spec.pop("fmt"),
               tags={"title": spec["file"].rsplit(".", 1)[0],
                     "comment": "purport demo; speech from FSDD (CC BY-SA 4.0)"})
        manifest["recordings"].append(spec)
    manifest["grid"] = {"file": "demo_grid_2024-05-02.csv", "region": "demo-grid",
                        "truth_start": "2024-05-02T09:12:07Z"}
    manifest["verify"] = {"file": "questioned_2024-05-02_voice_note.ogg",
                          "claimed_speaker": "Abu Fulan al-Mithali",
                          "transcript": "questioned_2024-05-02_transcript.txt",
                          "events": "demo_events.csv"}
    (OUT / "questioned_2024-05-02_transcript.txt").write_text(
        "Translation (fictional demo). Our brothers in the east stood firm through the winter. "
        "The floods that drowned the villages of the Northland delta last week are a "
        "punishment on those who rule there. We call on you to be patient and to prepare.\n")
    (OUT / "demo_events.csv").write_text(
        "date,title,description,keywords\n"
        "2024-04-28,Northland delta floods,Floods drown villages in the Northland river delta,"
        "flood;floods;northland\n"
        "2024-03-15,Southland ceasefire,A ceasefire is signed in Southland,ceasefire;southland\n"
        "2024-05-20,Example summit,Leaders meet at the Example summit,summit\n")
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(files)} recordings to {OUT} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/fsdd"))
