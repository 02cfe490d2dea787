import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peernet_nat import (
    HttpError,
    SoapFault,
    UnsafeXmlError,
    UpnpService,
    decode_igd_description,
    decode_soap_response,
    decode_ssdp_response,
    encode_http_request,
    encode_msearch,
    encode_soap_request,
    parse_http_response,
    parse_xml,
)
from peernet_proto import DecodeError

LOCATION = "http://192.168.1.1:5000/rootDesc.xml"
SSDP_REPLY = (
    b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
    b"ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
    b"USN: uuid:1::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\n"
    b"SERVER: Debian UPnP/1.1 MiniUPnPd/2.3.1\r\nLOCATION: " + LOCATION.encode() + b"\r\n\r\n"
)


def description(services: str, url_base: str = "") -> bytes:
    return f"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">{url_base}<device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType>
<deviceList><device><deviceList><device><serviceList>{services}</serviceList></device></deviceList>
</device></deviceList></device></root>""".encode()


def service(kind: str, url: str) -> str:
    return (
        f"<service><serviceType>urn:schemas-upnp-org:service:{kind}</serviceType>"
        f"<controlURL>{url}</controlURL></service>"
    )


def soap_body(inner: str) -> bytes:
    return (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        f"<s:Body>{inner}</s:Body></s:Envelope>"
    ).encode()


def test_msearch_v4_and_v6() -> None:
    v4 = encode_msearch("ssdp:all")
    assert v4.startswith(b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n")
    assert b'MAN: "ssdp:discover"' in v4 and v4.endswith(b"ST: ssdp:all\r\n\r\n")
    assert b"HOST: [FF02::C]:1900" in encode_msearch("ssdp:all", ipv6=True)


def test_ssdp_reply_decodes() -> None:
    reply = decode_ssdp_response(SSDP_REPLY)
    assert reply.location == LOCATION
    assert reply.search_target.endswith("InternetGatewayDevice:1")
    assert "MiniUPnPd" in reply.server


@pytest.mark.parametrize(
    "reply",
    [b"", b"NOTIFY * HTTP/1.1\r\n\r\n", SSDP_REPLY.replace(b"200 OK", b"404 Not Found"),
     SSDP_REPLY.replace(b"http://", b"file://"), SSDP_REPLY.replace(b"LOCATION", b"X-LOC"),
     SSDP_REPLY + b"X" * 3000, SSDP_REPLY.replace(b"EXT:", b"no colon here")],
)
def test_bad_ssdp_replies_are_decode_errors(reply: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_ssdp_response(reply)


def test_igd_v2_prefers_ip_connection_and_finds_v6_firewall() -> None:
    desc = description(
        service("WANPPPConnection:1", "/ctl/PPP") + service("WANIPConnection:2", "/ctl/IPConn")
        + service("WANIPv6FirewallControl:1", "/ctl/IP6FCtl")
    )
    igd = decode_igd_description(desc, LOCATION)
    assert igd.connection == UpnpService(
        "urn:schemas-upnp-org:service:WANIPConnection:2", "http://192.168.1.1:5000/ctl/IPConn"
    )
    assert igd.connection.version == 2
    assert igd.firewall6 is not None and igd.firewall6.control_url.endswith("/ctl/IP6FCtl")


def test_igd_v1_ppp_and_url_base() -> None:
    desc = description(service("WANPPPConnection:1", "ctl/ppp"), "<URLBase>http://192.168.1.1:49000/</URLBase>")
    igd = decode_igd_description(desc, LOCATION)
    assert igd.connection is not None
    assert igd.connection.control_url == "http://192.168.1.1:49000/ctl/ppp"
    assert igd.firewall6 is None


def test_igd_control_url_on_another_host_is_ignored() -> None:
    desc = description(service("WANIPConnection:1", "http://10.9.9.9/steal"))
    assert decode_igd_description(desc, LOCATION).connection is None


@pytest.mark.parametrize("control", ["http://[::1/x", "http://h:99999/x", "ftp://192.168.1.1/x"])
def test_igd_bad_control_urls_are_skipped(control: str) -> None:
    desc = description(service("WANIPConnection:1", control))
    assert decode_igd_description(desc, LOCATION).connection is None


def test_ssdp_location_with_broken_url() -> None:
    with pytest.raises(HttpError):
        decode_ssdp_response(SSDP_REPLY.replace(LOCATION.encode(), b"http://[::1"))


def test_entity_expansion_is_refused() -> None:
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
<root>&lol2;</root>"""
    with pytest.raises(UnsafeXmlError):
        parse_xml(bomb)
    with pytest.raises(UnsafeXmlError):
        decode_igd_description(bomb, LOCATION)
    external = b'<?xml version="1.0"?><!doctype r SYSTEM "file:///etc/passwd"><r/>'
    with pytest.raises(UnsafeXmlError):
        parse_xml(external)


