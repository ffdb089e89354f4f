"""Files a user hands purport, refused in one line or read right: fingerprint files (caps,
damage, wrong arrays), grid logs, events catalogs, transcripts, articles and their --meta
file; and repeats inside one recording that carry no information (tone-like audio).

Each test here failed before the fix it guards (see the report of the hardening pass).
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from purport import media
from purport.archive import Archive
from purport.assess.record import add_reports
from purport.assess.reuse import read_fingerprint
from purport.errors import ParameterError, PurportError
from purport.news.extract import read_article
from purport.news.record import read_meta
from purport.reuse import fingerprint, to_bytes
from purport.reuse import index as fpfile
from purport.timing import content, enf, grid
from purport.timing.report import enf_report
from tests.speechlike import speech

SR = 16000


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


# -- fingerprint files ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def fp_bytes() -> bytes:
    fp = fingerprint(speech(20.0, seed=11, sr=8000), sr=8000)
    return to_bytes(fp, query=True, source={"name": "q.wav", "sha256": "ab" * 32,
                                            "duration": 20.0})


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _npz(entries: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, raw in entries.items():
            zf.writestr(name, raw)
    return buf.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def _replaced(data: bytes, **arrays: np.ndarray | None) -> bytes:
    entries = _entries(data)
    for key, value in arrays.items():
        if value is None:
            del entries[f"{key}.npy"]
        else:
            entries[f"{key}.npy"] = _npy(value)
    return _npz(entries)


def test_a_real_fingerprint_file_still_reads(fp_bytes):
    fp, query = read_fingerprint(fp_bytes, name="q.fp")
    assert len(fp) > 1000 and fp.duration == 20.0 and query["sha256"] == "ab" * 32
    assert query["name"] == "q.wav"


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_a_truncated_fingerprint_file_is_refused_in_one_line(fp_bytes, keep):
    with pytest.raises(ParameterError) as exc:
        read_fingerprint(fp_bytes[:int(len(fp_bytes) * keep)], name="q.fp")
    assert _one_line(exc.value) == ("q.fp is not a purport fingerprint file (truncated or "
                                    "damaged)")


def test_a_fingerprint_file_with_a_flipped_byte_is_refused(fp_bytes):
    data = bytearray(fp_bytes)
    data[len(data) // 3] ^= 0x55
    with pytest.raises(ParameterError, match=r"^q\.fp is not a purport fingerprint file"):
        read_fingerprint(bytes(data), name="q.fp")


def _bomb(fp_bytes: bytes, *, key: str = "hash", mib: int = 256) -> bytes:
    """The file with one entry replaced by ``mib`` MiB of zeros, streamed (never held)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, raw in _entries(fp_bytes).items():
            if name != f"{key}.npy":
                zf.writestr(name, raw)
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<u4", "fortran_order": False,
                                                      "shape": (mib * 1024**2 // 4,)})
        with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
            f.write(header.getvalue())
            for _ in range(mib):
                f.write(bytes(1024**2))
    return buf.getvalue()


def test_a_zip_bomb_fingerprint_is_refused_before_it_is_inflated(fp_bytes):
    bomb = _bomb(fp_bytes)
    assert len(bomb) < 400_000  # 256 MiB of zeros packed
    tracemalloc.start()
    try:
        with pytest.raises(ParameterError) as exc:
            read_fingerprint(bomb, name="bomb.fp")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024**2  # was 270 MB: the entry was inflated whole
    assert "inflates to 268435584 bytes" in _one_line(exc.value)


def test_an_entry_inflating_far_more_than_it_is_packed_is_refused(fp_bytes):
    """Under the size cap (5 MiB) but 1000 times its packed size: no real entry does that."""
    with pytest.raises(ParameterError, match="more than 50 times"):
        read_fingerprint(_bomb(fp_bytes, key="t1", mib=5), name="q.fp")


def test_an_entry_whose_header_understates_its_size_is_cut_off_at_the_cap(fp_bytes,
                                                                          monkeypatch):
    """The directory says 1 kB; the data inflates to 1 MiB: reading stops past the cap."""
    entries = _entries(fp_bytes)
    entries["hash.npy"] = _npy(np.zeros(1024**2 // 4, np.uint32))
    data = bytearray(_npz(entries))
    # rewrite the declared size (local header and central directory) of hash.npy to 1000
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(sig)
        while at >= 0:
            name_at = at + (30 if sig == b"PK\x03\x04" else 46)
            if data[name_at:name_at + 8] == b"hash.npy":
                data[at + offset:at + offset + 4] = struct.pack("<I", 1000)
            at = data.find(sig, at + 4)
    monkeypatch.setattr(fpfile, "MAX_ENTRY_BYTES", 64 * 1024)
    with pytest.raises(ParameterError) as exc:
        read_fingerprint(bytes(data), name="q.fp")
    assert _one_line(exc.value).startswith("q.fp is not a purport fingerprint file (")


def test_too_many_or_unknown_entries_are_refused(fp_bytes):
    entries = _entries(fp_bytes)
    with pytest.raises(ParameterError, match="unexpected entry 'extra.npy'"):
        read_fingerprint(_npz({**entries, "extra.npy": _npy(np.zeros(3))}), name="q.fp")
    many = {**entries, **{f"x{i}.npy": b"" for i in range(20)}}
    with pytest.raises(ParameterError, match="31 entries, at most 16"):
        read_fingerprint(_npz(many), name="q.fp")


@pytest.mark.parametrize("change, message", [
    ({"hash": np.array([object()] * 3, dtype=object)}, "hash is of type object"),
    ({"hash": None}, "no hash array"),
    ({"t1": None}, "no t1 array"),
    ({"duration": None}, "no duration array"),
    ({"span": np.zeros(3, np.int16)}, "its span has 3 rows"),
    ({"peaks_f": np.zeros(2, np.float32)}, "its peaks_f has 2 rows"),
    ({"triplet_peaks": np.zeros((3, 2), np.int32)}, "triplet_peaks has shape (3, 2)"),
    ({"hash": np.zeros((2, 2), np.uint32)}, "hash has 2 dimensions"),
    ({"hash": np.zeros(5, np.float64)}, "hash is of type float64, not uint32"),
    ({"duration": np.float64(np.inf)}, "duration inf is not a number of seconds"),
    ({"duration": np.float64(-1.0)}, "duration -1.0 is not a number of seconds"),
    ({"duration": np.float64(1e300)}, "more than the limit of 21600 s"),
    ({"duration": np.array("20")}, "duration is of type str"),
    ({"duration": np.float64(0.5)}, "triplets and"),
    ({"method": np.array(3)}, "method is of type int64"),
])
def test_wrong_arrays_inside_are_refused_in_one_line(fp_bytes, change, message):
    with pytest.raises(ParameterError) as exc:
        read_fingerprint(_replaced(fp_bytes, **change), name="q.fp")
    text = _one_line(exc.value)
    assert text.startswith("q.fp is not a purport fingerprint file (") and message in text


def test_values_no_fingerprint_holds_are_refused(fp_bytes):
    arrays = {k[:-4]: np.load(io.BytesIO(v)) for k, v in _entries(fp_bytes).items()}
    f = arrays["peaks_f"].copy()
    f[5] = np.nan
    with pytest.raises(ParameterError, match="frequencies that are not numbers"):
        read_fingerprint(_replaced(fp_bytes, peaks_f=f), name="q.fp")
    t = arrays["peaks_t"][::-1].copy()
    with pytest.raises(ParameterError, match="out of order"):
        read_fingerprint(_replaced(fp_bytes, peaks_t=t), name="q.fp")
    tp = arrays["triplet_peaks"].copy()
    tp[0, 0] = len(arrays["peaks_t"]) + 5
    with pytest.raises(ParameterError, match="point past its peaks"):
        read_fingerprint(_replaced(fp_bytes, triplet_peaks=tp), name="q.fp")
    t1 = arrays["t1"].copy()
    t1[0] += 1
    with pytest.raises(ParameterError, match="do not lie on its peaks"):
        read_fingerprint(_replaced(fp_bytes, t1=t1), name="q.fp")


def test_text_from_the_file_that_is_printed_stays_on_one_line(fp_bytes):
    with pytest.raises(ParameterError, match="its method name is not one"):
        read_fingerprint(_replaced(fp_bytes, method=np.array("purport-triplets-v2\nx")),
                         name="q.fp")
    source = np.array(json.dumps({"name": "a\nb.wav", "sha256": "ab" * 32}))
    _, query = read_fingerprint(_replaced(fp_bytes, source=source), name="q.fp")
    assert query["name"] == "q.fp" and query["sha256"] == "ab" * 32


def test_the_caps_hold_a_real_fingerprint_of_the_longest_recording_with_room(fp_bytes):
    """Measured on 20 s of speech-like audio and scaled to ``MAX_SECONDS`` (6 h, media's
    default limit): every entry and the whole stay under half their caps."""
    assert fpfile.MAX_SECONDS == media.DEFAULT_MAX_DURATION
    scale = fpfile.MAX_SECONDS / 20.0
    with zipfile.ZipFile(io.BytesIO(fp_bytes)) as zf:
        infos = zf.infolist()
    assert len(infos) <= fpfile.MAX_ENTRIES
    for info in infos:
        assert info.file_size * scale < fpfile.MAX_ENTRY_BYTES / 2, info.filename
        assert info.file_size <= fpfile.MAX_RATIO * info.compress_size
    assert sum(i.file_size for i in infos) * scale < fpfile.MAX_TOTAL_BYTES / 2


def test_an_archive_fingerprint_longer_than_the_upload_cap_still_loads():
    fp = fingerprint(speech(12.0, seed=2, sr=8000), sr=8000)
    long_ = fpfile.from_bytes(to_bytes(fp), max_seconds=None)
    assert np.array_equal(long_.hash, fp.hash)


def test_cli_match_of_a_truncated_fingerprint_exits_1_with_one_line(tmp_path, capsys,
                                                                    fp_bytes):
    from purport.cli import main

    db = str(tmp_path / "a.db")
    with pytest.raises(SystemExit):
        main(["init", "--db", db])
    bad = tmp_path / "q.fp"
    bad.write_bytes(fp_bytes[: len(fp_bytes) // 2])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["match", str(bad), "--fingerprint", "--db", db])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "is not a purport fingerprint file (truncated or damaged)" in err


def test_web_match_of_a_truncated_fingerprint_is_a_422_not_a_500(tmp_path, fp_bytes):
    from fastapi.testclient import TestClient

    from purport.web import Settings, create_app

    db = str(tmp_path / "w.db")
    with Archive.init(db) as archive:
        _, token = archive.create_token("reader", scope="read")
    with TestClient(create_app(Settings(db=db)), raise_server_exceptions=False) as c:
        r = c.post("/api/match", headers={"Authorization": f"Bearer {token}"},
                   files={"fingerprint": ("q.fp", fp_bytes[:1000])})
    assert r.status_code == 422, r.text
    assert "truncated or damaged" in json.dumps(r.json())


# -- grid logs -------------------------------------------------------------------------------

T0 = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)


def _grid_csv(path: Path, rows: list[tuple[str, str]], *, encoding: str = "utf-8",
              header: bool = True) -> Path:
    text = ("timestamp,frequency_hz\n" if header else "") + "".join(
        f"{t},{f}\n" for t, f in rows)
    path.write_bytes(text.encode(encoding))
    return path


def _rows(n: int = 120, *, nominal: float = 50.0, step: float = 1.0) -> list[tuple[str, str]]:
    return [((T0 + dt.timedelta(seconds=i * step)).isoformat().replace("+00:00", "Z"),
             f"{nominal + 0.02 * np.sin(i / 9):.4f}") for i in range(n)]


def test_a_good_grid_log_still_reads(tmp_path):
    log = grid.read_csv(_grid_csv(tmp_path / "g.csv", _rows()))
    assert log.seconds == 120 and log.nominal == 50 and np.isfinite(log.freq).all()
    assert grid.read_csv(_grid_csv(tmp_path / "h.csv", _rows(nominal=60.0))).nominal == 60


@pytest.mark.parametrize("value, line", [("60.01", 52), ("51.2", 52), ("48.9", 52)])
def test_a_value_far_from_the_logs_nominal_is_refused_with_its_line(tmp_path, value, line):
    rows = _rows()
    rows[50] = (rows[50][0], value)
    with pytest.raises(ParameterError) as exc:
        grid.read_csv(_grid_csv(tmp_path / "g.csv", rows))
    text = _one_line(exc.value)
    assert f"g.csv:{line}: frequency {value} Hz" in text and "nominal 50 Hz" in text
    assert "more than 1 Hz off" in text


def test_a_value_within_a_hertz_of_nominal_is_kept(tmp_path):
    rows = _rows()
    rows[50] = (rows[50][0], "50.6")
    assert grid.read_csv(_grid_csv(tmp_path / "g.csv", rows)).freq[50] == pytest.approx(50.6)


def test_a_hundred_rows_with_one_timestamp_are_refused(tmp_path):
    rows = [(_rows()[0][0], "50.0")] * 100
    with pytest.raises(ParameterError, match=r"g\.csv:3: time .* repeats"):
        grid.read_csv(_grid_csv(tmp_path / "g.csv", rows))


@pytest.mark.parametrize("fault, message", [
    ("duplicate", r"g\.csv:42: time .* repeats"), ("backwards", r"g\.csv:42: time .* backwards"),
    ("nan", r"g\.csv:42: frequency 'nan' is not a finite number"),
    ("inf", r"g\.csv:42: frequency 'inf' is not a finite number"),
    ("year", r"g\.csv:42: timestamp '9999-12-31T23:59:59Z' is not between 1970 and 2100"),
])
def test_bad_rows_are_refused_with_their_line(tmp_path, fault, message):
    rows = _rows()
    rows[40] = {"duplicate": rows[39], "backwards": (rows[38][0], rows[40][1]),
                "nan": (rows[40][0], "nan"), "inf": (rows[40][0], "inf"),
                "year": ("9999-12-31T23:59:59Z", rows[40][1])}[fault]
    with pytest.raises(ParameterError, match=message) as exc:
        grid.read_csv(_grid_csv(tmp_path / "g.csv", rows))
    _one_line(exc.value)


def test_a_log_covering_less_than_a_minute_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="cover 9.9 s; a grid log needs at least a minute"):
        grid.read_csv(_grid_csv(tmp_path / "g.csv", _rows(100, step=0.1)))


def test_a_log_spanning_centuries_is_refused_not_allocated(tmp_path):
    rows = _rows(70) + [("2099-12-31T00:00:00Z", "50.0")]
    with pytest.raises(ParameterError, match=r"g\.csv:72: the log runs past 92 days"):
        grid.read_csv(_grid_csv(tmp_path / "g.csv", rows))


def test_gaps_are_still_kept_as_nan(tmp_path):
    rows = _rows(200)
    del rows[100:130]
    log = grid.read_csv(_grid_csv(tmp_path / "g.csv", rows))
    assert log.seconds == 200 and np.isnan(log.freq[100:130]).all()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-32"])
def test_a_grid_log_in_utf16_or_with_a_bom_reads(tmp_path, encoding):
    log = grid.read_csv(_grid_csv(tmp_path / "g.csv", _rows(), encoding=encoding))
    assert log.seconds == 120


def test_a_grid_log_with_a_huge_line_is_refused_in_one_line(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("timestamp,frequency_hz\n" + "1" * 300_000 + ",50\n")
    with pytest.raises(ParameterError) as exc:
        grid.read_csv(path)
    assert _one_line(exc.value).startswith(f"{path}:2: ")


def test_cli_grid_import_of_a_bad_log_exits_1_with_the_line(tmp_path, capsys):
    from purport.cli import main

    db = str(tmp_path / "a.db")
    with pytest.raises(SystemExit):
        main(["init", "--db", db])
    rows = _rows()
    rows[50] = (rows[50][0], "60.01")
    path = _grid_csv(tmp_path / "g.csv", rows)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["grid", "import", str(path), "--region", "test", "--db", db])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "g.csv:52:" in err


# -- articles and their --meta file -------------------------------------------------------

ARTICLE = ("Abu Fulan al-Mithali released an audio message on Tuesday urging attacks, the "
           "group’s media arm said. The message lasted 12 minutes and was posted on Telegram. "
           "Its authenticity could not be independently verified.")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig",
                                      "utf-32", "utf-32-be"])
def test_an_article_with_a_byte_order_mark_is_decoded(tmp_path, encoding):
    path = tmp_path / "a.txt"
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
           "utf-32-be": codecs.BOM_UTF32_BE}.get(encoding, b"")
    path.write_bytes(bom + ARTICLE.encode(encoding))
    assert read_article(path)["text"] == ARTICLE


