"""A user's blockchain: store files in the warehouse, publish them in the chain, validate, export.

Shows the chain layer on its own (plus `peernet.index_entry`, which turns a published file into a
search entry): a `LocalChain` in LMDB signed with the user's key, file records built from files
imported into the content-addressed `Warehouse`, a profile field, deleting a file (the chain is
rewritten under a new version), and checking the exported raw blocks the way any other peer
checks a chain it downloads.

    python examples/chain_files.py [DIRECTORY]     # default: a temporary directory
"""

from __future__ import annotations

import io
import sys
import tempfile
import uuid
from pathlib import Path

from peernet import index_entry
from peernet_chain import (
    ChainValidationError,
    FileFormat,
    FileRecord,
    FileTag,
    FileType,
    LocalChain,
    ProfileField,
    ProfileFieldType,
    StoredFile,
    TagType,
    Warehouse,
    validate_chain,
)
from peernet_proto import PrivateKey

NOW = 1_700_000_000  # record dates are Unix seconds; a fixed clock keeps the output stable


def file_record(stored: StoredFile, name: str, folder: str, file_type: int, file_format: int) -> FileRecord:
    """The record that publishes a warehouse file: content hash, merkle root, type, format, tags."""
    return FileRecord(
        hash=stored.hash, id=uuid.uuid4(), merkle_root=stored.merkle_root, fragment_size=stored.fragment_size,
        file_type=file_type, file_format=file_format, size=stored.size,
        tags=[FileTag(TagType.NAME, name.encode()), FileTag(TagType.FOLDER, folder.encode())],
    )


def run(base: Path) -> None:
    key = PrivateKey.generate()
    warehouse = Warehouse(base / "warehouse")
    notes = warehouse.import_stream(io.BytesIO(b"Remember the milk.\n"))
    video = warehouse.import_stream(io.BytesIO(bytes(range(256)) * 4096), size_hint=1 << 20)  # 1 MiB
    print(f"warehouse: {len(list(warehouse))} files; the 1 MiB file has {video.fragment_size}-byte fragments")

    with LocalChain(base / "chain", key) as chain:
        chain.write_profile([ProfileField(ProfileFieldType.NAME, b"Example User")], NOW)
        records = [
            file_record(notes, "notes.txt", "documents", FileType.TEXT, FileFormat.TEXT),
            file_record(video, "HolidayVideo.mp4", "videos/2024", FileType.VIDEO, FileFormat.VIDEO),
        ]
        state = chain.add_files(records, NOW)
        print(f"chain: height {state.height}, version {state.version}")
        for file in chain.files():
            print(f"  {file.tags[0].data.decode():<18} {FileType.name_of(file.file_type):<6} {file.size:>8} bytes")
        print(f"profile name: {chain.profile()[ProfileFieldType.NAME].decode()}")

        state = chain.delete_files([records[0].id])
        print(f"after deleting notes.txt: height {state.height}, version {state.version}")

        # Export: the raw blocks are what peers exchange. Write them out, then check them as a peer would.
        version, raws = chain.version, chain.snapshot()[1]
    export = base / "export"
    export.mkdir()
    for number, raw in enumerate(raws):
        (export / f"block-{number:04}.bin").write_bytes(raw)
    received = [path.read_bytes() for path in sorted(export.glob("block-*.bin"))]
    blocks = validate_chain(key.public_key, version, received, expected_height=len(received))
    print(f"exported {len(received)} blocks; valid for the owner's key: {len(blocks) == len(received)}")
    other = PrivateKey.generate().public_key
    try:
        validate_chain(other, version, received)
    except ChainValidationError as exc:  # the blocks are not signed by that key
        print(f"as someone else's chain: rejected ({exc.reason})")

    # What a search index keeps of each published file.
    for block in blocks:
        for file in block.files():
            entry = index_entry(key.public_key, file, blockchain_version=version, block_number=block.number)
            print(f"search entry: {entry.name!r} in {entry.folder!r}, {entry.size} bytes")


def main() -> None:
    if len(sys.argv) > 1:
        run(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as directory:
            run(Path(directory))


if __name__ == "__main__":
    main()