def test_oversize_and_malformed_xml_are_refused() -> None:
    with pytest.raises(UnsafeXmlError):
        parse_xml(b"<r>" + b"x" * 70000 + b"</r>")
    for bad in (b"<r>", b"\xff\xfe<\x00r\x00/>\x00", b"not xml"):
        with pytest.raises(UnsafeXmlError):
            parse_xml(bad)


def test_soap_request_escapes_arguments() -> None:
    headers, body = encode_soap_request(
        "urn:schemas-upnp-org:service:WANIPConnection:1", "AddPortMapping",
        [("NewPortMappingDescription", "<&>")],
    )
    assert headers["SOAPAction"] == '"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"'
    assert b"<NewPortMappingDescription>&lt;&amp;&gt;</NewPortMappingDescription>" in body
    parse_xml(body)


def test_soap_response_and_fault() -> None:
    ok = soap_body('<u:GetExternalIPAddressResponse xmlns:u="urn:x">'
                   "<NewExternalIPAddress>11.0.0.1</NewExternalIPAddress></u:GetExternalIPAddressResponse>")
    assert decode_soap_response(ok, "GetExternalIPAddress") == {"NewExternalIPAddress": "11.0.0.1"}
    fault = soap_body(
        "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
        '<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>725</errorCode>'
        "<errorDescription>OnlyPermanentLeasesSupported</errorDescription></UPnPError></detail></s:Fault>"
    )
    assert decode_soap_response(fault, "AddPortMapping") == SoapFault(725, "OnlyPermanentLeasesSupported")


@pytest.mark.parametrize(
    "body",
    [b"<html/>", soap_body("<u:OtherResponse xmlns:u='urn:x'/>"),
     soap_body("<UPnPError><errorCode>abc</errorCode></UPnPError>")],
)
def test_bad_soap_responses(body: bytes) -> None:
    with pytest.raises(UnsafeXmlError):
        decode_soap_response(body, "GetExternalIPAddress")


def test_http_request_and_responses() -> None:
    request = encode_http_request("POST", "http://[fd00:1::1]:5000/ctl", {"SOAPAction": "x"}, b"abc")
    assert request.startswith(b"POST /ctl HTTP/1.1\r\nHost: [fd00:1::1]:5000\r\n")
    assert request.endswith(b"Content-Length: 3\r\n\r\nabc")
    with pytest.raises(HttpError):
        encode_http_request("GET", "http://h/", {"X": "a\r\nInjected: 1"})
    with pytest.raises(HttpError):
        encode_http_request("GET", "https://h/")
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    assert parse_http_response(head + b"hello") is not None
    assert parse_http_response(head + b"he", complete=False) is None
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;x\r\n!\r\n0\r\n\r\n"
    response = parse_http_response(chunked)
    assert response is not None and response.body == b"hello!"
    for bad in (head + b"he", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", b"garbage\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        with pytest.raises(HttpError):
            parse_http_response(bad)


@given(st.binary(max_size=600))
def test_fuzz_ssdp(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_ssdp_response(data)


@given(st.one_of(st.binary(max_size=600), st.text(max_size=300).map(str.encode)))
def test_fuzz_xml_decoders(data: bytes) -> None:
    for decode in (lambda: decode_igd_description(data, LOCATION),
                   lambda: decode_soap_response(data, "AddPortMapping")):
        with contextlib.suppress(DecodeError):
            decode()


@given(st.binary(max_size=600), st.booleans())
def test_fuzz_http(data: bytes, complete: bool) -> None:
    try:
        parse_http_response(b"HTTP/1.1 200 OK\r\n" + data, complete=complete)
        parse_http_response(data, complete=complete)
    except DecodeError:
        pass