def test_an_html_article_in_utf16_is_decoded(tmp_path):
    body = " ".join(["The region has seen fighting for months."] * 5)
    page = tmp_path / "a.html"
    page.write_bytes(f"<html><body><article><p>{ARTICLE}</p><p>{body}</p></article>"
                     "</body></html>".encode("utf-16"))
    assert "Tuesday" in read_article(page)["text"]


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_a_legacy_encoded_article_decodes_instead_of_failing(tmp_path, encoding):
    text = ARTICLE.replace("’", "'") + " Café société, naïve résumé."
    if encoding == "cp1252":
        text += " “Quoted” – €5."
    path = tmp_path / "a.txt"
    path.write_bytes(text.encode(encoding))
    assert read_article(path)["text"] == text


def test_utf16_without_a_mark_is_decoded(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(ARTICLE.encode("utf-16-le"))
    assert read_article(path)["text"] == ARTICLE


@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,        # an image
    b"PK\x03\x04" + bytes(200),                              # a zip
    bytes(range(1, 32)) * 40,                                # control bytes, no NUL
    codecs.BOM_UTF16_LE + b"\x00\xd8" * 20,                  # a lone surrogate after a mark
])
def test_binary_files_are_still_refused_in_one_line(tmp_path, content):
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    with pytest.raises(ParameterError) as exc:
        read_article(path)
    assert str(path) in _one_line(exc.value)


