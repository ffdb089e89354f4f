"""bench/web: does `purport serve` stream uploads (memory), and what does HTTP add (latency)?

Starts `purport serve` as its own process on a loopback port over a fresh demo archive,
then measures, side by side on this machine:

- memory: the server's resident set size (from /proc) before and at the peak of a large
  upload (``--upload-mib`` of noise sent to ``/api/match``, which saves it, then refuses
  it as not media), so streaming shows as a rise far below the upload's size;
- latency: ``POST /api/match`` of the demo compilation and ``GET /archive.json``,
  against the same work done in-process (``search.match_file``, ``Archive.recordings``)
  in this process: the ratio is what HTTP, multipart parsing and the upload copy add;
- many clients: ``--parallel`` (20) simultaneous ``POST /api/match`` of the same file,
  ``--bursts`` times, with a probe (``GET /healthz``, and ``GET /archive.json`` as a light
  page) asked every 50 ms meanwhile: the latency of the matches the server accepted
  (p50/p95), how many it refused (429/503 with Retry-After), and the probes' latency, for
  ``purport serve`` as shipped (heavy work bounded: one slot per CPU, a queue of 8) and for
  the same app with the bound opened wide (64 slots: every request works at once, as
  before the bound), beside one match alone.

    .venv/bin/python bench/web/run.py [--upload-mib 256] [--repeats 10] [--parallel 20]
                                      [--bursts 3]

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


def _wait_up(client: httpx.Client) -> None:
    for _ in range(300):
        try:
            client.get("/healthz")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def _pct(xs: list[float], q: float) -> float | None:
    """The q-quantile (nearest rank) of xs, in seconds rounded to ms; None if empty."""
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, max(0, round(q * len(xs) + 0.5) - 1))], 3)


def _burst(client: httpx.Client, name: str, data: bytes, parallel: int,
           probes: dict[str, list[float]]) -> tuple[list, float]:
    """One burst: ``parallel`` matches released at once, the probes asked every 50 ms
    until the last answer. Returns ([(status, seconds, retry-after)], wall seconds)."""
    stop, start = threading.Event(), threading.Barrier(parallel + 1)
    results: list[tuple[int | str, float, str | None]] = []
    lock = threading.Lock()

    def one():
        start.wait()
        t = time.perf_counter()
        try:
            r = client.post("/api/match", files={"file": (name, data)})
            out = (r.status_code, time.perf_counter() - t, r.headers.get("retry-after"))
        except httpx.HTTPError as exc:  # a refusal before the upload was read
            out = (type(exc).__name__, time.perf_counter() - t, None)
        with lock:
            results.append(out)

    def probe():
        while not stop.is_set():
            for path in probes:
                t = time.perf_counter()
                client.get(path).raise_for_status()
                probes[path].append(time.perf_counter() - t)
            time.sleep(0.05)

    threads = [threading.Thread(target=one) for _ in range(parallel)]
    for th in threads:
        th.start()
    prober = threading.Thread(target=probe)
    t0 = time.perf_counter()
    start.wait()
    prober.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    stop.set()
    prober.join()
    return results, wall


def _bursts(base: str, headers: dict, name: str, data: bytes, parallel: int,
            bursts: int) -> dict:
    """``parallel`` simultaneous matches, ``bursts`` times, probes asked meanwhile."""
    accepted, refused, failed, retry_after, walls = [], 0, [], [], []
    probes: dict[str, list[float]] = {"/healthz": [], "/archive.json": []}
    with httpx.Client(base_url=base, headers=headers, timeout=600,
                      limits=httpx.Limits(max_connections=parallel + 4)) as client:
        for _ in range(bursts):
            results, wall = _burst(client, name, data, parallel, probes)
            walls.append(wall)
            for status, seconds, after in results:
                if status == 200:
                    accepted.append(seconds)
                elif status in (429, 503):
                    refused += 1
                    retry_after.append(int(after))
                else:
                    failed.append(status)
    return {
        "requests": parallel * bursts, "accepted": len(accepted), "refused": refused,
        "failed": failed, "accepted_p50_s": _pct(accepted, 0.5),
        "accepted_p95_s": _pct(accepted, 0.95), "accepted_max_s": _pct(accepted, 1.0),
        "retry_after_s": sorted(set(retry_after)),
        "burst_wall_s": round(statistics.median(walls), 2),
        "healthz_p50_s": _pct(probes["/healthz"], 0.5),
        "healthz_p95_s": _pct(probes["/healthz"], 0.95),
        "healthz_max_s": _pct(probes["/healthz"], 1.0),
        "archive_json_p50_s": _pct(probes["/archive.json"], 0.5),
        "archive_json_p95_s": _pct(probes["/archive.json"], 0.95),
        "probes": len(probes["/healthz"]),
    }


def _open_server(db: str, port: int, slots: int) -> subprocess.Popen:
    """The same app as ``purport serve``, under uvicorn as the CLI runs it, with the bound
    on heavy work opened to ``slots`` at once (the CLI has no option for that yet)."""
    code = ("import uvicorn; from purport.web import Settings, create_app; "
            f"uvicorn.run(create_app(Settings(db={db!r}, max_concurrent={slots}, "
            f"max_queue=0)), host='127.0.0.1', port={port}, log_level='warning')")
    return subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL)


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
    ap.add_argument("--parallel", type=int, default=20)
    ap.add_argument("--bursts", type=int, default=3)
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
        _wait_up(client)
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
        limits = client.get("/healthz").json()["heavy"]
        bounded = _bursts(base, headers, questioned.name, data, a.parallel, a.bursts)
        bounded.update(slots=limits["slots"], queue=limits["queue"])
    finally:
        server.terminate()
        server.wait(timeout=20)
    port = _port()
    server = _open_server(db, port, 64)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
            _wait_up(client)
            client.post("/api/match", files={"file": (questioned.name, data)})  # warm
        unbounded = _bursts(base, headers, questioned.name, data, a.parallel, a.bursts)
        unbounded.update(slots=64, queue=0)
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
    concurrency = {"parallel": a.parallel, "bursts": a.bursts,
                   "one_alone_s": latency["match_http_s"], "bounded": bounded,
                   "unbounded": unbounded}
    res = {"upload": upload, "latency": latency, "concurrency": concurrency,
           "machine": facts}
    u, la = upload, latency
    up_row = (f"| {u['mib']} MiB of noise to `/api/match` | {u['status']} | "
              f"{u['rss_idle_mib']} MiB | {u['rss_peak_mib']} MiB | {u['rss_rise_mib']} MiB | "
              f"{u['rise_over_upload']} | {u['seconds']} s ({u['mib_per_s']} MiB/s) |")
    match_row = (f"| match the demo compilation (32 s) | {la['match_http_s']} s | "
                 f"{la['match_in_process_s']} s | {la['match_ratio']}x |")
    list_row = (f"| list the archive (`/archive.json`) | {la['archive_json_http_s']} s | "
                f"{la['archive_in_process_s']} s | {la['archive_ratio']}x |")
    def crow(label: str, c: dict) -> str:
        return (f"| {label} | {c['slots']} / {c['queue']} | {c['accepted']} | {c['refused']}"
                f"{' (+' + str(len(c['failed'])) + ' cut off)' if c['failed'] else ''} | "
                f"{c['accepted_p50_s']} s | {c['accepted_p95_s']} s | {c['accepted_max_s']} s "
                f"| {c['burst_wall_s']} s | {c['healthz_p50_s']} / {c['healthz_p95_s']} / "
                f"{c['healthz_max_s']} s | {c['archive_json_p50_s']} / "
                f"{c['archive_json_p95_s']} s |")

    b, ub = bounded, unbounded
    chead = ("| server | slots / queue | accepted | refused (503) | accepted p50 | p95 | max | "
             "burst wall | `/healthz` p50 / p95 / max | `/archive.json` p50 / p95 |\n"
             "|---|---|---|---|---|---|---|---|---|---|")
    retry = ", ".join(str(x) for x in b["retry_after_s"]) or "none"
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

## Many clients at once ({a.parallel} simultaneous matches, {a.bursts} bursts)

One match alone takes {latency['match_http_s']} s over HTTP (median above).

{chead}
{crow("`purport serve` (bounded)", b)}
{crow("bound opened wide (as before)", ub)}

Bounded, at most {b['slots']} matches work at once (one per CPU) and {b['queue']} wait their
turn; the rest are refused at once with 503, the error shape and `Retry-After` (here: {retry}
s), so an accepted match takes about its own time times its place in the queue instead of
every one taking the time of all. The probes (`/healthz`: no token, no database, never
waits for the gate; `/archive.json`: a light page) are asked every 50 ms during the bursts.
Opened wide, every match is accepted and all {a.parallel} share the CPUs. Both on this
machine, in the same run; the refused requests are not retried.
""")
    print((a.out / "results.md").read_text())


if __name__ == "__main__":
    main()
