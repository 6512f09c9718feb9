#!/usr/bin/env python3
"""Unpack an owui-backup snapshot by hand, with nothing but Python 3 (no owui-backup, no Docker).

    python3 manual-restore.py STORE_DIR SNAPSHOT_ID TARGET_DIR

STORE_DIR is a local store, or a copy of a bucket's prefix (e.g. `aws s3 sync s3://BUCKET/PREFIX STORE_DIR`,
or `rclone copy`). Every backed-up path is unpacked under TARGET_DIR by its base name (data/, static/,
.webui_secret_key), with modes, times and links as archived; chunked files (formats 2 and 3) are put
together from their chunks, each checked against its sha256. Reads formats 1, 2 and 3. Format 3 chunks
are mostly zstd: Python 3.14 reads it itself; before that, `pip install zstandard` or the `zstd` command
(Debian: apt-get install zstd) is used. Run it as root to get the archived owners back (otherwise files
belong to you). See "Manual restore" in the README.
"""
import glob
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile

PLACEHOLDER = "OWUIBACKUP.size"


def main(store, snapshot, target):
    base = os.path.join(store, "snapshots", snapshot)
    with open(os.path.join(base, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest["format"] > 3:
        sys.exit(f"snapshot {snapshot} has format {manifest['format']}; this script reads formats 1 to 3")
    os.makedirs(target, exist_ok=True)
    for record in manifest["paths"]:
        if not record.get("archive"):
            continue
        with tarfile.open(os.path.join(base, record["archive"]), "r:gz") as tar:
            members = tar.getmembers()
            placeholders = {m.name for m in members if PLACEHOLDER in m.pax_headers}
            # tar_filter refuses names and links that leave TARGET_DIR (Python 3.12, 3.8.17+, 3.11.4+);
            # the member it checked is extracted as archived, modes included (the filter would drop some bits).
            if hasattr(tarfile, "tar_filter"):
                tar.extractall(target, members=members, filter=lambda member, dest: tarfile.tar_filter(member, dest) and member)
            else:
                tar.extractall(target, members=members)
        if not record.get("index"):
            continue
        with open(os.path.join(base, record["index"]), "rb") as f:
            raw = f.read()
        index = json.loads(gzip.decompress(raw) if record["index"].endswith(".gz") else raw)
        chunks = os.path.join(store, manifest["chunkStore"]["prefix"])
        packs = pack_index(chunks)
        for entry in index["files"]:
            if entry["name"] not in placeholders:
                sys.exit(f"{record['index']} names {entry['name']!r}, which the archive has no placeholder for")
            fill(os.path.join(target, entry["name"]), entry["chunks"], chunks, packs)
        print(f"{record['path']}: {len(index['files'])} chunked files put together", file=sys.stderr)
    print(f"snapshot {snapshot} unpacked into {target}", file=sys.stderr)


def pack_index(chunks):
    """Format 3: chunk id -> every (pack file, offset, stored bytes, codec) it is kept at, from index/*.json.gz."""
    places = {}
    for name in sorted(glob.glob(os.path.join(chunks, "index", "*.json.gz"))):
        try:
            with open(name, "rb") as f:
                packs = json.loads(gzip.decompress(f.read()))["packs"]
        except Exception as err:  # damaged: gzip, JSON or shape
            # Another index object may list the same chunks (a chunk written again is in two packs).
            print(f"skipping {name}: it cannot be read ({err})", file=sys.stderr)
            continue
        for pack in packs:
            path = os.path.join(chunks, "packs", pack["id"][:2], pack["id"] + ".pack")
            for blob in pack["blobs"]:
                places.setdefault(blob["id"], []).append((path, blob["offset"], blob["stored"], blob["codec"]))
    return places


def unzstd(data):
    try:
        from compression import zstd  # Python 3.14
        return zstd.decompress(data)
    except ImportError:
        pass
    try:
        import zstandard
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    except ImportError:
        pass
    if not shutil.which("zstd"):
        sys.exit("this snapshot's chunks are zstd: install the zstd command (apt-get install zstd) or `pip install zstandard`")
    return subprocess.run(["zstd", "-dcq"], input=data, stdout=subprocess.PIPE, check=True).stdout


def decoded(data, codec):
    if codec == "gzip":
        return gzip.decompress(data)
    if codec == "zstd":
        return unzstd(data)
    return data


def read_chunk(ref, chunks, packs):
    """A chunk's plain bytes: from its own file (gzip .gz, zstd .zst, or as is) or from the first of its places in packs that checks out."""
    if ref.get("packed"):
        if ref["id"] not in packs:
            sys.exit(f"chunk {ref['id']} is in no pack index under {chunks}; copy the whole chunks/ folder")
        places = packs[ref["id"]]
    else:
        codec = "zstd" if ref.get("zstd") else "gzip" if ref["gzip"] else "raw"
        places = [(os.path.join(chunks, ref["id"][:2], ref["id"] + {"gzip": ".gz", "zstd": ".zst", "raw": ""}[codec]), 0, None, codec)]
    why = []
    for name, offset, stored, codec in places:
        try:
            with open(name, "rb") as f:
                f.seek(offset)
                data = decoded(f.read() if stored is None else f.read(stored), codec)
        except Exception as err:  # unreadable or not valid in its codec: try the next place
            why.append(f"{name}: {err}")
            continue
        if hashlib.sha256(data).hexdigest() == ref["id"]:
            return data
        why.append(f"{name} at {offset}: sha256 mismatch")
    sys.exit(f"chunk {ref['id']} is damaged wherever it is kept ({'; '.join(why)}); try another snapshot")


def fill(path, refs, chunks, packs):
    """Writes a placeholder's content from its chunks, keeping the mode and times tar gave it."""
    st = os.stat(path, follow_symlinks=False)
    os.chmod(path, 0o600)
    # O_NOFOLLOW: never write through a symbolic link, whatever the archive held.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW), "wb") as out:
        for ref in refs:
            out.write(read_chunk(ref, chunks, packs))
    os.chmod(path, st.st_mode & 0o7777)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print("usage: " + __doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
