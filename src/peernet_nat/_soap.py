"""SOAP envelopes for UPnP control actions, sans-IO."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

import attrs

from ._errors import UnsafeXmlError
from ._xml import children_text, find_all, local_name, parse_xml

__all__ = ["SoapFault", "decode_soap_response", "encode_soap_request"]


@attrs.frozen
class SoapFault:
    """A UPnPError: the action was understood and refused."""

    code: int
    description: str


def encode_soap_request(
    service_type: str, action: str, arguments: Sequence[tuple[str, str]] = ()
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a control request."""
    args = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in arguments)
    body = (
        '<?xml version="1.0"?>\r\n'
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
        f'<s:Body><u:{action} xmlns:u="{escape(service_type)}">{args}</u:{action}></s:Body>'
        "</s:Envelope>\r\n"
    ).encode()
    headers = {
        "Content-Type": 'text/xml; charset="utf-8"',
        "SOAPAction": f'"{service_type}#{action}"',
    }
    return headers, body


def decode_soap_response(data: bytes, action: str) -> dict[str, str] | SoapFault:
    """The output arguments of ``action``, or the fault the device answered with."""
    root = parse_xml(data)
    if local_name(root.tag) != "Envelope":
        raise UnsafeXmlError(f"SOAP reply is a {local_name(root.tag)!r}, not an Envelope")
    for error in find_all(root, "UPnPError"):
        fields = children_text(error)
        code = fields.get("errorCode", "")
        if not code.isdigit() or len(code) > 6:
            raise UnsafeXmlError(f"UPnPError with bad errorCode {code[:20]!r}")
        return SoapFault(int(code), fields.get("errorDescription", "")[:200])
    for response in find_all(root, action + "Response"):
        return children_text(response)
    raise UnsafeXmlError(f"SOAP reply holds neither {action}Response nor a fault")
