"""The metadata reader on files made here with known metadata, and on broken ones."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import piexif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from factories import jpeg_bytes, photo, video, write
from verify import metadata
from verify.config import Settings, load_settings
from verify.media import Sniffed, sniff_file

JPEG = Sniffed("image", "image/jpeg")


@pytest.fixture
def cfg(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


def _rat(x: float, den: int = 10000) -> tuple[int, int]:
    return (round(x * den), den)


def _dms(v: float) -> tuple[tuple[int, int], ...]:
    v = abs(v)
    d = int(v)
    m = int((v - d) * 60)
    s = ((v - d) * 60 - m) * 60
    return ((d, 1), (m, 1), _rat(s))


def _thumb_jpeg(im: Image.Image) -> bytes:
    t = im.copy()
    t.thumbnail((160, 120))
    buf = io.BytesIO()
    t.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def camera_jpeg(path: Path, picture: Image.Image, thumbnail: Image.Image | None = None, **extra: object) -> Path:
    """A JPEG with the EXIF a phone writes, through piexif (an independent writer)."""
    exif = {
        "0th": {
            piexif.ImageIFD.Make: b"Canon",
            piexif.ImageIFD.Model: b"Canon EOS 5D Mark IV",
            piexif.ImageIFD.Software: b"Firmware 1.2.3",
            piexif.ImageIFD.Orientation: 6,
            piexif.ImageIFD.DateTime: b"2024:03:01 10:00:00",
        },
        "Exif": {
            piexif.ExifIFD.DateTimeOriginal: b"2024:02:29 23:59:58",
            piexif.ExifIFD.SubSecTimeOriginal: b"042",
            piexif.ExifIFD.OffsetTimeOriginal: b"+05:30",
            piexif.ExifIFD.DateTimeDigitized: b"2024:02:29 23:59:58",
            piexif.ExifIFD.LensMake: b"Canon",
            piexif.ExifIFD.LensModel: b"EF24-70mm f/2.8L II USM",
            piexif.ExifIFD.BodySerialNumber: b"012345678901",
        },
        "GPS": {
            piexif.GPSIFD.GPSLatitudeRef: b"S",
            piexif.GPSIFD.GPSLatitude: _dms(33.856784),
            piexif.GPSIFD.GPSLongitudeRef: b"E",
            piexif.GPSIFD.GPSLongitude: _dms(151.215297),
            piexif.GPSIFD.GPSAltitudeRef: 1,
            piexif.GPSIFD.GPSAltitude: (125, 10),
            piexif.GPSIFD.GPSTimeStamp: ((18, 1), (29, 1), (58, 1)),
            piexif.GPSIFD.GPSDateStamp: b"2024:02:29",
            piexif.GPSIFD.GPSImgDirectionRef: b"T",
            piexif.GPSIFD.GPSImgDirection: (2705, 10),
        },
        "1st": {},
        "thumbnail": None,
    }
    for key, value in extra.items():
        ifd, tag = key.split("_", 1)
        exif[ifd][int(tag)] = value  # type: ignore[index]
    if thumbnail is not None:
        exif["thumbnail"] = _thumb_jpeg(thumbnail)
        exif["1st"] = {piexif.ImageIFD.Compression: 6}
    return write(path, jpeg_bytes(picture, exif=piexif.dump(exif)))


def test_camera_jpeg_exact_values(tmp_path: Path, cfg: Settings) -> None:
    pic = photo(1, (640, 480))
    path = camera_jpeg(tmp_path / "a.jpg", pic, thumbnail=pic)
    m = metadata.read(path, sniff_file(path), cfg)
    assert m.errors == []
    assert (m.make, m.model, m.software) == ("Canon", "Canon EOS 5D Mark IV", "Firmware 1.2.3")
    assert m.lens == "Canon EF24-70mm f/2.8L II USM"
    assert m.serial == "012345678901"
    assert m.orientation == 6
    assert (m.width, m.height) == (640, 480)
    assert m.captured_at == "2024-02-29T23:59:58.042+05:30"
    assert m.captured_at_has_offset is True
    assert m.captured_at_source == "EXIF DateTimeOriginal"
    assert m.gps is not None
    assert abs(m.gps.lat - -33.856784) < 1e-6 and abs(m.gps.lon - 151.215297) < 1e-6
    assert m.gps.alt == -12.5
    assert m.gps_time == "2024-02-29T18:29:58+00:00"
    assert m.gps_direction == 270.5
    assert m.dates["EXIF ModifyDate"] == "2024-03-01T10:00:00"
    assert m.has_thumbnail and m.thumbnail_mismatch is False and m.thumbnail_distance is not None
    assert m.thumbnail_distance <= 10
    assert m.raw["EXIF:Make"] == "Canon" and "GPS:GPSLatitude" in m.raw
    assert "EXIF" in m.sources


def test_no_offset_is_said(tmp_path: Path, cfg: Settings) -> None:
    exif = piexif.dump({"0th": {}, "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2013:05:02 07:15:00"}, "GPS": {}, "1st": {}, "thumbnail": None})
    path = write(tmp_path / "b.jpg", jpeg_bytes(photo(2, (320, 240)), exif=exif))
    m = metadata.read(path, JPEG, cfg)
    assert (m.captured_at, m.captured_at_has_offset) == ("2013-05-02T07:15:00", False)


def test_thumbnail_of_another_picture_is_detected(tmp_path: Path, cfg: Settings) -> None:
    path = camera_jpeg(tmp_path / "swap.jpg", photo(3, (640, 480)), thumbnail=photo(99, (640, 480)))
    m = metadata.read(path, JPEG, cfg)
    assert m.thumbnail_mismatch is True and m.thumbnail_distance > 20
    from verify.metadata.image import embedded_thumbnail

    thumb = embedded_thumbnail(path)
    assert thumb is not None and Image.open(io.BytesIO(thumb)).size == (160, 120)
    assert embedded_thumbnail(write(tmp_path / "plain.jpg", jpeg_bytes(photo(3, (64, 48))))) is None


def test_rotated_after_capture_is_not_a_mismatch(tmp_path: Path, cfg: Settings) -> None:
    original = photo(4, (640, 480))
    path = camera_jpeg(tmp_path / "rot.jpg", original.rotate(90, expand=True), thumbnail=original)
    m = metadata.read(path, JPEG, cfg)
    assert m.thumbnail_mismatch is False and m.thumbnail_rotated in (90, 270)


def test_xmp_and_iptc(tmp_path: Path, cfg: Settings) -> None:
    xmp = b"""<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
 xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmp:CreatorTool="Adobe Photoshop 25.0 (Windows)" xmp:CreateDate="2013-05-02T07:15:00+02:00"
 xmp:ModifyDate="2024-01-10T09:00:00+01:00" photoshop:City="Aleppo">
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">&lt;img src=x onerror=alert(1)&gt; caption</rdf:li></rdf:Alt></dc:description>
<xmpMM:History><rdf:Seq>
<rdf:li stEvt:action="created" stEvt:softwareAgent="Adobe Photoshop 25.0" stEvt:when="2024-01-10T08:00:00+01:00"/>
<rdf:li rdf:parseType="Resource"><stEvt:action>saved</stEvt:action><stEvt:softwareAgent>Adobe Lightroom Classic 13.0</stEvt:softwareAgent></rdf:li>
</rdf:Seq></xmpMM:History>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>"""
    buf = io.BytesIO()
    photo(5, (320, 240)).save(buf, "JPEG", xmp=xmp)
    data = _with_iptc(buf.getvalue(), {(2, 120): "Smoke over the old city", (2, 80): "Jane Doe", (2, 110): "Agency X",
                                        (2, 90): "Aleppo", (2, 101): "Syria", (2, 55): "20130502", (2, 60): "071500+0200"})  # fmt: skip
    path = write(tmp_path / "x.jpg", data)
    m = metadata.read(path, JPEG, cfg)
    assert m.xmp["xmp:CreatorTool"] == "Adobe Photoshop 25.0 (Windows)"
    assert m.xmp["dc:description"] == "<img src=x onerror=alert(1)> caption"  # kept as text, shown as text
    history = m.xmp["xmpMM:History"]
    assert [h["stEvt:softwareAgent"] for h in history] == ["Adobe Photoshop 25.0", "Adobe Lightroom Classic 13.0"]
    assert m.software == "Adobe Photoshop 25.0 (Windows)"  # no EXIF Software: CreatorTool stands in
    assert m.captured_at == "2013-05-02T07:15:00+02:00" and m.captured_at_source == "XMP CreateDate"
    assert m.dates["XMP ModifyDate"] == "2024-01-10T09:00:00+01:00"
    assert m.iptc["Caption-Abstract"] == "Smoke over the old city"
    assert (m.iptc["By-line"], m.iptc["Credit"], m.iptc["City"], m.iptc["Country-PrimaryLocationName"]) == ("Jane Doe", "Agency X", "Aleppo", "Syria")
    assert m.dates["IPTC DateCreated"] == "2013-05-02T07:15:00+02:00"
    assert {"XMP", "IPTC"} <= set(m.sources)


def _with_iptc(jpeg: bytes, datasets: dict[tuple[int, int], str]) -> bytes:
    """Insert an APP13 Photoshop IRB with IPTC datasets right after SOI."""
    iptc = b"\x1c\x01\x5a\x00\x03\x1b%G"  # coded character set: UTF-8
    for (rec, ds), text in datasets.items():
        value = text.encode("utf-8")
        iptc += struct.pack(">BBBH", 0x1C, rec, ds, len(value)) + value
    irb = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc)) + iptc + (b"\x00" if len(iptc) % 2 else b"")
    payload = b"Photoshop 3.0\x00" + irb
    segment = b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def test_xmp_with_entities_is_refused(tmp_path: Path, cfg: Settings) -> None:
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="&lol2;"/></rdf:RDF></x:xmpmeta>"""
    buf = io.BytesIO()
    photo(6, (64, 64)).save(buf, "JPEG", xmp=bomb, exif=piexif.dump({"0th": {piexif.ImageIFD.Make: b"Nikon"}, "Exif": {}, "GPS": {}, "1st": {}, "thumbnail": None}))
    path = write(tmp_path / "bomb.jpg", buf.getvalue())
    m = metadata.read(path, JPEG, cfg)
    assert m.make == "Nikon"  # the rest is still read
    assert m.xmp == {} and any("DTD" in e for e in m.errors)


