"""Video metadata: PyAV for the streams, a bounded box reader for what FFmpeg leaves out.

Duration comes from the video stream (container durations overstate some camera files), rotation
from the track matrix (OpenCV swaps width and height on rotated phone video, so it is recorded,
not applied), location from Apple's ``com.apple.quicktime.location.ISO6709`` key, the ``©xyz``
atom or the 3GPP ``loci`` box, capture time with its offset when the file records one.
"""

from __future__ import annotations

from pathlib import Path

from verify.config import Settings
from verify.metadata import xmp as xmp_reader
from verify.metadata.asf import CODEC_NAMES as ASF_CODECS
from verify.metadata.asf import ASFError, read_asf_header
from verify.metadata.avchd import read_h264
from verify.metadata.isobmff import CODEC_NAMES, Track, read_movie_boxes
from verify.metadata.parsing import clean_text, parse_iso6709, quicktime_datetime, raw_text
from verify.models import GPS, Metadata

_ISO_BMFF = {"video/mp4", "video/quicktime", "video/x-m4v", "video/3gpp"}

# Capture-time tags, best first: they carry the local offset; the header time is UTC only.
_LOCAL_DATES = (
    ("com.apple.quicktime.creationdate", "QuickTime CreationDate"),
    ("udta:date", "QuickTime DateTimeOriginal"),
    ("udta:\u00a9day", "QuickTime ContentCreateDate"),
    ("ilst:\u00a9day", "QuickTime ContentCreateDate"),
    ("creation_time", None),
)
_LOCATIONS = ("com.apple.quicktime.location.ISO6709", "udta:\u00a9xyz", "location", "location-eng")
_MAKE = ("com.apple.quicktime.make", "udta:\u00a9mak", "ilst:\u00a9mak", "com.android.manufacturer")
_MODEL = ("com.apple.quicktime.model", "udta:\u00a9mod", "ilst:\u00a9mod", "com.android.model")
_SOFTWARE = ("com.apple.quicktime.software", "udta:\u00a9swr", "ilst:\u00a9swr", "com.android.version")


def read_into(path: Path, meta: Metadata, settings: Settings) -> None:
    tags: dict[str, str] = {}
    boxes = None
    if meta.mime in _ISO_BMFF:
        try:
            boxes = read_movie_boxes(path)
        except OSError as exc:
            meta.errors.append(f"The video header could not be read: {exc.strerror or 'read error'}.")
        else:
            meta.errors.extend(boxes.errors)
            tags.update(boxes.tags)
    _read_streams(path, meta, tags)
    if meta.mime == "video/mp2t":
        _read_avchd(path, meta)
    if meta.mime == "video/x-ms-asf":
        _read_asf(path, meta)
    for key, value in tags.items():
        meta.raw.setdefault(f"QuickTime:{key}", raw_text(value))
    if tags or (boxes and boxes.found_moov):
        meta.sources.append("QuickTime" if boxes and boxes.found_moov else "container")

    def first(names: tuple[str, ...]) -> str | None:
        return next((clean_text(tags[n], 300) for n in names if tags.get(n)), None)

    meta.make = meta.make or first(_MAKE)
    meta.model = meta.model or first(_MODEL)
    meta.software = meta.software or first(_SOFTWARE)
    meta.encoder = meta.encoder or first(("encoder", "ilst:\u00a9too", "udta:\u00a9too", "udta:\u00a9enc"))

    if boxes is not None:
        if boxes.created_utc:
            meta.dates["QuickTime CreateDate (UTC)"] = boxes.created_utc
        if boxes.modified_utc:
            meta.dates["QuickTime ModifyDate (UTC)"] = boxes.modified_utc
        track = boxes.video_track
        if track is not None:
            if track.rotation is not None:
                meta.rotation = track.rotation
            if track.media_duration_s and track.media_duration_s > 0:
                meta.duration_s = track.media_duration_s
            _from_track_header(meta, track)
        if not meta.duration_s and boxes.duration_s and boxes.duration_s > 0:
            meta.duration_s = boxes.duration_s  # the movie header's own duration (mvhd)
        if boxes.loci is not None:
            tags.setdefault("loci", f"{boxes.loci.lat:+.6f}{boxes.loci.lon:+.6f}/")
        if boxes.xmp:
            try:
                meta.xmp = xmp_reader.parse_xmp(boxes.xmp)
                meta.sources.append("XMP")
            except xmp_reader.XMPError as exc:
                meta.errors.append(f"XMP could not be read: {exc}.")
    _dates(meta, tags)
    _location(meta, tags, boxes.loci if boxes else None)
    if meta.xmp:
        xmp_reader.apply(meta)


