"""Pillow processing, written the way the Pillow docs show it (and as bench/peers.py measures it)."""
import io

from PIL import Image, ImageFilter, ImageOps

from .recipe import Recipe

_SAVE = {"jpeg": ("JPEG", "image/jpeg", "jpg"), "png": ("PNG", "image/png", "png"),
         "webp": ("WEBP", "image/webp", "webp")}


def _apply(im: Image.Image, operations) -> Image.Image:
    for op in operations:
        if op.op == "resize":
            if op.fit == "inside":
                # thumbnail: never enlarges, keeps the aspect, Lanczos with Pillow's reducing gap.
                im.thumbnail((op.width or 1_000_000, op.height or 1_000_000), Image.LANCZOS)
            elif op.fit == "cover":
                im = ImageOps.fit(im, (op.width, op.height), Image.LANCZOS)
            elif op.fit == "contain":
                im = ImageOps.contain(im, (op.width, op.height), Image.LANCZOS)
            else:
                im = im.resize((op.width, op.height), Image.LANCZOS)
        elif op.op == "grayscale":
            im = im.convert("L")
        elif op.op == "blur":
            im = im.filter(ImageFilter.GaussianBlur(op.sigma))
        elif op.op == "sharpen":
            im = im.filter(ImageFilter.UnsharpMask(radius=op.sigma, percent=round(op.amount * 100),
                                                   threshold=op.threshold))
        # auto_orient: exif_transpose ran on the decoded image (see process).
    return im


def _orients(recipe: Recipe) -> bool:
    ops = list(recipe.operations) + [op for out in recipe.outputs for op in (out.operations or [])]
    return any(op.op == "auto_orient" for op in ops)


def process(data: bytes, recipe: Recipe):
    """Decodes once, runs the shared operations, then each output's own; yields
    (output, encoded bytes, content type, extension, width, height)."""
    opened = Image.open(io.BytesIO(data))
    if _orients(recipe):
        base = ImageOps.exif_transpose(opened)  # a loaded copy, upright
    else:
        # Left lazy, so thumbnail() can draft: a JPEG decoded at 1/2..1/8 scale, as Pillow's docs
        # recommend. exif_transpose would load it whole first.
        base = opened
    base = _apply(base, recipe.operations)
    results = []
    for out in recipe.outputs:
        # thumbnail works in place, so a variant with its own operations starts from a copy.
        im = _apply(base.copy() if out.operations else base, out.operations)
        fmt, content_type, ext = _SAVE[out.format]
        if fmt == "JPEG" and im.mode not in ("RGB", "L", "CMYK"):
            im = im.convert("RGB")
        buf = io.BytesIO()
        if fmt == "PNG":
            im.save(buf, fmt)
        else:
            im.save(buf, fmt, quality=out.quality)
        results.append((out, buf.getvalue(), content_type, ext, im.width, im.height))
    return results
