"""Fetch the lite engine's models into the image at build time, each file checked against its pinned SHA-256.

Run as a plain script, standard library only, before the application code is copied into the image (a
code change never downloads the models again):
    python bake.py --root /opt/models whisper-small nllb-200-distilled-600m piper-voices
It reads bake.toml beside it (or --manifest): per bundle, the folder under --root it fills, its files
(name, URL pinned to a revision, SHA-256) and the small files of our own it writes beside them (`write`:
name -> text, such as the engine's description of a model). A file without a pinned hash is refused before anything is
fetched, and one whose bytes differ from its hash is deleted and stops the bake: an image never holds a
file nobody vouched for. Files already in place with the right hash are kept (a rebuild resumes).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
import tomllib
import urllib.request
from pathlib import Path

MANIFEST = Path(__file__).with_name("bake.toml")
SHA256 = re.compile(r"[0-9a-f]{64}")
CHUNK_BYTES = 1 << 20
TIMEOUT_S = 60  # per network read, not per file: a 600 MB file may take minutes


class BakeError(RuntimeError):
    """A file that must not go into the image; the message names it and says what to do."""


def read_bundles(manifest: Path, names: list[str]) -> dict[str, dict]:
    """The named bundles of manifest; every file of them must have a pinned hash."""
    bundles = tomllib.loads(manifest.read_text(encoding="utf-8"))["bundles"]
    unknown = [name for name in names if name not in bundles]
    if unknown:
        raise BakeError(f"{manifest}: no bundle {', '.join(unknown)}; it has {', '.join(bundles)}")
    unpinned = [f"{name}/{file['name']}" for name in names for file in bundles[name]["files"]
                if not SHA256.fullmatch(file.get("sha256", ""))]
    if unpinned:
        raise BakeError(f"{manifest}: no pinned SHA-256 for {', '.join(unpinned)}: fill each from a copy you "
                        f"trust (sha256sum FILE) or leave the bundle out")
    return {name: bundles[name] for name in names}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, sha256: str, target: Path) -> None:
    """url's bytes into target, only if they hash to sha256 (written under a temporary name first)."""
    if target.exists() and sha256_of(target) == sha256:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as partial:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 (pinned by hash)
                while block := response.read(CHUNK_BYTES):
                    digest.update(block)
                    partial.write(block)
        except BaseException:
            os.unlink(partial.name)
            raise
    if digest.hexdigest() != sha256:
        os.unlink(partial.name)
        raise BakeError(f"{url}: SHA-256 {digest.hexdigest()}, pinned {sha256}: refused")
    os.replace(partial.name, target)


def bake(root: Path, bundles: dict[str, dict]) -> None:
    for name, bundle in bundles.items():
        folder = root / bundle["dir"]
        for file in bundle["files"]:
            fetch(file["url"], file["sha256"], folder / file["name"])
        for file_name, text in bundle.get("write", {}).items():
            (folder / file_name).write_text(text, encoding="utf-8")
        print(f"baked {name} into {folder} ({bundle['license']})", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="the image's model folder")
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("bundles", nargs="*", help="bundles to bake (none: nothing)")
    args = parser.parse_args(argv)
    try:
        bake(args.root, read_bundles(args.manifest, args.bundles))
    except (BakeError, OSError) as error:
        print(f"bake: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
