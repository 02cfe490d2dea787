"""hypothesis strategies for every message type."""

from __future__ import annotations

import ipaddress
import uuid

from hypothesis import strategies as st

from peernet_proto import (
    Announcement,
    Chat,
    EmbeddedFile,
    Hash2Peer,
    InfoStoreFile,
    LocalDiscovery,
    PeerRecord,
    Ping,
    Pong,
    PrivateKey,
    Response,
    Transfer,
    Traverse,
)
from peernet_proto.wire import BlockRange, GetBlock

# A fixed pool of keys: generating keys per example would dominate the run time.
KEYS = [PrivateKey((i + 1).to_bytes(32, "big")) for i in range(8)]
PUBLIC_KEYS = [k.public_key for k in KEYS]

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 2**64 - 1)
keys32 = st.binary(min_size=32, max_size=32)
private_keys = st.sampled_from(KEYS)
public_keys = st.sampled_from(PUBLIC_KEYS)
user_agents = st.text(max_size=40) | st.text(min_size=200, max_size=300)

ipv4 = st.builds(ipaddress.IPv4Address, u32)
# IPv4-mapped IPv6 addresses are rejected by the format.
ipv6 = st.builds(ipaddress.IPv6Address, st.integers(0, 2**128 - 1)).filter(lambda a: a.ipv4_mapped is None)

peer_records = st.builds(
    PeerRecord,
    public_key=public_keys,
    ipv4=ipv4,
    ipv4_port=u16,
    ipv4_port_internal=u16,
    ipv4_port_external=u16,
    ipv6=ipv6,
    ipv6_port=u16,
    ipv6_port_internal=u16,
    ipv6_port_external=u16,
    last_contact=u32,
    features=st.integers(0, 0x7F),
)

_announcement_fields = dict(
    features=u8,
    blockchain_height=u64,
    blockchain_version=u64,
    user_agent=user_agents,
    find_self=st.booleans(),
    find_peer=st.lists(keys32, max_size=6),
    find_value=st.lists(keys32, max_size=6),
    info_store=st.lists(st.builds(InfoStoreFile, keys32, u64, u8), max_size=4),
    port_internal=u16,
    port_external=u16,
    protocol=st.integers(0, 15),
    reserved_actions=st.sampled_from([0, 0x10, 0xF0]),
    extension=st.binary(max_size=40),
)
announcements = st.builds(Announcement, **_announcement_fields)
local_discoveries = st.builds(LocalDiscovery, **_announcement_fields)

responses = st.builds(
    Response,
    features=u8,
    blockchain_height=u64,
    blockchain_version=u64,
    user_agent=user_agents,
    hash2peers=st.lists(
        st.builds(Hash2Peer, keys32, st.lists(peer_records, max_size=3), st.lists(peer_records, max_size=3)),
        max_size=3,
    ),
    embedded_files=st.lists(st.builds(EmbeddedFile.of, st.binary(max_size=200)), max_size=3),
    hashes_not_found=st.lists(keys32, max_size=5),
    sequence_last=st.booleans(),
    port_internal=u16,
    port_external=u16,
    protocol=st.integers(0, 15),
    extension=st.binary(max_size=40),
)

transfers = st.one_of(
    st.builds(
        Transfer, st.just(0), keys32, u8, u64, u64, st.builds(uuid.UUID, bytes=st.binary(min_size=16, max_size=16))
    ),
    st.builds(Transfer, st.just(2), keys32, u8, data=st.binary(max_size=300)),
    st.builds(Transfer, st.sampled_from([1, 3, 7, 255]), keys32, u8),
)
get_blocks = st.one_of(
    st.builds(
        GetBlock,
        st.just(0),
        public_keys,
        u64,
        u64,
        st.builds(uuid.UUID, bytes=st.binary(min_size=16, max_size=16)),
        st.lists(st.builds(BlockRange, u64, u64), min_size=1, max_size=8),
    ),
    st.builds(GetBlock, st.just(2), public_keys, data=st.binary(max_size=300)),
    st.builds(GetBlock, st.sampled_from([1, 3, 4, 9]), public_keys),
)


@st.composite
def traverses(draw: st.DrawFn) -> Traverse:
    signer = draw(private_keys)
    target, relay = draw(st.lists(public_keys, min_size=2, max_size=2, unique=True))
    message = Traverse.create(signer, target, relay, draw(u64), draw(st.binary(max_size=300)))
    return message.with_addresses(
        ipv4=draw(ipv4),
        ipv4_port=draw(u16),
        ipv4_port_external=draw(u16),
        ipv6=draw(ipv6),
        ipv6_port=draw(u16),
        ipv6_port_external=draw(u16),
    )


messages = st.one_of(
    announcements,
    local_discoveries,
    responses,
    st.just(Ping()),
    st.just(Pong()),
    traverses(),
    get_blocks,
    transfers,
    st.builds(Chat, st.text(max_size=100)),
)
