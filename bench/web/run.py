"""bench/web: does `purport serve` stream uploads (memory), and what does HTTP add (latency)?

Starts `purport serve` as its own process on a loopback port over a fresh demo archive,
then measures, side by side on this machine:

- memory: the server's resident set size (from /proc) before and at the peak of a large
  upload (``--upload-mib`` of noise sent to ``/api/match``, which saves it, then refuses
  it as not media), so streaming shows as a rise far below the upload's size;
- latency: ``POST /api/match`` of the demo compilation and ``GET /archive.json``,
  against the same work done in-process (``search.match_file``, ``Archive.recordings``)
  in this process: the ratio is what HTTP, multipart parsing and the upload copy add.

    .venv/bin/python bench/web/run.py [--upload-mib 256] [--repeats 10]

Writes ``bench/web/results.md`` and ``results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from purport import demo
from purport.archive import Archive
from purport.assess import reuse as search

HERE = Path(__file__).resolve().parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _noise(total: int, chunk: int = 1024**2):
    block = os.urandom(chunk)
    for _ in range(total // chunk):
        yield block


def _multipart(name: str, total: int, boundary: str = "purportbench"):
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
           f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    yield from _noise(total)
    yield f"\r\n--{boundary}--\r\n".encode()


def _timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upload-mib", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--out", type=Path, default=HERE)
    a = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="purport-bench-web-"))
    db = str(work / "purport.db")
    with Archive.init(db) as archive:
        demo.build(archive)
        _, secret = archive.create_token("bench", scope="read")
    port = _port()
    purport = str(Path(sys.executable).with_name("purport"))
    server = subprocess.Popen(
        [purport, "serve", "--db", db, "--port", str(port), "--max-upload",
         f"{a.upload_mib + 16}M"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {secret}"}
    try:
        client = httpx.Client(base_url=base, headers=headers, timeout=600)
        for _ in range(200):
            try:
                client.get("/archive.json")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        questioned = demo.data_dir() / "questioned_2024-03-10_telegram.ogg"
        data = questioned.read_bytes()
        client.post("/api/match", files={"file": (questioned.name, data)})  # warm caches

        idle = _rss_mib(server.pid)
        peak, stop = [idle], threading.Event()

        def watch():
            while not stop.is_set():
                peak.append(_rss_mib(server.pid))
                time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        total = a.upload_mib * 1024**2
        t = time.perf_counter()
        r = client.post("/api/match", content=_multipart("noise.ogg", total),
                        headers={"Content-Type": "multipart/form-data; boundary=purportbench"})
        upload_s = time.perf_counter() - t
        stop.set()
        watcher.join()
        upload = {"mib": a.upload_mib, "status": r.status_code,
                  "error": r.json().get("error", {}).get("message", "")[:120],
                  "rss_idle_mib": round(idle, 1), "rss_peak_mib": round(max(peak), 1),
                  "rss_rise_mib": round(max(peak) - idle, 1),
                  "rise_over_upload": round((max(peak) - idle) / a.upload_mib, 4),
                  "seconds": round(upload_s, 2),
                  "mib_per_s": round(a.upload_mib / upload_s, 1)}

        http_match = _timed(lambda: client.post(
            "/api/match", files={"file": (questioned.name, data)}).raise_for_status(),
            a.repeats)
        http_list = _timed(lambda: client.get("/archive.json").raise_for_status(), a.repeats)
        with Archive(db) as archive:
            direct_match = _timed(lambda: search.match_file(archive, questioned), a.repeats)
            direct_list = _timed(lambda: [r.to_dict() for r in archive.recordings()],
                                 a.repeats)
    finally:
        server.terminate()
        server.wait(timeout=20)

    def med(xs):
        return round(statistics.median(xs), 4)

    latency = {
        "match_http_s": med(http_match), "match_in_process_s": med(direct_match),
        "match_ratio": round(statistics.median(http_match) / statistics.median(direct_match), 2),
        "archive_json_http_s": med(http_list), "archive_in_process_s": med(direct_list),
        "archive_ratio": round(statistics.median(http_list) / statistics.median(direct_list),
                               2),
        "repeats": a.repeats,
    }
    facts = {"python": platform.python_version(), "cpus": os.cpu_count(),
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "command": "bench/web/run.py " + " ".join(argv if argv is not None
                                                       else sys.argv[1:])}
    res = {"upload": upload, "latency": latency, "machine": facts}
    u, la = upload, latency
    up_row = (f"| {u['mib']} MiB of noise to `/api/match` | {u['status']} | "
              f"{u['rss_idle_mib']} MiB | {u['rss_peak_mib']} MiB | {u['rss_rise_mib']} MiB | "
              f"{u['rise_over_upload']} | {u['seconds']} s ({u['mib_per_s']} MiB/s) |")
    match_row = (f"| match the demo compilation (32 s) | {la['match_http_s']} s | "
                 f"{la['match_in_process_s']} s | {la['match_ratio']}x |")
    list_row = (f"| list the archive (`/archive.json`) | {la['archive_json_http_s']} s | "
                f"{la['archive_in_process_s']} s | {la['archive_ratio']}x |")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "results.json").write_text(json.dumps(res, indent=1))
    (a.out / "results.md").write_text(f"""# bench/web results

Generated by `{facts['command']}` on {facts['date']} ({facts['cpus']} CPUs, Python
{facts['python']}). See the docstring of `run.py` for what is measured.

## Uploads are streamed to disk

| upload | answer | server RSS idle | peak | rise | rise / upload size | time |
|---|---|---|---|---|---|---|
{up_row}

The answer is the refusal of a file that is not media ({upload['error']!r}), after the
whole body was received and written to disk: a server holding the upload in memory would
rise by about the upload's size (ratio 1.0).

## What HTTP adds (median of {latency['repeats']})

| work | over HTTP | in-process | ratio |
|---|---|---|---|
{match_row}
{list_row}

Over HTTP includes the upload, its copy to disk, the token check, multipart parsing and
JSON encoding; the in-process column runs the same Python API call in the benchmark's
own process. Both on this machine, in the same run. Limits: a tiny archive (5
recordings); loopback only, no TLS or proxy.
""")
    print((a.out / "results.md").read_text())


if __name__ == "__main__":
    main()
