"""Text files users hand purport (articles, transcripts, events and grid CSVs): decoded in
whatever encoding they carry, binary data and oversized files refused in one line."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

from purport.errors import ParameterError

#: Byte-order marks, longest first (a UTF-32 LE mark begins with the UTF-16 LE one).
BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"))
#: Share of control characters (other than tab, line breaks, form feed) above which a
#: decoded file is taken for binary data.
MAX_CONTROL_SHARE = 0.01
def decode_text(raw: bytes, *, name: str, what: str = "a text file") -> str:
    """Text of a file's bytes: a byte-order mark's encoding (UTF-8, UTF-16 or UTF-32 either
    way), else UTF-16 without a mark when every other byte is NUL, else UTF-8, else the
    legacy Windows (cp1252) and Latin-1 encodings. Binary data is refused in one line
    naming ``name``; ``what`` says what the file should have been.
    """
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(encoding)
            except UnicodeDecodeError:
                raise ParameterError(f"{name}: starts with a {encoding.upper()} byte-order "
                                     f"mark but is not {encoding.upper()} text") from None
    head = raw[:4096]
    text = None
    if len(head) >= 4 and b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        encoding = ("utf-16-be" if even.count(0) > 0.4 * len(even) > odd.count(0) else
                    "utf-16-le" if odd.count(0) > 0.4 * len(odd) > even.count(0) else None)
        if encoding is not None and len(raw) % 2 == 0:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                text = None
        if text is None:
            raise ParameterError(f"{name}: binary data, not {what}")
    if text is None:
        for encoding in ("utf-8", "cp1252", "latin-1"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    sample = text[:65536]
    controls = sum(1 for c in sample if (c < " " and c not in "\t\n\r\f\v")
                   or "\x7f" <= c <= "\x9f")
    if controls > MAX_CONTROL_SHARE * max(len(sample), 1) or "\x00" in sample:
        raise ParameterError(f"{name}: binary data, not {what}")
    return text.removeprefix("\ufeff")


def read_text(path: str | Path, *, what: str = "a text file", max_bytes: int) -> str:
    """A text file's contents (see :func:`decode_text`); a missing, unreadable, empty or
    larger than ``max_bytes`` file is refused in one line naming it."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path}: no such file")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ParameterError(f"{path}: {size} bytes, larger than the {max_bytes} bytes "
                                 f"allowed for {what}")
        raw = path.read_bytes()
    except OSError as exc:
        raise ParameterError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not raw.strip() or not raw.strip(b"\x00\xff\xfe\xef\xbb\xbf \t\r\n"):
        raise ParameterError(f"{path}: empty file, not {what}")
    return decode_text(raw, name=str(path), what=what)


def long_line(text: str, limit: int) -> int | None:
    """The number of the first line of ``text`` longer than ``limit`` characters, if any."""
    if len(text) <= limit:
        return None
    for n, line in enumerate(io.StringIO(text, newline=""), 1):  # the lines csv reads
        if len(line.rstrip("\r\n")) > limit:
            return n
    return None