def test_pillow_exif_writer_and_png(tmp_path: Path, cfg: Settings) -> None:
    from factories import exif_bytes

    exif = exif_bytes(make="Apple", model="iPhone 15", software="17.2", datetime_original="2024:01:02 03:04:05",
                      offset="-08:00", gps=(37.7749, -122.4194), orientation=1)  # fmt: skip
    im = photo(7, (300, 200))
    buf = io.BytesIO()
    im.save(buf, "PNG", exif=exif)
    path = write(tmp_path / "p.png", buf.getvalue())
    m = metadata.read(path, sniff_file(path), cfg)
    assert (m.make, m.model, m.software, m.orientation) == ("Apple", "iPhone 15", "17.2", 1)
    assert m.captured_at == "2024-01-02T03:04:05-08:00"
    assert abs(m.gps.lat - 37.7749) < 1e-5 and abs(m.gps.lon - -122.4194) < 1e-5  # type: ignore[union-attr]


# -- bad input -----------------------------------------------------------------------------------


def _tiff(entries: list[tuple[int, int, int, bytes]], ifd_offset: int = 8, next_ifd: int = 0, tail: bytes = b"") -> bytes:
    body = struct.pack(">H", len(entries))
    for tag, typ, count, value in entries:
        body += struct.pack(">HHI", tag, typ, count) + value.ljust(4, b"\x00")[:4]
    body += struct.pack(">I", next_ifd)
    return b"MM\x00*" + struct.pack(">I", ifd_offset) + body + tail


