"""Unpacking an uploaded zip safely, into a temporary folder of its own.

A zip is checked before anything is written: every name must stay inside the folder (no
"../", no absolute path), the sizes it declares must add up to at most the upload limit, and
no large member may be compressed more than MAX_RATIO to 1, which only zip bombs do (deflate
tops out near 1,032:1; real shapefiles and geodatabases stay far below 100:1). While unpacking,
each member is cut off at the size it declared, so an archive that lies about its sizes cannot
write more than it said. Mac Finder's `__MACOSX/` and `._name` files are skipped.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from civicport.errors import InvalidUpload

MAX_RATIO = 200
RATIO_MIN_BYTES = 1 << 20  # small members cannot hurt, whatever their ratio
MAX_MEMBERS = 10_000
COPY_BLOCK = 1 << 20


def unpack(path: Path, max_bytes: int) -> tempfile.TemporaryDirectory[str]:
    """Extract the zip at `path` into a new temporary folder, after the checks above.

    The caller removes the folder (`.cleanup()`) when done. Raises InvalidUpload, naming the
    archive and the member at fault, for an unreadable, encrypted, unsafe or oversized zip.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidUpload(f"{path.name} is not a readable zip archive ({exc}).") from None
    with archive:
        members = [m for m in archive.infolist() if not _skipped(m)]
        _check(members, path.name, max_bytes)
        folder = tempfile.TemporaryDirectory(prefix="civicport-unzip-", ignore_cleanup_errors=True)
        try:
            root = Path(folder.name).resolve()
            for member in members:
                _extract(archive, member, root, path.name)
        except BaseException:
            folder.cleanup()
            raise
    return folder


def member_name(member: zipfile.ZipInfo) -> PurePosixPath:
    """A member's name as a relative path ('\\' written by Windows tools read as '/')."""
    return PurePosixPath(member.filename.replace("\\", "/"))


def _skipped(member: zipfile.ZipInfo) -> bool:
    name = member_name(member)
    return member.is_dir() or name.parts[:1] == ("__MACOSX",) or name.name.startswith("._")


def _check(members: list[zipfile.ZipInfo], archive: str, max_bytes: int) -> None:
    if len(members) > MAX_MEMBERS:
        raise InvalidUpload(
            f"{archive} holds {len(members):,} files, more than the {MAX_MEMBERS:,} an import "
            "may unpack."
        )
    total = 0
    for member in members:
        name = member_name(member)
        if name.is_absolute() or ".." in name.parts or ":" in name.parts[0]:
            raise InvalidUpload(
                f"{archive} holds a file named {member.filename!r}, which points outside the "
                "archive's own folder; nothing was unpacked. Zip the files again from their "
                "folder."
            )
        if member.flag_bits & 0x1:
            raise InvalidUpload(
                f"{archive} is password-protected ({member.filename} is encrypted); zip the "
                "files again without a password."
            )
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_MIN_BYTES and ratio > MAX_RATIO:
            raise InvalidUpload(
                f"{archive}: {member.filename} would unpack {ratio:,.0f} times larger than it "
                "is stored, which only a zip bomb does; nothing was unpacked."
            )
        total += member.file_size
    if total > max_bytes:
        raise InvalidUpload(
            f"{archive} unpacks to {total:,} bytes, more than the {max_bytes:,} an import may "
            "take; nothing was unpacked."
        )


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, root: Path, label: str) -> None:
    target = (root / member_name(member)).resolve()
    if not target.is_relative_to(root):  # _check refused such names; kept as the last guard
        raise InvalidUpload(f"{label}: {member.filename!r} points outside the archive.")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with archive.open(member) as source, target.open("xb") as out:
            # zipfile stops at the declared size and checks the CRC: a member cannot write
            # more than _check counted.
            shutil.copyfileobj(source, out, COPY_BLOCK)
    except FileExistsError:
        raise InvalidUpload(
            f"{label} holds {member.filename!r} twice; zip the files again."
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise InvalidUpload(
            f"{label} is damaged: {member.filename} cannot be unpacked ({exc})."
        ) from None
