"""From a chain's file record to the search layer's entry: the glue between peernet_chain and peernet_dht.

Neither layer imports the other, so this lives in the node package, which sees both.
"""

from __future__ import annotations

from peernet_chain import FileRecord, TagType
from peernet_dht import IndexedFile
from peernet_proto import PublicKey

__all__ = ["index_entry"]


def _text(data: bytes) -> str | bytes:
    """UTF-8 text as ``str``; anything else stays ``bytes`` (the keyword extractor drops the bad parts)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _last_tag(record: FileRecord, tag_type: int) -> str | bytes:
    """The data of the last tag of ``tag_type`` (the reference lets the last one win), or ``""``."""
    for tag in reversed(record.tags):
        if tag.type == tag_type:
            return _text(tag.data)
    return ""


def index_entry(
    owner: PublicKey | bytes,
    record: FileRecord,
    *,
    blockchain_version: int = 0,
    block_number: int = 0,
    own: bool = False,
) -> IndexedFile:
    """The search entry of ``record``, a file published in the chain of ``owner``.

    ``owner`` is the chain owner's public key (or its 33-byte compressed form). Name, folder and
    description come from the record's tags, the last of each type winning as in the reference;
    text that is not valid UTF-8 is kept as bytes. ``blockchain_version`` and ``block_number`` say
    where the record was read (a chain that changes version is re-indexed); ``own`` marks files
    of the node's own chain, which a full :class:`~peernet_dht.LocalIndex` never evicts.

    Raises ``ValueError`` if ``owner`` is not a 33-byte compressed key.
    """
    owner_bytes = owner.to_bytes() if isinstance(owner, PublicKey) else bytes(owner)
    return IndexedFile(
        file_id=record.id.bytes,
        owner=owner_bytes,
        name=_last_tag(record, TagType.NAME),
        folder=_last_tag(record, TagType.FOLDER),
        description=_last_tag(record, TagType.DESCRIPTION),
        blockchain_version=blockchain_version,
        block_number=block_number,
        own=own,
        file_hash=record.hash,
        size=record.size,
    )