def _jpeg_with_raw_exif(tiff: bytes) -> bytes:
    jpeg = jpeg_bytes(photo(8, (64, 48)))
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


@pytest.mark.parametrize(
    "name,tiff",
    [
        ("offset past the end", _tiff([(0x010F, 2, 400, struct.pack(">I", 100000))])),
        ("IFD loop", _tiff([(0x010F, 2, 4, b"Sony")], next_ifd=8)),
        ("Exif IFD pointing at itself", _tiff([(0x8769, 4, 1, struct.pack(">I", 8)), (0x0110, 2, 4, b"A7\x00\x00")])),
        ("absurd count", _tiff([(0x0110, 2, 0x7FFFFFFF, struct.pack(">I", 26))])),
        ("IFD0 past the end", b"MM\x00*" + struct.pack(">I", 0xFFFFFF00)),
        ("binary junk and markup in text tags",
         _tiff([(0x010F, 2, 35, struct.pack(">I", 26))], tail=b"<script>alert(1)</script>\xff\xfe\x01\x02\x80junk\x00")),
        ("GPS with zero denominators", _tiff([(0x8825, 4, 1, struct.pack(">I", 26))],
         tail=struct.pack(">H", 2) + struct.pack(">HHI", 1, 2, 2) + b"N\x00\x00\x00" + struct.pack(">HHII", 2, 5, 3, 56)
         + struct.pack(">I", 0) + struct.pack(">IIIIII", 1, 0, 2, 0, 3, 0))),
    ],
)  # fmt: skip
def test_malformed_exif_never_raises(tmp_path: Path, cfg: Settings, name: str, tiff: bytes) -> None:
    path = write(tmp_path / "bad.jpg", _jpeg_with_raw_exif(tiff))
    m = metadata.read(path, JPEG, cfg)
    assert (m.width, m.height) == (64, 48)  # the rest is still shown
    for e in m.errors:
        assert "Traceback" not in e and str(tmp_path) not in e
    if name == "binary junk and markup in text tags":
        assert m.make is not None and m.make.startswith("<script>alert(1)</script>")


