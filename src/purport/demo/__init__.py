"""The bundled demo: two fictional speakers, three references, two questioned recordings.

The speech is FSDD (CC BY-SA 4.0), re-cut by ``scripts/make_demo_data.py``; the
manifest says, for each questioned file, what it really is, so the demo doubles as
a worked example with a known answer.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from purport import ingest
from purport.archive import Archive, Provenance

if TYPE_CHECKING:
    from purport.assess import Assessment

ATTRIBUTION_LINE = ("demo speech: Free Spoken Digit Dataset (CC BY-SA 4.0), re-cut; "
                    "speakers and outlets are fictional (see purport/demo/data/ATTRIBUTION.txt)")


def data_dir() -> Path:
    """The folder of the installed demo files."""
    return Path(str(resources.files("purport.demo") / "data"))


def manifest() -> dict[str, Any]:
    """Speakers and recordings of the demo, with the provenance each is filed with."""
    return json.loads((data_dir() / "manifest.json").read_text())


def build(archive: Archive) -> list[dict[str, str]]:
    """File the demo speakers, recordings and grid log (a second run changes nothing)."""
    spec = manifest()
    if not archive.grid_logs(region=spec["grid"]["region"]):
        from purport.assess.timing import import_grid

        import_grid(archive, data_dir() / spec["grid"]["file"], region=spec["grid"]["region"])
    for s in spec["speakers"]:
        archive.add_speaker(s["name"], aliases=s["aliases"], notes=s["notes"])
    summary = []
    for r in spec["recordings"]:
        provenance = Provenance(
            source_url=r["source_url"], outlet=r["outlet"], channel=r["channel"],
            released=dt.date.fromisoformat(r["released"]),
            first_seen=dt.datetime.fromisoformat(r["released"] + "T12:00:00+00:00"),
        )
        (result,) = ingest.add_files(archive, [data_dir() / r["file"]], role=r["role"],
                                     speaker=r["speaker"], provenance=provenance,
                                     notes=r["notes"])
        summary.append({"name": r["file"], "status": result.status,
                        "recording_id": str(result.recording.id)})
    return summary


def verify(archive: Archive) -> Assessment:
    """The full assessment of the demo's questioned voice note (all four questions)."""
    from purport import assess

    spec, d = manifest(), data_dir()
    v = spec["verify"]
    return assess.verify(d / v["file"], archive=archive, claimed_speaker=v["claimed_speaker"],
                         transcript=d / v["transcript"], events=d / v["events"],
                         region=spec["grid"]["region"])
