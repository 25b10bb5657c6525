#!/usr/bin/env python3
"""Make the sample media: protest photos, a night scene, a rescue video and their recycled copies.

Everything is drawn here from fixed seeds with Pillow and numpy (and encoded with PyAV), so the
samples are nobody's real footage and nothing is copied from elsewhere. The same library versions
give the same bytes on every run; JPEG, H.264 and AAC encoders may change their output between
versions, so the outputs are committed and ``generated-with.json`` records the versions that made
them (the golden test regenerates and compares only when the versions are the same).

    .venv/bin/python samples/generate.py            # rewrite samples/archive and samples/incoming
    .venv/bin/python samples/generate.py --out DIR  # write somewhere else (the determinism test)

The story the samples tell (places are real, sources and people are invented):

* ``archive/`` holds earlier material with first-seen dates years back: a 2013 protest in Busra
  al-Sham, a 2012 protest in Aleppo, a 2014 night vigil in Aleppo, a 2016 rescue video from Idlib
  (with sound and an ISO 6709 location, as an iPhone writes it) and a 2015 street in Khan Sheikhoun
  that an editor marks as graphic (abstract red splashes, nothing distressing).
* ``incoming/`` holds new submissions claimed as "today": a phone screenshot of a social post that
  re-uses the 2013 Busra photo with a new caption, a cropped and mirrored re-post of the 2012 Aleppo
  photo with its metadata stripped, a still taken from the rescue video and saved in Photoshop, a
  trimmed low-resolution re-upload of the rescue video, a re-post of the graphic street photo, and
  two fresh photos: a night protest whose metadata agrees with its claim, and a banner photo whose
  GPS and capture date contradict it.
* ``upload/`` holds one file that is *not* seeded, for the walkthrough's first upload: the 2013
  Busra photo forwarded on a messenger with a caption burnt in.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps
from PIL.TiffImagePlugin import IFDRational

HERE = Path(__file__).resolve().parent

PLACES: dict[str, tuple[float, float]] = {
    "Busra al-Sham": (32.5167, 36.4814),
    "Aleppo": (36.2021, 37.1343),
    "Idlib": (35.9306, 36.6339),
    "Khan Sheikhoun": (35.4414, 36.6486),
}

# -- drawing helpers -----------------------------------------------------------------------------


def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's embedded font: the same glyphs on every machine, no system fonts involved."""
    return ImageFont.load_default(size=size)  # type: ignore[return-value]


def vertical_gradient(w: int, h: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    arr = np.asarray(top, float)[None, None, :] * (1 - t) + np.asarray(bottom, float)[None, None, :] * t
    return Image.fromarray(np.repeat(arr, w, axis=1).astype(np.uint8), "RGB")


def grain(im: Image.Image, rng: np.random.Generator, sigma: float, blur: float = 0.0) -> Image.Image:
    """Sensor noise and a touch of lens softness, so pictures have the texture of photographs."""
    if blur:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    arr = np.asarray(im, dtype=np.float32)
    noise = rng.normal(0.0, sigma, arr.shape[:2])[:, :, None] + rng.normal(0.0, sigma / 3, arr.shape)
    return Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8), "RGB")


