#!/usr/bin/env python3
"""Peer runs for BENCHMARKS.md: W1/W2/W3 with libvips (pyvips) and Pillow, one core, same files.

usage: peers.py INPUT_DIR ITERATIONS [WORKLOAD ...]   (e.g. W3; all three by default)
Each workload runs ITERATIONS times in this one process (no start-up cost counted), after one
warm-up run, and prints images/s and the output sizes. Run it under `taskset -c 0` with
VIPS_CONCURRENCY=1 so both libraries use a single core, as the engine does.
"""
import os
import sys
import time

import pyvips
from PIL import Image, ImageFilter, ImageOps

src_dir, n = sys.argv[1], int(sys.argv[2])
only = set(sys.argv[3:])
big = os.path.join(src_dir, "camera-12mp.jpg")
small = os.path.join(src_dir, "camera-2mp.jpg")
out = lambda name: os.path.join(src_dir, name)

pyvips.cache_set_max(0)  # no operation cache: every iteration does the whole job


def vips_w1():
    im = pyvips.Image.thumbnail(big, 800, height=600)  # shrink-on-load + lanczos3, autorotate
    im.write_to_file(out("vips-W1.jpg"), Q=85)
    return [out("vips-W1.jpg")]


def vips_w2():
    # libvips' own advice for variants: one thumbnail call per size, each with shrink-on-load.
    paths = []
    for w in (1600, 800, 200):
        im = pyvips.Image.thumbnail(big, w, height=10_000_000)
        p = out(f"vips-W2-{w}.jpg")
        im.write_to_file(p, Q=85)
        paths.append(p)
    return paths


def vips_w3():
    im = pyvips.Image.new_from_file(small, access="sequential")
    im = im.colourspace("b-w").gaussblur(2).sharpen(sigma=1)
    im.write_to_file(out("vips-W3.png"))
    return [out("vips-W3.png")]


def pil_w1():
    with Image.open(big) as im:
        im = ImageOps.exif_transpose(im)
        im.thumbnail((800, 600), Image.LANCZOS)
        im.save(out("pil-W1.jpg"), quality=85)
    return [out("pil-W1.jpg")]


def pil_w2():
    paths = []
    with Image.open(big) as im:
        im = ImageOps.exif_transpose(im)
        for w in (1600, 800, 200):
            h = round(im.height * w / im.width)
            p = out(f"pil-W2-{w}.jpg")
            im.resize((w, h), Image.LANCZOS).save(p, quality=85)
            paths.append(p)
    return paths


def pil_w3():
    with Image.open(small) as im:
        im = im.convert("L").filter(ImageFilter.GaussianBlur(2))
        im = im.filter(ImageFilter.UnsharpMask(radius=1, percent=100, threshold=0))
        im.save(out("pil-W3.png"))
    return [out("pil-W3.png")]


for name, fn in [
    ("vips W1", vips_w1), ("vips W2", vips_w2), ("vips W3", vips_w3),
    ("pillow W1", pil_w1), ("pillow W2", pil_w2), ("pillow W3", pil_w3),
]:
    if only and name.split()[1] not in only:
        continue
    fn()
    start = time.perf_counter()
    for _ in range(n):
        paths = fn()
    secs = time.perf_counter() - start
    sizes = " ".join(str(os.path.getsize(p)) for p in paths)
    print(f"{name}: {n / secs:.2f} images/s ({secs * 1000 / n:.1f} ms each; output bytes {sizes})")
print(f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}, Pillow {Image.__version__}")
