"""peernet_proto: the Peernet wire format, peer engine and transports.

No other Peernet layer is imported from here. The codecs are sans-IO: they take and return bytes.
"""

from ._errors import (
    DecodeError,
    EncodeError,
    InvalidFieldError,
    InvalidKeyError,
    LocalProtocolError,
    MessageTooLargeError,
    PeernetError,
    RemoteProtocolError,
    SignatureError,
    TruncatedError,
)
from ._keys import PrivateKey, PublicKey, hash_data, recover_compact

__all__ = [
    "DecodeError",
    "EncodeError",
    "InvalidFieldError",
    "InvalidKeyError",
    "LocalProtocolError",
    "MessageTooLargeError",
    "PeernetError",
    "PrivateKey",
    "PublicKey",
    "RemoteProtocolError",
    "SignatureError",
    "TruncatedError",
    "hash_data",
    "recover_compact",
]