def _from_track_header(meta: Metadata, track: Track) -> None:
    """Size and codec from the boxes when PyAV found none (no decodable frames, no codec).

    The sample entry's coded size first (what PyAV reports for a file it can open), else the
    track header's display size (ExifTool's ImageWidth/ImageHeight).
    """
    if not meta.width or not meta.height:
        if track.coded_width and track.coded_height:
            meta.width, meta.height = track.coded_width, track.coded_height
        elif track.width and track.height and track.width >= 1 and track.height >= 1:
            meta.width, meta.height = round(track.width), round(track.height)
    if not meta.video_codec and track.codec:
        meta.video_codec = CODEC_NAMES.get(track.codec, clean_text(track.codec, 8))
    if track.codec:
        meta.raw.setdefault("QuickTime:CompressorID", raw_text(track.codec))
    if track.samples is not None:
        meta.raw.setdefault("QuickTime:VideoSampleCount", str(track.samples))
        if track.samples == 0:
            meta.fps = None  # no frames, no frame rate (FFmpeg guesses the time base)


def _read_asf(path: Path, meta: Metadata) -> None:
    """Windows Media: creation date, duration, picture size and codec from the ASF header."""
    try:
        header = read_asf_header(path)
    except (OSError, ASFError) as exc:
        meta.errors.append(f"The Windows Media header could not be read: {_reason(exc)}.")
        return
    meta.errors.extend(header.errors)
    meta.sources.append("ASF")
    if header.duration_s:
        meta.duration_s = header.duration_s  # the header's own play duration, less its preroll
    if not meta.width or not meta.height:
        meta.width, meta.height = header.width, header.height
    if header.codec:
        meta.video_codec = meta.video_codec or ASF_CODECS.get(header.codec, header.codec.lower())
    for key, value in (
        ("CreationDate", header.created_utc), ("PlayDuration", header.play_duration_s), ("Preroll", header.preroll_s),
        ("ImageWidth", header.width), ("ImageHeight", header.height), ("VideoCodecID", header.codec),
        ("Title", header.title), ("Author", header.author),
    ):  # fmt: skip
        if value is not None:
            meta.raw[f"ASF:{key}"] = raw_text(value)
    if header.created_utc:
        meta.dates["ASF CreationDate (UTC)"] = header.created_utc
        if meta.captured_at is None:
            meta.captured_at, meta.captured_at_has_offset = header.created_utc, True
            meta.captured_at_source = "ASF CreationDate (UTC)"


def _read_avchd(path: Path, meta: Metadata) -> None:
    """Camcorder date, make and model from the H.264 stream's MDPM block (AVCHD)."""
    try:
        facts = read_h264(path)
    except (OSError, ValueError, IndexError) as exc:
        meta.errors.append(f"The camcorder metadata (AVCHD) could not be read: {_reason(exc)}.")
        return
    if facts.width and facts.height:
        meta.raw["H264:ImageWidth"], meta.raw["H264:ImageHeight"] = str(facts.width), str(facts.height)
        if not meta.width or not meta.height:
            meta.width, meta.height = facts.width, facts.height
    found = facts.mdpm
    if found is None:
        return
    meta.sources.append("AVCHD")
    meta.make = meta.make or found.make
    meta.model = meta.model or found.model
    for key, value in (("Make", found.make), ("Model", found.model), ("DateTimeOriginal", found.captured_at)):
        if value:
            meta.raw[f"H264:{key}"] = value + (" DST" if key == "DateTimeOriginal" and found.dst else "")
    if found.captured_at:
        meta.dates["AVCHD DateTimeOriginal"] = found.captured_at
        meta.captured_at, meta.captured_at_has_offset = found.captured_at, found.has_offset
        meta.captured_at_source = "AVCHD DateTimeOriginal"


