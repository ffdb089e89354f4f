"""Recording conditions: measure a questioned recording's, and render a population in them.

A score's meaning depends on how much speech there is and on the channel: the same two
voices score lower over a noisy telephone line than in a studio. A calibration fitted on
clean speech turns every low score from a degraded recording into strong evidence
against the speaker. purport therefore calibrates per *condition bucket*: net speech
(3, 6, 15, 30 s), band (wide, or narrow: telephone) and noise (clean, or a
speech-to-noise ratio of about 20, 15 or 10 dB). A questioned recording is measured
(:class:`purport.voice.embed.Quality`), put in the bucket that holds no more speech and
no cleaner a channel than it has, and rated with that bucket's fit, which was fitted and
validated on a population rendered in that bucket by :func:`render`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from purport import media
from purport.errors import ParameterError
from purport.voice.embed import SR, VAD_FRAME, Quality, level_gain, speech_mask

NETS = (3.0, 6.0, 15.0, 30.0)       # seconds of net speech a bucket is rendered with
SNRS = (None, 20.0, 15.0, 10.0)      # None: clean (25 dB or better)
BANDS = ("wide", "narrow")
NARROW_HZ = 5500.0                   # at or below: a phone band or audio sampled at 8 kHz
WIDE_HZ = 7000.0                     # references are low-passed like a band below this
NOMINAL_NARROW_HZ = 3700.0           # what band_edges() measures of a 300-3400 Hz channel
PHONE_LOW_DB = -18.0                 # a low band under this: a telephone's 300-Hz high-pass
CLEAN_DB = 25.0
SNR_SLACK = 1.0                      # dB a measured SNR may fall short of its bucket's
MIN_SNR_DB = 7.5                     # below this no bucket was rendered: no LR
NET_TOLERANCE = 0.9                  # 2.7 s of speech still counts as the 3-s bucket
REFERENCE_NET = 30.0                 # seconds of reference speech the population gets
#: what a degraded questioned recording goes through after band and noise (a voice note)
VOICE_NOTE = {"codec": "libopus", "kbps": 16, "container": "ogg", "rate": 48000}
REFERENCE_CODEC = {"codec": "libmp3lame", "kbps": 64, "container": "mp3", "rate": 16000}


@dataclass(frozen=True, order=True)
class Bucket:
    """One calibration condition: net speech, band, and speech-to-noise (None: clean)."""

    net: float
    band: str
    snr: float | None

    @property
    def key(self) -> str:
        noise = "clean" if self.snr is None else f"snr{self.snr:g}"
        return f"net{self.net:g}-{self.band}-{noise}"

    @classmethod
    def from_key(cls, key: str) -> Bucket:
        net, band, noise = key.split("-")
        return cls(float(net[3:]), band, None if noise == "clean" else float(noise[3:]))

    @property
    def channel(self) -> str:
        """The band and noise without the net speech: what references are rendered in."""
        return self.key.split("-", 1)[1]

    @property
    def degraded(self) -> bool:
        return self.band == "narrow" or self.snr is not None

    def describe(self) -> str:
        band = "telephone band (300-3400 Hz)" if self.band == "narrow" else "wide band"
        noise = ("clean" if self.snr is None
                 else f"white noise at {self.snr:g} dB below the speech")
        return f"{self.net:g} s of net speech, {band}, {noise}"


CLEAN_CHANNEL = "wide-clean"


@dataclass(frozen=True)
class Like:
    """How references are rendered like a questioned recording (:func:`render_like`)."""

    bandwidth_hz: float | None      # low-pass here (None: wide, left alone)
    highpass: bool                  # a telephone's 300-Hz high-pass
    snr_db: float | None            # white noise this far below the speech (None: none)
    codec: dict | None = None       # then this codec (keyword arguments of codec_roundtrip)

    @property
    def tag(self) -> str:
        band = "full" if self.bandwidth_hz is None else f"{self.bandwidth_hz:.0f}"
        snr = "clean" if self.snr_db is None else f"{self.snr_db:g}"
        codec = f"-{self.codec['codec']}{self.codec['kbps']}" if self.codec else ""
        return f"like-{band}{'-hp' if self.highpass else ''}-{snr}{codec}"


def reference_rendering(q: Quality, codec: dict | None = None) -> tuple[Bucket, Like] | None:
    """How a case's references are rendered before they are compared with a questioned
    recording of quality ``q`` (in ``codec``): its bucket and the rendering, or None when
    its channel is clean and wide and they are compared as they are.

    The band is the measured one to the nearest 250 Hz, with the telephone high-pass when
    the low band is missing; the noise is the bucket's, the level its calibration was
    fitted at.
    """
    bucket, _ = bucket_of(q)
    if bucket is None or not bucket.degraded:
        return None
    band = q.bandwidth_hz
    band = None if band is None or band >= WIDE_HZ else float(round(band / 250) * 250)
    highpass = q.low_band_db is not None and q.low_band_db < PHONE_LOW_DB
    return bucket, Like(band, highpass, bucket.snr, codec)


ALL_BUCKETS = tuple(Bucket(n, b, s) for n in NETS for b in BANDS for s in SNRS)


def bucket_of(q: Quality, *, net: float | None = None) -> tuple[Bucket | None, str]:
    """The bucket a recording of quality ``q`` is rated in, or None with the reason.

    The bucket never holds more speech or less noise than was measured (up to
    ``NET_TOLERANCE`` and ``SNR_SLACK``, what measuring a rendered bucket gives): a
    recording between buckets is rated as the worse one, whose LRs are the weaker.
    ``net`` overrides the net speech (a window's 3 s).
    """
    seconds = q.net_speech_seconds if net is None else net
    fitting = [n for n in NETS if n * NET_TOLERANCE <= seconds]
    if not fitting:
        return None, (f"only {seconds:.1f} s of net speech: purport's calibrations start at "
                      f"{NETS[0] * NET_TOLERANCE:.1f} s")
    snr = q.snr_db
    if snr is not None and snr < MIN_SNR_DB:
        return None, (f"speech-to-noise about {snr:.0f} dB: no calibration was validated "
                      f"below {MIN_SNR_DB:g} dB")
    if snr is None or snr >= CLEAN_DB:
        level = None
    else:
        level = max((s for s in SNRS[1:] if s <= snr + SNR_SLACK), default=SNRS[-1])
    band = "narrow" if q.bandwidth_hz is not None and q.bandwidth_hz <= NARROW_HZ else "wide"
    return Bucket(max(fitting), band, level), ""


def cut_to_speech(y: np.ndarray, sr: int, seconds: float, *, start: int = 0) -> np.ndarray:
    """The stretch of ``y`` (at :data:`SR`) from VAD frame ``start`` that holds ``seconds``
    of speech, or an empty array when what is left holds less."""
    if sr != SR:
        raise ParameterError(f"cut_to_speech works at {SR} Hz")
    mask = speech_mask(y, sr=SR, gain=level_gain(y))[start:]
    need = int(round(seconds / VAD_FRAME))
    counted = np.cumsum(mask)
    if len(counted) == 0 or counted[-1] < need:
        return np.zeros(0, np.float32)
    end = int(np.searchsorted(counted, need)) + 1 + start
    n = int(VAD_FRAME * SR)
    return np.asarray(y[start * n:min(len(y), (end + 5) * n)], np.float32)


def speech_power(y: np.ndarray) -> float:
    """Mean power of the speech frames of ``y`` (at :data:`SR`), as the SNR measure uses it."""
    n = int(VAD_FRAME * SR)
    mask = speech_mask(y, sr=SR, gain=level_gain(y))
    frames = np.asarray(y[: len(mask) * n], np.float64).reshape(-1, n)
    return float(np.mean(frames[mask] ** 2)) if mask.any() else float(np.mean(frames ** 2))


def render(y: np.ndarray, bucket: Bucket, rng: np.random.Generator, *,
           codec: dict | None = None) -> np.ndarray:
    """Clean speech ``y`` (at :data:`SR`) as a questioned recording of ``bucket``'s channel:
    300-3400 Hz at 8 kHz for a narrow band, white noise at the bucket's ratio to the mean
    power of the speech frames, then a codec: ``codec`` (keyword arguments of
    :func:`purport.media.codec_roundtrip`) when given, else Opus 16 kbit/s when the channel
    is degraded. Cutting to net speech is :func:`cut_to_speech`'s job."""
    x = np.asarray(y, np.float32)
    if bucket.band == "narrow":
        low = media.resample(x, orig_sr=SR, target_sr=8000)
        sos = signal.butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos")
        x = media.resample(signal.sosfilt(sos, low).astype(np.float32), orig_sr=8000,
                           target_sr=SR)[: len(x)]
    return _noise_and_codec(x, bucket.snr, codec or (VOICE_NOTE if bucket.degraded else None),
                            rng)


def render_like(y: np.ndarray, like: Like, rng: np.random.Generator) -> np.ndarray:
    """A reference (clean speech at :data:`SR`) rendered ``like`` a questioned recording:
    low-passed at its band (8th-order Butterworth, both ways), high-passed at 300 Hz when
    it lacks the low band, white noise at its ratio to the speech frames' power, then its
    codec. Both sides of the comparison then went through a like channel, and the score
    measures the voices more than the channels."""
    x = np.asarray(y, np.float32)
    if like.bandwidth_hz is not None and like.bandwidth_hz < WIDE_HZ:
        sos = signal.butter(8, like.bandwidth_hz, btype="lowpass", fs=SR, output="sos")
        x = signal.sosfiltfilt(sos, x).astype(np.float32)
    if like.highpass:
        sos = signal.butter(4, 300, btype="highpass", fs=SR, output="sos")
        x = signal.sosfilt(sos, x).astype(np.float32)
    return _noise_and_codec(x, like.snr_db, like.codec, rng)


def _noise_and_codec(x: np.ndarray, snr_db: float | None, codec: dict | None,
                     rng: np.random.Generator) -> np.ndarray:
    """White noise ``snr_db`` below the speech frames' mean power, then ``codec``, then the
    peak held under full scale: the last steps :func:`render` and :func:`render_like` share."""
    if snr_db is not None:
        noise = rng.standard_normal(len(x)) * np.sqrt(speech_power(x) * 10 ** (-snr_db / 10))
        x = (x + noise).astype(np.float32)
    if codec:
        x = media.codec_roundtrip(x, SR, **codec)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return x * (0.99 / peak) if peak > 0.99 else x


def reference_seed(label: str) -> int:
    """A fixed seed for the noise a reference is rendered with (same input, same LR)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(label.encode()).digest()[:4], "little")


def population_reference(y: np.ndarray) -> np.ndarray:
    """A population speaker's reference as the calibration takes it: up to
    :data:`REFERENCE_NET` s of speech through MP3 at 64 kbit/s (a released recording)."""
    x = cut_to_speech(y, SR, REFERENCE_NET)
    x = x if len(x) else np.asarray(y, np.float32)
    return media.codec_roundtrip(x, SR, **REFERENCE_CODEC)


#: questioned clips per population recording and bucket, at most (consecutive stretches)
CLIPS_PER_RECORDING = {3.0: 4, 6.0: 3, 15.0: 2, 30.0: 2}


@dataclass
class Rendered:
    """A population's embeddings in every rendered bucket: what per-condition fits need.

    ``references[channel][speaker]`` are reference-side vectors rendered in a channel
    (band and noise; :attr:`Bucket.channel`); ``questioned[bucket key]`` are (speaker,
    vector) of questioned-side clips.
    """

    references: dict[str, dict[str, list[np.ndarray]]]
    questioned: dict[str, list[tuple[str, np.ndarray]]]

    def pairs(self, key: str, speakers: set[str] | None = None) -> dict:
        """Every questioned clip of bucket ``key`` against every reference rendered in the
        bucket's channel: scores, same-speaker truth and the two speakers."""
        channel = self.references.get(Bucket.from_key(key).channel, {})
        refs = [(s, v) for s, vs in channel.items() for v in vs
                if speakers is None or s in speakers]
        qs = [(s, v) for s, v in self.questioned.get(key, [])
              if speakers is None or s in speakers]
        if not refs or not qs:
            return {"scores": np.zeros(0), "same": np.zeros(0, bool), "pair_speakers": []}
        sim = np.stack([v for _, v in qs]) @ np.stack([v for _, v in refs]).T
        qs_spk = np.array([s for s, _ in qs])
        rs_spk = np.array([s for s, _ in refs])
        same = qs_spk[:, None] == rs_spk[None, :]
        return {"scores": sim.reshape(-1), "same": same.reshape(-1),
                "pair_speakers": [(a, b) for a in qs_spk for b in rs_spk]}


def render_population(population: dict[str, list[np.ndarray]], *, encoder,
                      buckets: tuple[Bucket, ...] = ALL_BUCKETS, seed: int = 0,
                      codec: dict | None = None, progress=None) -> Rendered:
    """Embed a population (clean speech at :data:`SR`, by speaker) in ``buckets``.

    Each speaker's first recording is the reference side: :func:`population_reference`,
    then rendered like each channel of ``buckets`` (:func:`render_like`), as purport
    renders a case's references like the questioned recording. The other recordings are cut
    into stretches of each bucket's net speech (up to :data:`CLIPS_PER_RECORDING` per
    recording) and rendered in the bucket. A speaker with one recording is a reference only.
    """
    from purport.voice.embed import embed_recording

    rng = np.random.default_rng(seed)
    channels = {b.channel: b for b in buckets}
    references: dict[str, dict[str, list[np.ndarray]]] = {c: {} for c in channels}
    questioned: dict[str, list[tuple[str, np.ndarray]]] = {b.key: [] for b in buckets}
    n = int(VAD_FRAME * SR)
    total = len(population)
    for done, (speaker, recordings) in enumerate(population.items(), start=1):
        ref = population_reference(recordings[0])
        for channel, b in channels.items():
            narrow = b.band == "narrow"
            like = Like(NOMINAL_NARROW_HZ if narrow else None, narrow, b.snr,
                        codec or (VOICE_NOTE if b.degraded else None))
            rendered = render_like(ref, like, rng) if like.codec or b.degraded else ref
            e = embed_recording(rendered, sr=SR, encoder=encoder)
            if e.vector.size:
                references[channel].setdefault(speaker, []).append(e.vector)
        for y in recordings[1:]:
            for net in sorted({b.net for b in buckets}):
                clips, start = [], 0
                while len(clips) < CLIPS_PER_RECORDING.get(net, 1):
                    clip = cut_to_speech(y, SR, net, start=start)
                    if not len(clip):
                        break
                    clips.append(clip)
                    start += len(clip) // n
                for clip in clips:
                    for b in (b for b in buckets if b.net == net):
                        e = embed_recording(render(clip, b, rng, codec=codec), sr=SR,
                                            encoder=encoder)
                        if e.vector.size:
                            questioned[b.key].append((speaker, e.vector))
        if progress:
            progress(done, total, speaker)
    return Rendered(references, questioned)


def fit_cells(rendered: Rendered, *, speakers: set[str] | None = None,
              n_folds: int = 2) -> dict[str, dict]:
    """Per-bucket calibrations (:func:`purport.voice.calibrate.fit_cell`) of a rendered
    population, on ``speakers`` only when given; buckets without enough pairs are left out."""
    from purport.voice.calibrate import fit_cell

    cells = {}
    for key in rendered.questioned:
        pairs = rendered.pairs(key, speakers)
        if pairs["same"].sum() < 4 or (~pairs["same"]).sum() < 4:
            continue
        try:
            cells[key] = fit_cell(**pairs, n_folds=n_folds)
        except ParameterError:
            continue
    return cells


#: FFmpeg decoder names -> how to encode like them (keyword arguments of codec_roundtrip)
CODECS = {
    "opus": {"codec": "libopus", "container": "ogg", "rate": 48000},
    "vorbis": {"codec": "libopus", "container": "ogg", "rate": 48000},
    "mp3": {"codec": "libmp3lame", "container": "mp3", "rate": 16000},
    "mp3float": {"codec": "libmp3lame", "container": "mp3", "rate": 16000},
    "aac": {"codec": "aac", "container": "adts", "rate": 16000},
}


def codec_like(codec: str, bit_rate: int | None) -> dict | None:
    """How to encode a population like a recording in ``codec`` at ``bit_rate`` bit/s (None
    for lossless or unknown codecs: the population is then left uncompressed)."""
    like = CODECS.get(codec)
    if like is None:
        return None
    kbps = max(6, min(128, round((bit_rate or 32000) / 1000)))
    return {**like, "kbps": kbps}