def _meta(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "meta.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ('[{"a.txt": {}}]', "a JSON array; want a JSON object"),
    ('"a.txt"', "a JSON string; want a JSON object"),
    ("null", "a JSON null"),
    ('{"a.txt": ["2024-05-08"]}', "entry 'a.txt' is a JSON array"),
    ('{"a.txt": {"published": 20240508}}', "published is a JSON number, not a string"),
    ('{"a.txt": {"outlet": {"name": "X"}}}', "outlet is a JSON object, not a string"),
    ('{"a.txt": {"published": "8 May 2024"}}', "published '8 May 2024' is not YYYY-MM-DD"),
    ('{"a.txt": {"publised": "2024-05-08"}}', "unknown field 'publised'"),
    ('{"a.txt": {"published": "2024-05-08",}\n}', "meta.json:1: not JSON"),
    ("[" * 100_000, "not JSON|nested too deeply"),
    ("", "empty file"),
])
def test_a_bad_meta_file_is_refused_in_one_line_naming_it(tmp_path, text, message):
    path = _meta(tmp_path, text)
    with pytest.raises(ParameterError, match=message) as exc:
        read_meta(path)
    assert str(path) in _one_line(exc.value)


def test_news_add_with_a_json_array_meta_adds_nothing(tmp_path):
    (tmp_path / "a.txt").write_text(ARTICLE)
    meta = _meta(tmp_path, '[{"a.txt": {"published": "2024-05-08"}}]')
    with Archive.init(str(tmp_path / "a.db"), store_dir=tmp_path / "s") as archive:
        with pytest.raises(ParameterError, match="a JSON array"):
            add_reports(archive, [tmp_path / "a.txt"], meta=meta)
        assert archive.reports() == []