def _read_streams(path: Path, meta: Metadata, tags: dict[str, str]) -> None:
    import av

    try:
        container = av.open(str(path), metadata_errors="replace")
    except Exception as exc:
        meta.errors.append(f"The video container cannot be opened: {_reason(exc)}.")
        return
    try:
        meta.container = container.format.name
        for key, value in container.metadata.items():
            tags.setdefault(str(key), str(value))
        video = container.streams.video[0] if container.streams.video else None
        if video is None:
            meta.errors.append("The file has no video stream.")
            return
        ctx = video.codec_context
        meta.width, meta.height = (int(ctx.width) or None, int(ctx.height) or None) if ctx else (None, None)
        meta.video_codec = ctx.name if ctx else None
        rate = video.average_rate or video.guessed_rate
        if not video.average_rate and rate and video.time_base and rate == 1 / video.time_base:
            rate = None  # FFmpeg's guess when it saw no frames is the time base itself (1000, 90000 fps)
        meta.fps = round(float(rate), 3) if rate else None
        if video.duration is not None and video.time_base is not None and video.duration > 0:
            meta.duration_s = float(video.duration * video.time_base)
        elif container.duration and container.duration > 0:
            meta.duration_s = container.duration / 1_000_000
        if not meta.width or not meta.height:
            # No picture size means FFmpeg saw no usable frame: its rate and duration are guesses.
            meta.fps = meta.duration_s = None
        for key, value in video.metadata.items():
            meta.raw[f"Track:{key}"] = raw_text(value)
            if key == "rotate" and str(value).lstrip("-").isdigit():
                meta.rotation = int(value) % 360
            if key == "encoder" and not meta.encoder:
                meta.encoder = clean_text(value, 300)
    except Exception as exc:
        meta.errors.append(f"The video streams could not be fully read: {_reason(exc)}.")
    finally:
        container.close()


def _dates(meta: Metadata, tags: dict[str, str]) -> None:
    for key, label in _LOCAL_DATES:
        value = tags.get(key)
        if not value:
            continue
        try:
            parsed = quicktime_datetime(value)
        except ValueError as exc:
            meta.errors.append(f"Video date {key}: {exc}.")
            continue
        if not parsed:
            continue
        name = label or "QuickTime CreateDate (UTC)"
        meta.dates.setdefault(name, parsed[0])
        if meta.captured_at is None:
            meta.captured_at, meta.captured_at_has_offset = parsed
            meta.captured_at_source = name
    if meta.captured_at is None and "QuickTime CreateDate (UTC)" in meta.dates:
        meta.captured_at = meta.dates["QuickTime CreateDate (UTC)"]
        meta.captured_at_has_offset = True
        meta.captured_at_source = "QuickTime CreateDate (UTC)"


def _location(meta: Metadata, tags: dict[str, str], loci: GPS | None) -> None:
    """Apple's key, then ``©xyz``, then the 3GPP box at full precision, then FFmpeg's rounding of it."""
    for key in _LOCATIONS[:2]:
        if _try_location(meta, tags, key):
            return
    if loci is not None:
        meta.gps = loci
        meta.gps_source = "QuickTime loci"
        return
    for key in _LOCATIONS[2:]:
        if _try_location(meta, tags, key):
            return


def _try_location(meta: Metadata, tags: dict[str, str], key: str) -> bool:
    value = tags.get(key)
    if not value:
        return False
    try:
        meta.gps = parse_iso6709(value)
    except ValueError as exc:
        meta.errors.append(f"Video location {key}: {exc}.")
        return False
    meta.gps_source = f"QuickTime {key}"
    return True


def _reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    for marker in ("'/", '"/', " /"):
        if marker in text:
            text = text.split(marker)[0].rstrip(":; ")
    return text[:200] or type(exc).__name__
