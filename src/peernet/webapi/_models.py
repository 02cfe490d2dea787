"""Response shapes for the generated OpenAPI document (spec webapi.md §3). Handlers build plain
dicts with exactly these keys; the models only describe them."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "AccountInfo",
    "BlockRecordRaw",
    "BlockStatus",
    "BlockchainBlock",
    "BlockchainHeader",
    "ConfigInfo",
    "FileFormat",
    "FileList",
    "FileMetadata",
    "FileModel",
    "PeerInfo",
    "ProfileData",
    "ProfileField",
    "ShutdownStatus",
    "StatusInfo",
    "UploadProgress",
    "UploadStatus",
    "WarehouseResult",
]


class StatusInfo(BaseModel):
    """apiResponseStatus."""

    status: int
    isconnected: bool
    countpeerlist: int
    countnetwork: int


class PeerInfo(BaseModel):
    """apiResponsePeerInfo: IDs in base64."""

    peerid: str
    nodeid: str
    geoip: str
    useragent: str
    isroot: bool
    blockchainheight: int
    blockchainversion: int
    connections: list[str]  # remote endpoints; an addition to the Go fields


class ConfigInfo(BaseModel):
    """apiResponseConfig."""

    blockSize: int


class AccountInfo(BaseModel):
    """apiResponsePeerSelf: IDs in lowercase hex."""

    peerid: str
    nodeid: str


class BlockStatus(BaseModel):
    """apiBlockchainBlockStatus."""

    status: int
    height: int
    version: int


class BlockchainHeader(BaseModel):
    """apiBlockchainHeader."""

    peerid: str
    version: int
    height: int


class BlockRecordRaw(BaseModel):
    """apiBlockRecordRaw."""

    type: int = Field(ge=0, le=255)
    data: str | None


class FileMetadata(BaseModel):
    """apiFileMetadata."""

    type: int
    name: str
    text: str
    blob: str | None
    date: str
    number: int


class FileModel(BaseModel):
    """apiFile."""

    id: str
    hash: str | None
    type: int
    format: int
    size: int
    folder: str
    name: str
    description: str
    date: str
    nodeid: str | None
    metadata: list[FileMetadata] | None
    username: str


class FileList(BaseModel):
    """apiBlockAddFiles."""

    files: list[FileModel] | None
    status: int


class ProfileField(BaseModel):
    """apiBlockRecordProfile."""

    type: int
    text: str
    blob: str | None


class ProfileData(BaseModel):
    """apiProfileData."""

    fields: list[ProfileField] | None
    status: int


class BlockchainBlock(BaseModel):
    """apiBlockchainBlock; ``recordsdecoded`` holds apiFile and apiBlockRecordProfile objects."""

    status: int
    peerid: str
    lastblockhash: str | None
    blockchainversion: int
    blocknumber: int
    recordsraw: list[BlockRecordRaw] | None
    recordsdecoded: list[FileModel | ProfileField] | None


class WarehouseResult(BaseModel):
    """WarehouseResult."""

    status: int
    hash: str | None


class UploadProgress(BaseModel):
    """Progress of an upload."""

    totalsize: int
    uploadedsize: int
    percentage: float


class UploadStatus(BaseModel):
    """UploadStatus."""

    apistatus: int
    id: str
    uploadstatus: int
    progress: UploadProgress


class FileFormat(BaseModel):
    """apiResponseFileFormat."""

    status: int
    filetype: int
    fileformat: int


class ShutdownStatus(BaseModel):
    """apiShutdownStatus."""

    status: int