def test_a_good_meta_file_reads(tmp_path):
    path = _meta(tmp_path, json.dumps({"a.txt": {"published": "2024-05-08", "outlet": "X",
                                                 "url": None}}))
    assert read_meta(path) == {"a.txt": {"published": "2024-05-08", "outlet": "X"}}


# -- ENF report without usable hum ---------------------------------------------------------

@pytest.mark.parametrize("seconds, reason", [
    (3.0, "shorter than the 8-s analysis window"),
    (60.0, "no two successive estimates (1 s apart) found hum"),
])
def test_a_recording_without_usable_enf_says_why_roughness_is_missing(seconds, reason):
    e = enf_report(np.zeros(int(seconds * enf.SR)), enf.SR, None)
    assert e["detection"]["roughness_mhz_per_s"] is None
    assert reason in e["detection"]["roughness_note"]
    json.dumps(e, allow_nan=False)


def test_a_recording_with_a_roughness_has_no_note():
    rng = np.random.default_rng(0)
    e = enf_report(0.1 * rng.standard_normal(60 * enf.SR), enf.SR, None)
    assert e["detection"]["roughness_mhz_per_s"] is not None
    assert e["detection"]["roughness_note"] is None


# -- events catalogs and transcripts -------------------------------------------------------

EVENTS = ("date,title,description,keywords\n"
          "2024-01-10,Bridge attack,An attack on the river bridge,bridge;attack\n"
          "2024-02-01,Ceasefire pledge,Leaders pledged a ceasefire,ceasefire\n")