def glow(im: Image.Image, centres: list[tuple[int, int]], radius: float, colour: tuple[int, int, int], strength: float) -> Image.Image:
    """Additive soft light around points (street lamps, phone screens)."""
    h, w = im.height, im.width
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = np.zeros((h, w), np.float32)
    for cx, cy in centres:
        light += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2))
    arr = np.asarray(im, np.float32) + strength * light[:, :, None] * np.asarray(colour, np.float32)[None, None, :]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def buildings(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, horizon: int, *, night: bool = False) -> list[tuple[int, int]]:
    """A skyline of stone blocks with windows, shutters and balconies; returns lit window centres."""
    stone = [(196, 182, 160), (172, 160, 142), (210, 198, 176), (150, 140, 128), (186, 170, 150)]
    lit: list[tuple[int, int]] = []
    x = -int(rng.integers(0, 40))
    while x < w:
        bw = int(rng.integers(90, 200))
        top = horizon - int(rng.integers(horizon // 3, horizon - 20))
        base = stone[int(rng.integers(0, len(stone)))]
        colour = tuple(int(c * 0.22) for c in base) if night else base
        draw.rectangle([x, top, x + bw, horizon + 30], fill=colour, outline=tuple(max(0, c - 40) for c in colour))
        win = (40, 44, 52) if not night else (14, 15, 20)
        for wy in range(top + 14, horizon + 10, int(rng.integers(26, 38))):
            for wx in range(x + 10, x + bw - 18, int(rng.integers(22, 34))):
                if night and rng.random() < 0.28:
                    draw.rectangle([wx, wy, wx + 12, wy + 16], fill=(250, 206, 120))
                    lit.append((wx + 6, wy + 8))
                elif rng.random() < 0.85:
                    shade = win if rng.random() < 0.7 else tuple(int(c * 0.8) for c in colour)
                    draw.rectangle([wx, wy, wx + 12, wy + 16], fill=shade)
            if not night and rng.random() < 0.3:
                draw.rectangle([x + 4, wy + 18, x + bw - 4, wy + 21], fill=(90, 84, 76))
        x += bw + int(rng.integers(0, 8))
    return lit


CLOTHES = [(38, 40, 48), (70, 62, 58), (28, 52, 84), (110, 36, 40), (52, 70, 50), (150, 140, 120), (200, 200, 196), (86, 60, 40)]


def figure(draw: ImageDraw.ImageDraw, x: float, feet: float, height: float, colour: tuple[int, int, int], *, arm_up: int = 0,
           skin: tuple[int, int, int] = (170, 124, 96), hair: tuple[int, int, int] | None = (30, 26, 24)) -> None:  # fmt: skip
    """One person: head with hair or a scarf, shoulders, torso, legs; arm_up -1/1 raises a fist."""
    head = height * 0.14
    neck = feet - height + head
    shoulder = neck + height * 0.04
    hips = shoulder + height * 0.36
    sw, hw = height * 0.17, height * 0.13
    legs = tuple(max(0, int(c * 0.6)) for c in colour)
    draw.polygon([(x - hw, hips - 2), (x - hw * 0.2, hips - 2), (x - hw * 0.25, feet), (x - hw * 0.8, feet)], fill=legs)
    draw.polygon([(x + hw * 0.2, hips - 2), (x + hw, hips - 2), (x + hw * 0.8, feet), (x + hw * 0.25, feet)], fill=legs)
    draw.polygon([(x - sw, shoulder + height * 0.05), (x + sw, shoulder + height * 0.05), (x + hw, hips), (x - hw, hips)], fill=colour)
    draw.ellipse([x - sw, shoulder, x + sw, shoulder + height * 0.12], fill=colour)
    draw.rectangle([x - head * 0.2, neck - 2, x + head * 0.2, shoulder + 2], fill=skin)
    draw.ellipse([x - head / 2, neck - head * 1.05, x + head / 2, neck], fill=skin)
    if hair is not None:
        draw.chord([x - head / 2, neck - head * 1.1, x + head / 2, neck - head * 0.2], 180, 360, fill=hair)
    if arm_up:
        ax, ay = x + arm_up * sw * 0.85, shoulder + height * 0.05
        hx, hy = ax + arm_up * sw * 0.5, shoulder - height * 0.30
        draw.line([(ax, ay), (hx, hy)], fill=colour, width=max(2, int(height * 0.07)))
        draw.ellipse([hx - head * 0.28, hy - head * 0.28, hx + head * 0.28, hy + head * 0.28], fill=skin)


HAIR = [(30, 26, 24), (52, 38, 30), (20, 20, 22), (235, 235, 230), (90, 88, 84), (200, 40, 44)]


def crowd(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, top: int, bottom: int, n: int, *, horizon: int, floor: int, night: bool = False) -> None:
    """People standing between rows ``top`` and ``bottom``, smaller towards the horizon."""
    people = sorted((float(rng.uniform(top, bottom)), float(rng.uniform(-20, w + 20))) for _ in range(n))
    for feet, x in people:
        depth = (feet - horizon) / max(1, floor - horizon)
        height = 30 + depth * 220
        colour = CLOTHES[int(rng.integers(0, len(CLOTHES)))]
        skin = (150 + int(rng.integers(-30, 30)), 110 + int(rng.integers(-20, 20)), 86 + int(rng.integers(-20, 20)))
        hair: tuple[int, int, int] | None = HAIR[int(rng.integers(0, len(HAIR)))]
        if night:
            colour = tuple(int(c * 0.25) for c in colour)
            skin = tuple(int(c * 0.35) for c in skin)
            hair = tuple(int(c * 0.25) for c in hair)
        arm = int(rng.choice([-1, 0, 0, 0, 1]))
        figure(draw, x, feet + height * 0.55, height, colour, arm_up=arm, skin=skin, hair=hair)


def banner(im: Image.Image, box: tuple[int, int, int, int], text: str, bg: tuple[int, int, int], fg: tuple[int, int, int], angle: float) -> None:
    """A cloth banner with lettering on two poles, slightly tilted as people carry it."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    cloth = Image.new("RGBA", (bw, bh), bg + (255,))
    d = ImageDraw.Draw(cloth)
    size = int(bh * 0.62)
    f = font(size)
    while d.textlength(text, font=f) > bw * 0.92 and size > 8:
        size -= 2
        f = font(size)
    tw = d.textlength(text, font=f)
    d.text(((bw - tw) / 2, (bh - size) / 2 - size * 0.1), text, font=f, fill=fg + (255,))
    for k in range(0, bw, 23):  # cloth folds
        d.line([(k, 0), (k + 6, bh)], fill=(0, 0, 0, 12), width=2)
    cloth = cloth.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    draw = ImageDraw.Draw(im)
    for px in (x0 + 4, x1 - 4):
        draw.line([(px, y0 - 10), (px, y1 + bh * 1.6)], fill=(92, 70, 46), width=5)
    im.paste(cloth, (x0 - (cloth.width - bw) // 2, y0 - (cloth.height - bh) // 2), cloth)


def placard(im: Image.Image, centre: tuple[int, int], size: tuple[int, int], text: str, rng: np.random.Generator) -> None:
    w, h = size
    card = Image.new("RGBA", size, (238, 234, 222, 255))
    d = ImageDraw.Draw(card)
    f = font(int(h * 0.42))
    tw = d.textlength(text, font=f)
    d.text(((w - tw) / 2, h * 0.22), text, font=f, fill=(150, 20, 24, 255))
    card = card.rotate(float(rng.uniform(-8, 8)), resample=Image.Resampling.BICUBIC, expand=True)
    ImageDraw.Draw(im).line([(centre[0], centre[1]), (centre[0], centre[1] + h * 2)], fill=(92, 70, 46), width=4)
    im.paste(card, (centre[0] - card.width // 2, centre[1] - card.height // 2), card)


# -- scenes --------------------------------------------------------------------------------------


def protest_scene(seed: int, size: tuple[int, int], banners: list[tuple[str, tuple[int, int, int], tuple[int, int, int]]], placards: list[str], *, crowd_size: int = 260) -> Image.Image:
    """A street protest by day: skyline, a packed street, banners held over the crowd."""
    rng = np.random.default_rng(seed)
    w, h = size
    horizon = int(h * (0.38 + rng.uniform(-0.04, 0.04)))
    im = vertical_gradient(w, h, (120, 160, 205), (205, 218, 228))
    draw = ImageDraw.Draw(im)
    buildings(draw, rng, w, horizon)
    draw.rectangle([0, horizon + 20, w, h], fill=(150, 146, 138))
    for k in range(6):  # wires across the street
        y = horizon - 40 - 18 * k + int(rng.integers(-10, 10))
        draw.line([(0, y), (w // 2, y + 25), (w, y - 5)], fill=(40, 40, 40), width=1)
    crowd(draw, rng, w, horizon + 10, int(h * 0.62), crowd_size // 2, horizon=horizon, floor=h)
    for i, (text, bg, fg) in enumerate(banners):
        bw = int(w * rng.uniform(0.30, 0.42))
        x0 = int((i + 0.5) * w / len(banners) - bw / 2 + rng.uniform(-30, 30))
        y0 = int(h * rng.uniform(0.44, 0.50))
        banner(im, (x0, y0, x0 + bw, y0 + int(h * 0.10)), text, bg, fg, float(rng.uniform(-4, 4)))
    for text in placards:
        placard(im, (int(rng.uniform(0.1, 0.9) * w), int(h * rng.uniform(0.58, 0.66))), (int(w * 0.11), int(h * 0.07)), text, rng)
    crowd(draw, rng, w, int(h * 0.60), h + 20, crowd_size // 2, horizon=horizon, floor=h)
    return grain(im, rng, 3.0, blur=0.5)


def night_scene(seed: int, size: tuple[int, int], *, lamps: int, crowd_size: int, lights: int) -> Image.Image:
    """A street after dark: lit windows, sodium lamps, a crowd holding up phones and candles."""
    rng = np.random.default_rng(seed)
    w, h = size
    horizon = int(h * 0.42)
    im = vertical_gradient(w, h, (8, 12, 30), (40, 36, 52))
    draw = ImageDraw.Draw(im)
    lit = buildings(draw, rng, w, horizon, night=True)
    draw.rectangle([0, horizon + 20, w, h], fill=(30, 28, 30))
    poles = [int((k + 0.5) * w / lamps + rng.uniform(-40, 40)) for k in range(lamps)]
    for px in poles:
        draw.line([(px, horizon - 60), (px, horizon + 120)], fill=(20, 20, 22), width=4)
        draw.line([(px, horizon - 60), (px + 30, horizon - 66)], fill=(20, 20, 22), width=4)
    crowd(draw, rng, w, horizon + 30, h + 40, crowd_size, horizon=horizon, floor=h, night=True)
    points = [(int(rng.uniform(0, w)), int(rng.uniform(horizon + 40, h * 0.9))) for _ in range(lights)]
    for x, y in points:
        draw.ellipse([x - 3, y - 4, x + 3, y + 4], fill=(255, 244, 210))
    im = glow(im, [(px + 30, horizon - 62) for px in poles], 70, (255, 170, 70), 0.55)
    im = glow(im, points, 9, (255, 220, 160), 0.35)
    im = glow(im, lit[:: max(1, len(lit) // 25)], 14, (255, 200, 120), 0.12)
    return grain(im, rng, 7.0, blur=0.7)


def street_aftermath(seed: int, size: tuple[int, int]) -> Image.Image:
    """The graphic item, kept abstract: cracked paving, debris and red splashes; no people."""
    rng = np.random.default_rng(seed)
    w, h = size
    im = vertical_gradient(w, h, (150, 144, 136), (118, 112, 106))
    draw = ImageDraw.Draw(im)
    draw.rectangle([0, 0, w, int(h * 0.28)], fill=(176, 164, 146))  # a wall
    for k in range(0, w, 60):
        draw.line([(k, 0), (k, int(h * 0.28))], fill=(150, 138, 122), width=2)
    draw.rectangle([int(w * 0.62), int(h * 0.05), int(w * 0.78), int(h * 0.26)], fill=(46, 60, 70))  # a shutter
    for _ in range(26):  # cracks
        x, y = float(rng.uniform(0, w)), float(rng.uniform(h * 0.3, h))
        pts = [(x, y)]
        for _ in range(int(rng.integers(3, 7))):
            x += float(rng.uniform(-40, 40))
            y += float(rng.uniform(-25, 25))
            pts.append((x, y))
        draw.line(pts, fill=(70, 66, 62), width=2)
    for _ in range(70):  # debris
        cx, cy, r = float(rng.uniform(0, w)), float(rng.uniform(h * 0.3, h)), float(rng.uniform(4, 26))
        pts = [(cx + r * np.cos(a) * rng.uniform(0.5, 1.2), cy + r * np.sin(a) * rng.uniform(0.5, 1.2)) for a in np.linspace(0, 2 * np.pi, 6, endpoint=False)]
        g = int(rng.integers(90, 190))
        draw.polygon(pts, fill=(g, g - 6, g - 12))
    for _ in range(7):  # splashes: a pool and flung drops
        cx, cy = float(rng.uniform(w * 0.1, w * 0.9)), float(rng.uniform(h * 0.35, h * 0.95))
        r = float(rng.uniform(18, 60))
        red = (int(rng.integers(110, 160)), int(rng.integers(8, 24)), int(rng.integers(12, 28)))
        for _ in range(14):
            dx, dy, rr = rng.normal(0, r * 0.45), rng.normal(0, r * 0.3), r * float(rng.uniform(0.25, 0.6))
            draw.ellipse([cx + dx - rr, cy + dy - rr * 0.7, cx + dx + rr, cy + dy + rr * 0.7], fill=red)
        for _ in range(40):
            a, d = float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(r, r * 3.5))
            rr = float(rng.uniform(1.5, 5))
            x, y = cx + d * np.cos(a), cy + d * np.sin(a) * 0.7
            draw.ellipse([x - rr, y - rr, x + rr, y + rr], fill=red)
    return grain(im, rng, 3.5, blur=0.6)


class RescueScene:
    """A collapsed building with rescuers digging, filmed by a hand-held phone panning slowly."""

    WORLD = (1000, 480)

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        w, h = self.WORLD
        im = vertical_gradient(w, h, (178, 172, 160), (206, 196, 178))
        draw = ImageDraw.Draw(im)
        # what is left standing: a frame with broken floors on the left, a facade on the right
        draw.rectangle([40, 40, 300, 420], fill=(150, 144, 134))
        for fy in range(70, 400, 62):
            draw.rectangle([40, fy, 300, fy + 10], fill=(110, 104, 96))
            for wx in range(60, 290, 46):
                draw.rectangle([wx, fy + 18, wx + 26, fy + 48], fill=(52, 50, 48))
        draw.polygon([(300, 40), (230, 40), (300, 150)], fill=(180, 174, 162))  # torn corner
        draw.rectangle([760, 90, 990, 420], fill=(166, 156, 140))
        for fy in range(110, 400, 56):
            for wx in range(780, 980, 40):
                draw.rectangle([wx, fy, wx + 22, fy + 30], fill=(60, 56, 52))
        # the pile: slabs, blocks and bent rebar
        for _ in range(420):
            cx = float(rng.normal(520, 190))
            cy = float(rng.uniform(200, 470)) + max(0.0, abs(cx - 520) - 150) * 0.35
            r = float(rng.uniform(6, 40))
            a0 = float(rng.uniform(0, np.pi))
            pts = [(cx + r * np.cos(a0 + a) * rng.uniform(0.6, 1.3), cy + r * 0.6 * np.sin(a0 + a) * rng.uniform(0.6, 1.3)) for a in np.linspace(0, 2 * np.pi, int(rng.integers(4, 7)), endpoint=False)]
            g = int(rng.integers(96, 200))
            draw.polygon(pts, fill=(g, g - 4, g - 10), outline=(g - 40, g - 44, g - 48))
        for _ in range(60):
            x, y = float(rng.uniform(250, 800)), float(rng.uniform(220, 440))
            draw.line([(x, y), (x + rng.uniform(-50, 50), y + rng.uniform(-40, 10)), (x + rng.uniform(-70, 70), y + rng.uniform(-60, 0))], fill=(88, 52, 36), width=2)
        self.background = grain(im, rng, 3.0, blur=0.4)
        self.rescuers = [
            (float(rng.uniform(330, 700)), float(rng.uniform(300, 420)), float(rng.uniform(90, 130)), float(rng.uniform(0, 6.28)))
            for _ in range(6)
        ]
        self.dust = rng.uniform(0, 1, (120, 3))
        self.seed = seed

    def frame(self, i: int, fps: int, size: tuple[int, int]) -> Image.Image:
        """Frame ``i``: slow pan left to right with a little hand shake, rescuers digging, dust."""
        t = i / fps
        w, h = size
        view_w, view_h = 640, 360
        shake = np.random.default_rng(self.seed * 1000 + i).normal(0, 1.2, 2)
        x0 = 150 + 18 * t + float(shake[0])
        y0 = 70 + 4 * np.sin(t * 1.3) + float(shake[1])
        im = self.background.copy()
        draw = ImageDraw.Draw(im)
        for k, (x, feet, height, phase) in enumerate(self.rescuers):
            bob = 6 * np.sin(2 * np.pi * 0.9 * t + phase)
            vest = (236, 120, 24) if k % 2 == 0 else (220, 220, 210)
            helmet = (245, 245, 240) if k % 2 == 0 else (236, 120, 24)
            lifting = 1 if np.sin(2 * np.pi * 0.9 * t + phase) > 0.3 else 0
            figure(draw, x + 3 * np.sin(0.5 * t + phase), feet + bob, height, vest, arm_up=lifting, skin=(150, 110, 86), hair=helmet)
        for dx, dy, s in self.dust:
            x = (dx * 1000 + 30 * t * (0.5 + s)) % 1000
            y = 120 + dy * 300 - 10 * t * s
            draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(222, 214, 198))
        view = im.crop((int(x0), int(y0), int(x0) + view_w, int(y0) + view_h))
        return view if (w, h) == (view_w, view_h) else view.resize((w, h), Image.Resampling.LANCZOS)


def rescue_audio(seed: int, seconds: float, rate: int) -> np.ndarray:
    """Rumble, a distant siren and blows of a hammer on concrete, as float32 samples in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    white = rng.normal(0, 1, n)
    brown = np.cumsum(white)
    brown -= np.convolve(brown, np.ones(400) / 400, mode="same")  # keep it from drifting
    rumble = 0.12 * brown / (np.abs(brown).max() + 1e-9)
    siren = 0.08 * np.sin(2 * np.pi * np.cumsum(700 + 180 * np.sin(2 * np.pi * 0.5 * t)) / rate)
    knocks = np.zeros(n)
    for start in np.arange(0.35, seconds, 0.72):
        k = int(start * rate)
        m = min(n - k, int(0.08 * rate))
        knocks[k : k + m] += 0.5 * rng.normal(0, 1, m) * np.exp(-np.arange(m) / (0.012 * rate))
    return np.clip(rumble + siren + knocks + 0.02 * white, -1, 1).astype(np.float32)


def phone_screenshot(photo: Image.Image, *, seed: int) -> Image.Image:
    """A social post as a phone shows it: status bar, header, avatar, a new caption, the old photo."""
    rng = np.random.default_rng(seed)
    w, h = 540, 1170
    im = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.text((24, 14), "9:41", font=font(22), fill=(0, 0, 0))
    for k in range(4):  # signal bars
        d.rectangle([420 + k * 9, 34 - k * 5, 426 + k * 9, 36], fill=(0, 0, 0))
    d.rounded_rectangle([466, 18, 506, 36], radius=4, outline=(0, 0, 0), width=2)
    d.rectangle([470, 22, 496, 32], fill=(0, 0, 0))
    d.line([(24, 80), (38, 68)], fill=(20, 20, 20), width=3)
    d.line([(24, 80), (38, 92)], fill=(20, 20, 20), width=3)
    d.text((60, 66), "Post", font=font(26), fill=(0, 0, 0))
    d.line([(0, 114), (w, 114)], fill=(225, 225, 225), width=1)
    d.ellipse([20, 130, 80, 190], fill=(28, 120, 96))
    d.text((33, 144), "SN", font=font(26), fill=(255, 255, 255))
    d.text((94, 134), "Syria Now 24", font=font(22), fill=(0, 0, 0))
    d.ellipse([246, 138, 264, 156], fill=(29, 155, 240))
    d.text((94, 162), "@syrianow24 · 2h", font=font(18), fill=(110, 118, 125))
    caption = [
        "BREAKING: Huge crowds in the streets of",
        "Busra al-Sham TODAY. The people have not",
        "forgotten. Share before it is deleted!",
        "#Syria #Busra #Daraa",
    ]
    for k, line in enumerate(caption):
        d.text((24, 212 + k * 30), line, font=font(21), fill=(15, 20, 25) if k < 3 else (29, 120, 220))
    pw = w - 32
    ph = round(photo.height * pw / photo.width)
    shot = photo.resize((pw, ph), Image.Resampling.LANCZOS)
    mask = Image.new("L", shot.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, pw - 1, ph - 1], radius=16, fill=255)
    top = 350
    im.paste(shot, (16, top), mask)
    y = top + ph + 20
    d.text((24, y), "10:17 AM · 6 Dec 2024 · 418K Views", font=font(18), fill=(110, 118, 125))
    d.line([(0, y + 40), (w, y + 40)], fill=(225, 225, 225))
    counts = ["1.2K", "9.8K", "31K", "2K"]
    for k, label in enumerate(counts):
        x = 30 + k * 130
        d.ellipse([x, y + 58, x + 22, y + 80], outline=(110, 118, 125), width=2)
        d.text((x + 30, y + 58), label, font=font(18), fill=(110, 118, 125))
    d.line([(0, y + 100), (w, y + 100)], fill=(225, 225, 225))
    for k in range(3):  # replies, greyed out
        ry = y + 120 + k * 90
        d.ellipse([20, ry, 64, ry + 44], fill=tuple(int(v) for v in rng.integers(90, 200, 3)))
        d.rectangle([80, ry + 4, 80 + int(rng.integers(120, 260)), ry + 16], fill=(200, 204, 208))
        d.rectangle([80, ry + 26, 80 + int(rng.integers(200, 420)), ry + 38], fill=(226, 229, 232))
    d.rectangle([0, h - 90, w, h], fill=(250, 250, 250))
    d.line([(0, h - 90), (w, h - 90)], fill=(225, 225, 225))
    for k in range(5):
        cx = 54 + k * 108
        d.rounded_rectangle([cx - 14, h - 62, cx + 14, h - 34], radius=6, outline=(40, 40, 40), width=2)
    d.rounded_rectangle([w // 2 - 70, h - 14, w // 2 + 70, h - 8], radius=3, fill=(0, 0, 0))
    return im


# -- writing files -------------------------------------------------------------------------------


def _dms(v: float) -> tuple[Fraction, Fraction, Fraction]:
    v = abs(v)
    d = int(v)
    m = int((v - d) * 60)
    s = round(((v - d) * 60 - m) * 60 * 100)
    return (Fraction(d, 1), Fraction(m, 1), Fraction(s, 100))


def _rational(v: float) -> IFDRational:
    f = Fraction(v).limit_denominator(10)
    return IFDRational(f.numerator, f.denominator)


def exif(
    *,
    make: str | None = None,
    model: str | None = None,
    software: str | None = None,
    taken: str | None = None,
    offset: str | None = None,
    modified: str | None = None,
    place: str | None = None,
    altitude: float | None = None,
    exposure: tuple[int, int] | None = None,
    f_number: float | None = None,
    iso: int | None = None,
    focal: float | None = None,
) -> bytes:
    """An EXIF block laid out as cameras and phones write it (IFD0, Exif IFD, GPS IFD)."""
    e = Image.Exif()
    if make:
        e[ExifTags.Base.Make] = make
    if model:
        e[ExifTags.Base.Model] = model
    if software:
        e[ExifTags.Base.Software] = software
    if modified or taken:
        e[ExifTags.Base.DateTime] = modified or taken
    e[ExifTags.Base.Orientation] = 1
    sub = e.get_ifd(ExifTags.IFD.Exif)
    if taken:
        sub[ExifTags.Base.DateTimeOriginal] = taken
        sub[ExifTags.Base.DateTimeDigitized] = taken
    if offset:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
        sub[ExifTags.Base.OffsetTime] = offset
    if exposure:
        sub[ExifTags.Base.ExposureTime] = IFDRational(*exposure)
    if f_number:
        sub[ExifTags.Base.FNumber] = _rational(f_number)
    if iso:
        sub[ExifTags.Base.ISOSpeedRatings] = iso
    if focal:
        sub[ExifTags.Base.FocalLength] = _rational(focal)
    if place:
        lat, lon = PLACES[place]
        g = e.get_ifd(ExifTags.IFD.GPSInfo)
        g[0] = b"\x02\x02\x00\x00"
        g[1] = "N" if lat >= 0 else "S"
        g[2] = _dms(lat)
        g[3] = "E" if lon >= 0 else "W"
        g[4] = _dms(lon)
        if altitude is not None:
            g[5] = b"\x00"
            g[6] = _rational(altitude)
    return e.tobytes()


def jpeg(im: Image.Image, quality: int, exif_block: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    kwargs: dict[str, object] = {"quality": quality, "optimize": False, "progressive": False, "subsampling": 2}
    if exif_block:
        kwargs["exif"] = exif_block
    im.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def write_video(
    path: Path,
    frames: Callable[[int], Image.Image],
    n_frames: int,
    *,
    fps: int,
    size: tuple[int, int],
    audio: np.ndarray,
    rate: int,
    metadata: dict[str, str],
    apple_keys: bool,
    crf: int,
) -> None:
    """H.264 + AAC in MP4, single-threaded (x264's output depends on its thread count)."""
    import av

    options = {"movflags": "use_metadata_tags"} if apple_keys else {}
    if apple_keys:
        options["fflags"] = "+bitexact"  # a phone writes no "Lavf" encoder tag
    with av.open(str(path), "w", format="mp4", options=options) as out:
        for k, v in metadata.items():
            out.metadata[k] = v
        v_stream = out.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "medium", "threads": "1"})
        v_stream.width, v_stream.height = size
        v_stream.pix_fmt = "yuv420p"
        v_stream.codec_context.gop_size = fps
        v_stream.codec_context.thread_count = 1
        a_stream = out.add_stream("aac", rate=rate)
        a_stream.layout = "mono"
        a_stream.bit_rate = 64_000
        for i in range(n_frames):
            for packet in v_stream.encode(av.VideoFrame.from_image(frames(i))):
                out.mux(packet)
        for packet in v_stream.encode():
            out.mux(packet)
        chunk = 1024
        for start in range(0, len(audio), chunk):
            block = audio[start : start + chunk]
            frame = av.AudioFrame.from_ndarray(block[None, :], format="fltp", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in a_stream.encode(frame):
                out.mux(packet)
        for packet in a_stream.encode():
            out.mux(packet)


def library_versions() -> dict[str, str]:
    import av
    import PIL

    from PIL import features

    return {
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "libjpeg": str(features.version("jpg")),
        "libjpeg_turbo": str(features.version("libjpeg_turbo")),
        "zlib": str(features.version("zlib")),
        "freetype": str(features.version("freetype2")),
        "pyav": av.__version__,
        "libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
        "libavformat": ".".join(map(str, av.library_versions["libavformat"])),
    }


# -- the set -------------------------------------------------------------------------------------


def generate(out: Path) -> list[Path]:
    """Write every sample under ``out`` (``archive/``, ``incoming/``, ``upload/``); return the paths."""
    archive, incoming = out / "archive", out / "incoming"
    archive.mkdir(parents=True, exist_ok=True)
    incoming.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(path: Path, data: bytes) -> None:
        path.write_bytes(data)
        written.append(path)

    # A1: Busra al-Sham, May 2013, a DSLR photo later posted by a coordination committee.
    busra = protest_scene(
        1301,
        (960, 640),
        [("FREEDOM FOR ALL SYRIANS", (236, 232, 220), (20, 90, 40)), ("BUSRA AL-SHAM IS WITH YOU", (20, 96, 52), (250, 250, 250))],
        ["DIGNITY", "FREEDOM"],
    )
    put(archive / "2013-05-02_busra-al-sham_protest.jpg", jpeg(busra, 88, exif(
        make="Canon", model="Canon EOS 550D", taken="2013:05:02 14:21:07", offset="+03:00", place="Busra al-Sham",
        altitude=850.0, exposure=(1, 500), f_number=8.0, iso=200, focal=35.0)))  # fmt: skip

    # A2: Aleppo, July 2012, a second protest with other banners.
    aleppo = protest_scene(
        1207,
        (960, 640),
        [("STOP THE SHELLING", (180, 30, 36), (255, 255, 255)), ("ALEPPO WANTS FREEDOM", (245, 245, 240), (20, 20, 20))],
        ["NO FEAR", "PEACE", "ALEPPO"],
        crowd_size=320,
    )
    put(archive / "2012-07-13_aleppo_protest.jpg", jpeg(aleppo, 88, exif(
        make="NIKON CORPORATION", model="NIKON D3100", taken="2012:07:13 16:05:33", offset="+03:00", place="Aleppo",
        altitude=390.0, exposure=(1, 320), f_number=7.1, iso=100, focal=24.0)))  # fmt: skip

    # A3: night vigil in Aleppo, February 2014, a phone photo.
    vigil = night_scene(1402, (960, 720), lamps=3, crowd_size=90, lights=70)
    put(archive / "2014-02-10_aleppo_night-vigil.jpg", jpeg(vigil, 86, exif(
        make="SAMSUNG", model="GT-I9300", taken="2014:02:10 21:47:30", offset="+03:00", place="Aleppo",
        exposure=(1, 15), f_number=2.6, iso=800, focal=3.7)))  # fmt: skip

    # A4: Khan Sheikhoun, June 2015: the item an editor marks as graphic.
    street = street_aftermath(1506, (960, 640))
    put(archive / "2015-06-14_khan-sheikhoun_street.jpg", jpeg(street, 88, exif(
        make="samsung", model="SM-G920F", taken="2015:06:14 11:03:52", offset="+03:00", place="Khan Sheikhoun",
        exposure=(1, 1000), f_number=1.9, iso=40, focal=4.3)))  # fmt: skip

    # A5: Idlib, September 2016: the rescue video, as an iPhone records it (ISO 6709 location).
    scene = RescueScene(1609)
    fps, seconds, rate = 25, 5, 44_100
    sound = rescue_audio(1609, seconds, rate)
    put_video = archive / "2016-09-20_idlib_rescue.mp4"
    write_video(
        put_video, lambda i: scene.frame(i, fps, (640, 360)), fps * seconds, fps=fps, size=(640, 360), audio=sound, rate=rate,
        metadata={
            "creation_time": "2016-09-20T04:42:10.000000Z",
            "location": "+35.9306+036.6339/",
            "com.apple.quicktime.location.ISO6709": "+35.9306+036.6339+000.000/",
            "com.apple.quicktime.make": "Apple",
            "com.apple.quicktime.model": "iPhone 6s",
            "com.apple.quicktime.software": "10.0.1",
            "com.apple.quicktime.creationdate": "2016-09-20T07:42:10+0300",
        },
        apple_keys=True, crf=27,
    )  # fmt: skip
    written.append(put_video)

    # I1: a phone screenshot of a post that presents the 2013 Busra photo as today's.
    put(incoming / "screenshot_syrianow24_busra-today.png", png(phone_screenshot(busra, seed=2401)))

    # I2: the 2012 Aleppo photo cropped, mirrored and re-posted; platforms strip the metadata.
    w, h = aleppo.size
    repost = ImageOps.mirror(aleppo.crop((int(w * 0.18), int(h * 0.12), int(w * 0.88), int(h * 0.86))))
    repost = repost.resize((640, round(640 * repost.height / repost.width)), Image.Resampling.LANCZOS)
    put(incoming / "telegram_idlib-protest-yesterday.jpg", jpeg(repost, 72))

    # I3: a still from the 2016 rescue video, levels adjusted and saved in Photoshop.
    still = ImageEnhance.Contrast(scene.frame(2 * fps, fps, (640, 360))).enhance(1.15)
    still = ImageEnhance.Sharpness(still).enhance(1.3)
    put(incoming / "khan-sheikhoun_rescue_this-morning.jpg", jpeg(still, 92, exif(
        software="Adobe Photoshop 25.0 (Windows)", modified="2024:12:06 08:12:45")))  # fmt: skip

    # I4: the rescue video again, trimmed by a second, downscaled and watermarked by a re-uploader.
    def reupload(i: int) -> Image.Image:
        frame = scene.frame(i + fps, fps, (426, 240))
        ImageDraw.Draw(frame).text((330, 214), "@syria_now", font=font(14), fill=(255, 255, 255))
        return frame

    reup = incoming / "whatsapp_rescue_khan-sheikhoun.mp4"
    write_video(reup, reupload, fps * (seconds - 1), fps=fps, size=(426, 240), audio=sound[rate:], rate=rate,
                metadata={}, apple_keys=False, crf=30)  # fmt: skip
    written.append(reup)

    # I5: the graphic Khan Sheikhoun photo, downsized and re-posted with a channel watermark.
    graphic = street.resize((720, 480), Image.Resampling.LANCZOS)
    ImageDraw.Draw(graphic).text((560, 450), "@aleppo_now", font=font(20), fill=(255, 255, 255))
    put(incoming / "aleppo-now_shelling-today.jpg", jpeg(graphic, 80))

    # I6: a fresh night protest in Aleppo whose metadata agrees with its claim.
    night = night_scene(2412, (1008, 756), lamps=4, crowd_size=140, lights=110)
    put(incoming / "aleppo_night-protest.jpg", jpeg(night, 85, exif(
        make="samsung", model="SM-A546B", taken="2024:12:05 21:12:40", offset="+03:00", place="Aleppo",
        altitude=402.0, exposure=(1, 20), f_number=1.8, iso=1600, focal=5.5)))  # fmt: skip

    # I7: a banner photo claimed as Idlib today; its GPS says Busra al-Sham and its date 2023.
    banner_photo = protest_scene(
        2303,
        (1008, 756),
        [("IDLIB WILL NOT KNEEL", (30, 30, 30), (255, 255, 255))],
        ["BREAD", "FREEDOM", "JUSTICE"],
        crowd_size=200,
    )
    put(incoming / "idlib_banner-today.jpg", jpeg(banner_photo, 87, exif(
        make="Xiaomi", model="Redmi Note 12", taken="2023:03:18 12:30:05", offset="+03:00", place="Busra al-Sham",
        altitude=851.0, exposure=(1, 800), f_number=1.8, iso=50, focal=5.6)))  # fmt: skip

    # U1: for the walkthrough, not seeded: the 2013 Busra photo forwarded on a messenger with a
    # caption burnt in, as an editor would receive it and upload it by hand.
    upload = out / "upload"
    upload.mkdir(parents=True, exist_ok=True)
    w, h = busra.size
    forward = busra.crop((int(w * 0.03), int(h * 0.02), int(w * 0.97), int(h * 0.98))).resize((800, 521), Image.Resampling.LANCZOS)
    framed = Image.new("RGB", (800, 581), (0, 0, 0))
    framed.paste(forward, (0, 0))
    d = ImageDraw.Draw(framed)
    d.text((16, 536), "Busra al-Sham right now. They cannot stop us.", font=font(26), fill=(255, 255, 255))
    put(upload / "forwarded_busra-al-sham-today.jpg", jpeg(framed, 68))

    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write archive/, incoming/ and upload/ into (default: samples/)")
    args = parser.parse_args(argv)
    written = generate(args.out)
    (args.out / "generated-with.json").write_text(json.dumps(library_versions(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in written)
    for p in written:
        print(f"{p.stat().st_size / 1024:8.0f} KB  {p.relative_to(args.out)}")
    print(f"{total / 1024 / 1024:8.2f} MB  in {len(written)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