def test_mp4_without_moov(tmp_path: Path, cfg: Settings) -> None:
    path = video(tmp_path / "v.mp4", seconds=1.0)
    data = path.read_bytes()
    moov = data.find(b"moov") - 4
    assert moov > 0
    cut = write(tmp_path / "cut.mp4", data[:moov])
    m = metadata.read(cut, Sniffed("video", "video/mp4"), cfg)
    assert any("moov" in e for e in m.errors)
    for e in m.errors:
        assert "Traceback" not in e and str(tmp_path) not in e


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.data())
def test_mutated_jpeg_never_raises(tmp_path: Path, data: st.DataObject) -> None:
    cfg = load_settings(data_dir=tmp_path / "data")
    base = getattr(test_mutated_jpeg_never_raises, "_base", None)
    if base is None:
        base = camera_jpeg(tmp_path / "base.jpg", photo(9, (96, 72)), thumbnail=photo(9, (96, 72))).read_bytes()
        test_mutated_jpeg_never_raises._base = base  # type: ignore[attr-defined]
    buf = bytearray(base)
    end = min(len(buf), 2500)  # the EXIF block and the start of the picture
    for _ in range(data.draw(st.integers(1, 12))):
        pos = data.draw(st.integers(2, end - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        buf = buf[: data.draw(st.integers(4, len(buf)))]
    path = write(tmp_path / "m.jpg", bytes(buf))
    m = metadata.read(path, JPEG, cfg)
    assert isinstance(m.errors, list)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.data())
def test_mutated_mp4_never_raises(tmp_path: Path, data: st.DataObject) -> None:
    cfg = load_settings(data_dir=tmp_path / "data")
    base = getattr(test_mutated_mp4_never_raises, "_base", None)
    if base is None:
        base = video(tmp_path / "base.mp4", seconds=0.4, size=(64, 48), metadata={"location": "+48.8584+002.2945/"}).read_bytes()
        test_mutated_mp4_never_raises._base = base  # type: ignore[attr-defined]
    buf = bytearray(base)
    moov = base.find(b"moov") - 4
    for _ in range(data.draw(st.integers(1, 10))):
        pos = data.draw(st.integers(max(0, moov), len(buf) - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    path = write(tmp_path / "m.mp4", bytes(buf))
    m = metadata.read(path, Sniffed("video", "video/mp4"), cfg)
    assert isinstance(m.errors, list)


# -- video -------------------------------------------------------------------------------------


def _rotate_tkhd(data: bytes, degrees: int) -> bytes:
    """Write a rotation matrix into the first video track header, as phones do."""
    pos = data.find(b"tkhd")
    version = data[pos + 4]
    matrix_at = pos + 4 + 4 + (32 if version == 1 else 20) + 16
    cos, sin = {90: (0, 1), 180: (-1, 0), 270: (0, -1)}[degrees]
    a, b, c, d = cos << 16, sin << 16, -sin << 16, cos << 16
    matrix = struct.pack(">iiiiiiiii", a, b, 0, c, d, 0, 0, 0, 1 << 30)
    return data[:matrix_at] + matrix + data[matrix_at + 36 :]


def test_video_known_metadata(tmp_path: Path, cfg: Settings) -> None:
    path = video(tmp_path / "v.mp4", seconds=2.0, fps=25, size=(320, 240),
                 metadata={"creation_time": "2023-06-01T12:34:56.000000Z", "location": "+27.5916+086.5640+8850/"})  # fmt: skip
    path.write_bytes(_rotate_tkhd(path.read_bytes(), 90))
    m = metadata.read(path, sniff_file(path), cfg)
    assert m.errors == []
    assert (m.width, m.height, m.video_codec, m.fps) == (320, 240, "h264", 25.0)
    assert m.duration_s == pytest.approx(2.0, abs=0.05)
    assert m.rotation == 90
    assert m.captured_at == "2023-06-01T12:34:56+00:00" and m.captured_at_has_offset
    # FFmpeg's MP4 muxer stores it as a 3GPP loci box: 16.16 fixed point, so 1/65536 degree steps.
    assert m.gps is not None and m.gps.lat == pytest.approx(27.5916, abs=2e-5) and m.gps.lon == pytest.approx(86.564, abs=2e-5)
    assert m.gps.alt == pytest.approx(8850.0)
    assert m.dates["QuickTime CreateDate (UTC)"] == "2023-06-01T12:34:56+00:00"


# -- Content Credentials -------------------------------------------------------------------------


def _signed_jpeg(path: Path) -> Path:
    import datetime as dt

    import c2pa
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def build(subject: str, issuer: x509.Name | None, key, signer_key, ca: bool):  # type: ignore[no-untyped-def]
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "verify tests")])
        usage = x509.KeyUsage(not ca, False, False, False, False, ca, ca, False, False)
        b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
             .not_valid_after(now + dt.timedelta(days=30)).add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             .add_extension(usage, critical=True).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))  # fmt: skip
        if not ca:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False)
        return b.sign(signer_key, hashes.SHA256()), name

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca, ca_name = build("Test Root CA", None, ca_key, ca_key, True)
    ee, _ = build("Test Signer", ca_name, key, ca_key, False)
    pem = (ee.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)).decode()
    signer = c2pa.Signer.from_callback(lambda data: key.sign(data, ec.ECDSA(hashes.SHA256())), c2pa.C2paSigningAlg.ES256, pem, None)
    manifest = {"claim_generator_info": [{"name": "verify-tests", "version": "1.0"}], "title": "signed.jpg",
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created",
                                "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}]}  # fmt: skip
    source, out = io.BytesIO(jpeg_bytes(photo(10, (128, 96)))), io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/jpeg", source, out)
    return write(path, out.getvalue())


def test_c2pa_valid_invalid_absent(tmp_path: Path, cfg: Settings) -> None:
    signed = _signed_jpeg(tmp_path / "signed.jpg")
    m = metadata.read(signed, JPEG, cfg)
    assert m.c2pa is not None and m.c2pa["valid"] is True and m.c2pa["state"] == "Valid"
    assert m.c2pa["claim_generator"] == "verify-tests 1.0" and m.c2pa["signer_name"] == "Test Signer"
    assert m.c2pa["actions"][0] == {"action": "c2pa.created", "digital_source_type": "digitalCapture"}
    data = bytearray(signed.read_bytes())
    data[-40] ^= 0xFF  # change the picture after signing
    tampered = write(tmp_path / "tampered.jpg", bytes(data))
    t = metadata.read(tampered, JPEG, cfg)
    assert t.c2pa is not None and t.c2pa["valid"] is False
    assert any(f["code"] == "assertion.dataHash.mismatch" for f in t.c2pa["failures"])
    plain = write(tmp_path / "plain.jpg", jpeg_bytes(photo(11, (64, 48))))
    assert metadata.read(plain, JPEG, cfg).c2pa is None


def test_c2pa_reading_is_offline() -> None:
    from verify.metadata.c2pa import OFFLINE_SETTINGS

    assert OFFLINE_SETTINGS["verify"]["remote_manifest_fetch"] is False
    assert OFFLINE_SETTINGS["verify"]["ocsp_fetch"] is False



def test_avchd_mdpm_block(tmp_path: Path) -> None:
    """Date with zone and DST, make code and model from an AVCHD camcorder's H.264 SEI."""
    import containers

    from verify.metadata.avchd import read_mdpm

    entries = [(0x13, b"\x13\x10\x00\x00"), (0x18, b"\x44\x20\x19\x04"), (0x19, b"\x24\x22\x24\x00"),
               (0xE0, b"\x01\x08\x31\x00"), (0xE4, b"ILCE"), (0xE5, b"-7M3"), (0xE6, b"\x00\x00\x00\x00")]  # fmt: skip
    # a transport stream (192-byte packets), the SEI split across packets, emulation-prevention bytes in it
    path = write(tmp_path / "clip.mts", containers.avchd_clip(b"\x00" * 300 + containers.mdpm_sei(entries)))
    found = read_mdpm(path)
    assert found is not None
    assert (found.captured_at, found.has_offset, found.dst) == ("2019-04-24T22:24:00+02:00", True, True)
    assert (found.make, found.model) == ("Sony", "ILCE-7M3")
    assert read_mdpm(write(tmp_path / "none.mts", b"\x47" * 1000)) is None


@pytest.mark.parametrize("fmt", ["WEBP", "TIFF", "HEIF"])
def test_other_image_containers(tmp_path: Path, cfg: Settings, fmt: str) -> None:
    from factories import exif_bytes

    exif = exif_bytes(make="Google", model="Pixel 8", datetime_original="2024:04:05 06:07:08", offset="+01:00", gps=(51.5007, -0.1246))
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Snapseed 2.0"/></rdf:RDF></x:xmpmeta>'
    buf = io.BytesIO()
    im = photo(12, (200, 150))
    if fmt == "HEIF":
        pillow_heif = pytest.importorskip("pillow_heif")
        try:
            pillow_heif.from_pillow(im).save(buf, format="HEIF", exif=exif, xmp=xmp)
        except Exception as exc:  # the wheel may ship without an HEVC encoder
            pytest.skip(f"no HEIF encoder here: {exc}")
    else:
        im.save(buf, fmt, exif=exif, xmp=xmp) if fmt == "WEBP" else im.save(buf, fmt, exif=exif)
    path = write(tmp_path / f"x.{fmt.lower()}", buf.getvalue())
    m = metadata.read(path, sniff_file(path), cfg)
    assert (m.make, m.model, m.captured_at) == ("Google", "Pixel 8", "2024-04-05T06:07:08+01:00"), m.errors
    assert m.gps is not None and abs(m.gps.lat - 51.5007) < 1e-5
    if fmt != "TIFF":
        assert m.xmp.get("xmp:CreatorTool") == "Snapseed 2.0"


def test_one_reader_failing_never_means_no_metadata(tmp_path: Path, cfg: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """If Pillow's EXIF parser breaks on a file, exifread still reads it and the failure is said."""
    path = camera_jpeg(tmp_path / "a.jpg", photo(13, (160, 120)))

    def broken(self: Image.Image) -> Image.Exif:
        raise SyntaxError("unexpected IFD structure")

    monkeypatch.setattr(Image.Image, "getexif", broken)
    m = metadata.read(path, JPEG, cfg)
    assert any("EXIF could not be read" in e for e in m.errors)
    assert (m.make, m.model) == ("Canon", "Canon EOS 5D Mark IV")
    assert m.captured_at == "2024-02-29T23:59:58.042+05:30"
    assert "EXIF (exifread)" in m.sources
    from verify.findings import evaluate

    assert "metadata_stripped" not in {f.code for f in evaluate(None, m)}


def test_video_box_names_with_control_bytes_stay_printable(tmp_path: Path, cfg: Settings) -> None:
    """A udta box named with NUL bytes: keys and values in ``raw`` stay printable text."""
    path = video(tmp_path / "v.mp4", seconds=0.4, size=(64, 48))
    data = path.read_bytes()
    udta_item = struct.pack(">I4s", 8 + 12, b"\x00\x01ab") + b"hello\x00\x07world"[:12]
    udta = struct.pack(">I4s", 8 + len(udta_item), b"udta") + udta_item
    moov = data.find(b"moov") - 4
    size = struct.unpack(">I", data[moov : moov + 4])[0]
    patched = data[:moov] + struct.pack(">I", size + len(udta)) + data[moov + 4 : moov + size] + udta + data[moov + size :]
    path.write_bytes(patched)
    m = metadata.read(path, Sniffed("video", "video/mp4"), cfg)
    for key, value in m.raw.items():
        assert key.isprintable() and "\x00" not in value, (key, value)
    assert any(k.startswith("QuickTime:udta:") and "ab" in k for k in m.raw)