def _events(tmp_path: Path, data: bytes | str) -> Path:
    path = tmp_path / "events.csv"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "cp1252"])
def test_an_events_csv_in_another_encoding_reads(tmp_path, encoding):
    events = content.read_events(_events(tmp_path, EVENTS.encode(encoding)))
    assert [e.title for e in events] == ["Bridge attack", "Ceasefire pledge"]


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"),
    (b"\x00\x01\x02\x03" * 100, "binary data"),
    ("title,description\nBridge,x\n", "want a header with at least date,title"),
    ("date,title\n", "no events under its header"),
    ("date,title\n2024-13-01,Bridge\n", r"events\.csv:2: date '2024-13-01' is not YYYY-MM-DD"),
    ("date,title\n2024-01-01,Bridge\n\n10 Jan 2024,Pledge\n", r"events\.csv:4: date"),
    ("date,title\n2024-01-01,\n", r"events\.csv:2: empty title"),
    ("date,title\n2024-01-01," + "x" * 200_000 + "\n", r"events\.csv:2: "),
    ('date,title\n2024-01-01,"unclosed\n', r"events\.csv:\d+: "),
])
def test_a_bad_events_csv_is_refused_in_one_line(tmp_path, data, message):
    path = _events(tmp_path, data)
    with pytest.raises(ParameterError, match=message) as exc:
        content.read_events(path)
    assert str(path) in _one_line(exc.value)


def test_an_events_header_in_capitals_reads(tmp_path):
    events = content.read_events(_events(tmp_path, "Date,Title\n2024-01-01,Bridge\n"))
    assert events[0].title == "Bridge"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-32", "cp1252"])
def test_a_transcript_in_another_encoding_reads(tmp_path, encoding):
    text = "We will answer the attack on the bridge. Our patience is over, brothers."
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode(encoding))
    assert content.read_transcript(path) == text


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"), (b"   \n\n", "empty file"), (b"\x00\x01\x02" * 50, "binary data"),
    (b"\xff\xfe", "empty file"),
])
def test_a_bad_transcript_is_refused_in_one_line(tmp_path, data, message):
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    with pytest.raises(ParameterError, match=message) as exc:
        content.read_transcript(path)
    assert str(path) in _one_line(exc.value)


def test_a_huge_transcript_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(content, "MAX_TRANSCRIPT_BYTES", 1000)
    path = tmp_path / "t.txt"
    path.write_text("word " * 1000)
    with pytest.raises(ParameterError, match="5000 bytes, larger than the 1000 bytes"):
        content.read_transcript(path)


def test_every_refusal_here_is_a_purport_error():
    assert issubclass(fpfile.FingerprintFileError, PurportError)
