"""XMP packets parsed safely into a flat dict of ``prefix:Name`` -> text, list or list of dicts.

Pillow's own ``getxmp()`` needs defusedxml (not a dependency here), so the packet is parsed with
the standard library after refusing any DTD: no ``<!DOCTYPE``/``<!ENTITY`` means no entity
expansion (billion laughs) and no external entity fetches, whatever the XML parser's defaults.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from verify.metadata.parsing import clean_text, parse_exif_datetime, raw_text, xmp_gps_to_decimal
from verify.models import GPS, Metadata

MAX_PACKET_BYTES = 4 * 1024 * 1024
MAX_ELEMENTS = 20_000
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

PREFIXES = {
    "adobe:ns:meta/": "x",
    RDF: "rdf",
    "http://www.w3.org/XML/1998/namespace": "xml",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://cipa.jp/exif/1.0/": "exifEX",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/camera-raw-settings/1.0/": "crs",
    "http://ns.adobe.com/lightroom/1.0/": "lr",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.adobe.com/xmp/1.0/DynamicMedia/": "xmpDM",
    "http://ns.google.com/photos/1.0/camera/": "GCamera",
    "http://ns.google.com/photos/1.0/image/": "GImage",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://ns.adobe.com/pdf/1.3/": "pdf",
}

_STARTS = (re.compile(rb"<x:xmpmeta[\s>]"), re.compile(rb"<rdf:RDF[\s>]"))
_ENDS = (b"</x:xmpmeta>", b"</rdf:RDF>")


class XMPError(ValueError):
    """The XMP packet cannot be read; the message says why, in plain words."""


def find_packet(data: bytes) -> bytes | None:
    """The first XMP packet in a byte buffer (for containers Pillow does not expose it from).

    Linear in the buffer: one search for the first opening tag, one for its closing tag. (A lazy
    ``<x:xmpmeta.*?</x:xmpmeta>`` regex rescans to the end from every opening tag, so a file of
    repeated openings without a close took 26 s for 176 KB and hours for the 8 MB scanned here.)
    """
    found = []
    for start_tag, end_tag in zip(_STARTS, _ENDS, strict=True):
        m = start_tag.search(data)
        if m is not None:
            end = data.find(end_tag, m.start())
            if end >= 0:
                found.append((m.start(), end + len(end_tag)))
    if not found:
        return None
    start, end = min(found)  # the earliest packet, as a search for either form would find
    return data[start:end]


def _qname(tag: str) -> str:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        prefix = PREFIXES.get(uri) or uri.rstrip("/#").rsplit("/", 1)[-1] or "ns"
        return f"{prefix}:{local}"
    return tag


def parse_xmp(packet: bytes | str) -> dict[str, Any]:
    """Parse an XMP packet. Raises ``XMPError`` for DTDs, oversize or malformed XML."""
    data = packet.encode("utf-8", "replace") if isinstance(packet, str) else bytes(packet)
    if len(data) > MAX_PACKET_BYTES:
        raise XMPError("the XMP packet is too large to read safely")
    upper = data.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise XMPError("the XMP packet declares a DTD or entities, which are refused for safety")
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        start = data.find(b"<rdf:RDF")
    if start < 0:
        start = data.find(b"<")
    data = data[max(start, 0):]
    # Packets wrap in <?xpacket?> processing instructions and sometimes trail padding or junk.
    for end_tag in (b"</x:xmpmeta>", b"</rdf:RDF>"):
        end = data.rfind(end_tag)
        if end >= 0:
            data = data[: end + len(end_tag)]
            break
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise XMPError(f"the XMP packet is not well-formed XML ({exc})") from None
    count = sum(1 for _ in root.iter())
    if count > MAX_ELEMENTS:
        raise XMPError("the XMP packet has too many elements to read safely")
    out: dict[str, Any] = {}
    for desc in root.iter(f"{{{RDF}}}Description"):
        _description(desc, out)
    return out


def _description(desc: ET.Element, out: dict[str, Any]) -> None:
    for attr, value in desc.attrib.items():
        name = _qname(attr)
        if name.startswith("rdf:"):
            continue
        text = clean_text(value)
        if text is not None:
            out.setdefault(name, text)
    for child in desc:
        name = _qname(child.tag)
        value = _value(child, 0)
        if value not in (None, "", [], {}):
            out.setdefault(name, value)


def _value(el: ET.Element, depth: int) -> Any:
    if depth > 8:
        return None
    resource = el.get(f"{{{RDF}}}resource")
    if resource is not None:
        return clean_text(resource)
    children = list(el)
    if not children:
        if el.attrib and any(not _qname(a).startswith(("rdf:", "xml:")) for a in el.attrib):
            return {_qname(a): clean_text(v) for a, v in el.attrib.items() if not _qname(a).startswith(("rdf:", "xml:"))}
        return clean_text(el.text or "")
    first = children[0]
    if first.tag in (f"{{{RDF}}}Seq", f"{{{RDF}}}Bag", f"{{{RDF}}}Alt"):
        items = [_item(li, depth + 1) for li in first.findall(f"{{{RDF}}}li")]
        items = [i for i in items if i not in (None, "", {})]
        if first.tag == f"{{{RDF}}}Alt":
            return items[0] if items else None
        return items
    if first.tag == f"{{{RDF}}}Description" or el.get(f"{{{RDF}}}parseType") == "Resource":
        return _struct(first if first.tag == f"{{{RDF}}}Description" else el, depth + 1)
    return clean_text(el.text or "")


def _item(li: ET.Element, depth: int) -> Any:
    if list(li) or any(not _qname(a).startswith(("rdf:", "xml:")) for a in li.attrib):
        if li.get(f"{{{RDF}}}parseType") == "Resource" or any(not _qname(a).startswith(("rdf:", "xml:")) for a in li.attrib):
            return _struct(li, depth)
        inner = list(li)[0]
        if inner.tag == f"{{{RDF}}}Description":
            return _struct(inner, depth)
        return _value(li, depth)
    return clean_text(li.text or "")


def _struct(el: ET.Element, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr, value in el.attrib.items():
        name = _qname(attr)
        if not name.startswith(("rdf:", "xml:")):
            out[name] = clean_text(value)
    for child in el:
        value = _value(child, depth + 1)
        if value not in (None, ""):
            out[_qname(child.tag)] = value
    return out


def history(xmp: dict[str, Any]) -> list[dict[str, str]]:
    """``xmpMM:History`` as a list of {action, softwareAgent, when, changed} (Photoshop, Lightroom)."""
    events = xmp.get("xmpMM:History")
    if not isinstance(events, list):
        return []
    out = []
    for ev in events[:200]:
        if isinstance(ev, dict):
            out.append({k.split(":", 1)[-1]: str(v) for k, v in ev.items() if v is not None and not isinstance(v, dict | list)})
    return out


def set_captured(meta: Metadata, iso: str, source: str) -> None:
    meta.captured_at = iso
    meta.captured_at_has_offset = len(iso) > 19 and iso[-6] in "+-" and iso[-3] == ":"
    meta.captured_at_source = source


def apply(meta: Metadata) -> None:
    """Fill what EXIF/QuickTime left empty from XMP, and record XMP dates (never overwrite)."""
    x = meta.xmp
    for key, value in x.items():
        if isinstance(value, str | int | float):
            meta.raw[f"XMP:{key}"] = raw_text(value)
        else:
            meta.raw[f"XMP:{key}"] = raw_text(repr(value))
    for attr, key in (("make", "tiff:Make"), ("model", "tiff:Model")):
        if not getattr(meta, attr) and isinstance(x.get(key), str):
            setattr(meta, attr, clean_text(x[key], 300))
    if not meta.software:
        tool = x.get("tiff:Software") or x.get("xmp:CreatorTool")
        meta.software = clean_text(tool, 300) if isinstance(tool, str) else None
    if meta.orientation is None and isinstance(x.get("tiff:Orientation"), str):
        if x["tiff:Orientation"].strip().isdigit() and 1 <= int(x["tiff:Orientation"]) <= 8:
            meta.orientation = int(x["tiff:Orientation"])
    for label, key in (
        ("XMP DateTimeOriginal", "exif:DateTimeOriginal"),
        ("XMP CreateDate", "xmp:CreateDate"),
        ("XMP DateCreated", "photoshop:DateCreated"),
        ("XMP ModifyDate", "xmp:ModifyDate"),
        ("XMP MetadataDate", "xmp:MetadataDate"),
    ):
        value = x.get(key)
        if not isinstance(value, str):
            continue
        try:
            parsed = parse_exif_datetime(value)
        except ValueError as exc:
            meta.errors.append(f"{label}: {exc}.")
            continue
        if parsed:
            meta.dates[label] = parsed[0]
    if not meta.captured_at:
        for label in ("XMP DateTimeOriginal", "XMP DateCreated", "XMP CreateDate"):
            if label in meta.dates:
                set_captured(meta, meta.dates[label], label)
                break
    if meta.gps is None and isinstance(x.get("exif:GPSLatitude"), str) and isinstance(x.get("exif:GPSLongitude"), str):
        try:
            lat = xmp_gps_to_decimal(x["exif:GPSLatitude"], is_lat=True)
            lon = xmp_gps_to_decimal(x["exif:GPSLongitude"], is_lat=False)
        except (ValueError, ZeroDivisionError) as exc:
            meta.errors.append(f"XMP GPS position: {exc}.")
        else:
            alt = None
            if isinstance(x.get("exif:GPSAltitude"), str):
                try:
                    num, _, den = x["exif:GPSAltitude"].partition("/")
                    alt = float(num) / float(den or 1)
                    if x.get("exif:GPSAltitudeRef") == "1":
                        alt = -alt
                except (ValueError, ZeroDivisionError):
                    alt = None
            meta.gps = GPS(lat, lon, alt)
            meta.gps_source = "XMP"
