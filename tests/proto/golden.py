"""Our message values rendered in the JSON shape the reference's vector generator uses."""

from __future__ import annotations

from typing import Any

from peernet_proto import (
    Announcement,
    EmbeddedFile,
    Hash2Peer,
    InfoStoreFile,
    PeerRecord,
    PublicKey,
    Response,
    Transfer,
    Traverse,
)
from peernet_proto.wire import GetBlock


def announcement(a: Announcement) -> dict[str, Any]:
    return {
        "actions": a.actions,
        "blockchain_height": a.blockchain_height,
        "blockchain_version": a.blockchain_version,
        "features": a.features,
        "find_data_keys": [k.hex() for k in a.find_value],
        "find_peer_keys": [k.hex() for k in a.find_peer],
        "info_store_files": [{"hash": f.key.hex(), "size": f.size, "type": f.type} for f in a.info_store],
        "port_external": a.port_external,
        "port_internal": a.port_internal,
        "protocol": a.protocol,
        "user_agent": a.user_agent,
    }


def peer_record(r: PeerRecord) -> dict[str, Any]:
    return {
        "features": r.features,
        "ipv4": str(r.ipv4),
        "ipv4_bytes": r.ipv4.packed.hex(),
        "ipv4_port": r.ipv4_port,
        "ipv4_port_reported_external": r.ipv4_port_external,
        "ipv4_port_reported_internal": r.ipv4_port_internal,
        "ipv6": str(r.ipv6),
        "ipv6_bytes": r.ipv6.packed.hex(),
        "ipv6_port": r.ipv6_port,
        "ipv6_port_reported_external": r.ipv6_port_external,
        "ipv6_port_reported_internal": r.ipv6_port_internal,
        "last_contact_seconds": r.last_contact,
        "node_id": r.node_id.hex(),
        "public_key": r.public_key.hex(),
    }


def response(r: Response) -> dict[str, Any]:
    return {
        "actions": r.actions,
        "blockchain_height": r.blockchain_height,
        "blockchain_version": r.blockchain_version,
        "features": r.features,
        "files_embed": [{"data": f.data.hex(), "id": f.key.hex()} for f in r.embedded_files],
        "hash2peers": [
            {
                "closest": [peer_record(p) for p in h.closest],
                "id": h.key.hex(),
                "is_last": h.is_last,
                "storing": [peer_record(p) for p in h.storing],
            }
            for h in r.hash2peers
        ],
        "hashes_not_found": [k.hex() for k in r.hashes_not_found],
        "is_last": r.sequence_last,
        "port_external": r.port_external,
        "port_internal": r.port_internal,
        "protocol": r.protocol,
        "user_agent": r.user_agent,
    }


def transfer(t: Transfer) -> dict[str, Any]:
    return {
        "control": t.control,
        "data": t.data.hex(),
        "hash": t.file_hash.hex(),
        "is_last": t.ends_transfer,
        "limit": t.limit,
        "offset": t.offset,
        "transfer_id": str(t.transfer_id),
        "transfer_protocol": t.transfer_protocol,
    }


def get_block(g: GetBlock) -> dict[str, Any]:
    return {
        "blockchain_public_key": g.blockchain_key.hex(),
        "control": g.control,
        "data": g.data.hex(),
        "is_last": g.ends_transfer,
        "limit_block_count": g.limit_block_count,
        "max_block_size": g.max_block_size,
        "target_blocks": [{"limit": b.limit, "offset": b.offset} for b in g.ranges],
        "transfer_id": str(g.transfer_id),
    }


def traverse(t: Traverse) -> dict[str, Any]:
    return {
        "authorized_relay_peer": t.relay.hex(),
        "embedded_packet": t.embedded_packet.hex(),
        "expires_unix": t.expires,
        "ipv4": str(t.ipv4),
        "ipv4_bytes": t.ipv4.packed.hex(),
        "ipv6": str(t.ipv6),
        "ipv6_bytes": t.ipv6.packed.hex(),
        "port_ipv4": t.ipv4_port,
        "port_ipv4_reported_external": t.ipv4_port_external,
        "port_ipv6": t.ipv6_port,
        "port_ipv6_reported_external": t.ipv6_port_external,
        "signer_public_key": t.signer.hex(),
        "target_peer": t.target.hex(),
    }


def record_from_json(p: dict[str, Any]) -> PeerRecord:
    return PeerRecord(
        PublicKey.from_hex(p["public_key"]),
        p["ipv4"] or None,
        p["ipv4_port"],
        p["ipv4_port_reported_internal"],
        p["ipv4_port_reported_external"],
        p["ipv6"] or None,
        p["ipv6_port"],
        p["ipv6_port_reported_internal"],
        p["ipv6_port_reported_external"],
        p["last_contact_seconds"],
        p["features"],
    )


def announcement_from_inputs(e: dict[str, Any]) -> Announcement:
    return Announcement(
        features=e["features"],
        blockchain_height=e["blockchain_height"],
        blockchain_version=e["blockchain_version"],
        user_agent=e["user_agent"] if e["send_user_agent"] else "",
        find_self=e["find_self"],
        find_peer=[bytes.fromhex(h) for h in e["find_peer"]],
        find_value=[bytes.fromhex(h) for h in e["find_value"]],
        info_store=[InfoStoreFile(bytes.fromhex(f["hash"]), f["size"], f["type"]) for f in e["info_store_files"]],
    )


def response_from_inputs(e: dict[str, Any]) -> Response:
    return Response(
        features=e["features"],
        blockchain_height=e["blockchain_height"],
        blockchain_version=e["blockchain_version"],
        user_agent=e["user_agent"] if e["send_user_agent"] else "",
        hash2peers=[
            Hash2Peer(
                bytes.fromhex(h["id"]),
                [record_from_json(p) for p in h["storing"]],
                [record_from_json(p) for p in h["closest"]],
            )
            for h in e["hash2peers"]
        ],
        embedded_files=[EmbeddedFile(bytes.fromhex(f["id"]), bytes.fromhex(f["data"])) for f in e["files_embed"]],
        hashes_not_found=[bytes.fromhex(k) for k in e["hashes_not_found"]],
    )
