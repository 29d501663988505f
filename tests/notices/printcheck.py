"""Checks that a PDF prints the same in every reader: embedded fonts select the intended glyphs,
and Ghostscript, MuPDF and PDFium draw the text poppler draws.

Two independent checks, because each engine resolves a CID to a glyph its own way:
- `font_faults`: a structural test of every embedded CIDFont with fontTools. For each CID the
  page draws (the ToUnicode map lists them with their characters) it selects the glyph the way
  the PDF specification says (a CID-keyed CFF through its charset, a TrueType through
  CIDToGIDMap) and compares that glyph's outline with the outline the installed full font has
  for the character.
- `raster_mismatch`: the page rendered by poppler and by another engine, binarised, compared
  inside the boxes of the page's characters (pdfplumber) with a one-pixel tolerance; boxes or
  blank glyphs leave most of poppler's ink unmatched, anti-aliasing differences do not.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter

DPI = 50
INK = 160  # a pixel darker than this (0-255 gray) is ink


# -- structural: every drawn CID selects the intended glyph ------------------------------------------------


@lru_cache(maxsize=32)
def _reference_font(path: str, index: int) -> Any:
    from fontTools.ttLib import TTFont

    return TTFont(path, fontNumber=index, lazy=True)


@lru_cache(maxsize=64)
def _family_faces(family: str) -> tuple[tuple[str, int], ...]:
    """Installed faces of `family` (fc-list), every weight."""
    out = subprocess.run(["fc-list", f":family={family}", "file", "index"], capture_output=True, text=True,
                         check=False).stdout
    faces = []
    for line in out.splitlines():
        m = re.match(r"(.+?): ?:?index=(\d+)", line.strip())
        if m:
            faces.append((m.group(1).rstrip(":"), int(m.group(2))))
    return tuple(sorted(set(faces)))


def _outline(glyph_set: Any, name: str) -> list[Any]:
    from fontTools.pens.recordingPen import DecomposingRecordingPen

    pen = DecomposingRecordingPen(glyph_set)
    glyph_set[name].draw(pen)
    return [(op, tuple(tuple(round(c, 2) for c in pt) for pt in args)) for op, args in pen.value]


def _to_unicode(stream: bytes) -> dict[int, str]:
    out: dict[int, str] = {}
    text = stream.decode("latin-1")
    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for cid, uni in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            out[int(cid, 16)] = bytes.fromhex(uni).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, uni in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            first = ord(bytes.fromhex(uni).decode("utf-16-be"))
            for i, cid in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[cid] = chr(first + i)
    return out


def _selected_glyph(font: Any, subtype: str, cid: int, cid_to_gid: Any) -> str | None:
    """The glyph name a conforming reader draws for `cid` (None: no such glyph)."""
    order = font.getGlyphOrder()
    if subtype == "/CIDFontType0" and "CFF " in font:
        top = font["CFF "].cff.topDictIndex[0]
        if hasattr(top, "ROS"):  # CID-keyed: through the charset
            name = ".notdef" if cid == 0 else f"cid{cid:05d}"
            return name if name in font.getGlyphSet() else None
        return order[cid] if cid < len(order) else None  # name-keyed: CID = glyph index
    gid = cid
    if cid_to_gid is not None and cid_to_gid != "/Identity":
        data = cid_to_gid.get_object().get_data()
        if 2 * cid + 1 >= len(data):
            return None
        gid = int.from_bytes(data[2 * cid: 2 * cid + 2], "big")
    return order[gid] if gid < len(order) else None


def font_faults(pdf: Path | bytes, faces: dict[str, tuple[str, int]] | None = None, *,
                limit: int = 20) -> list[str]:
    """What is wrong with the embedded fonts of `pdf` (empty: every drawn glyph is right).

    `faces` maps a font family as the PDF names it (e.g. "tuoyou-body") to the installed face
    it was cut from; other families are looked up with fontconfig (any weight may match).
    """
    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)
    faults: list[str] = []
    done: set[Any] = set()
    for page in reader.pages:
        for ref in (page["/Resources"].get("/Font") or {}).values():
            key = getattr(ref, "idnum", id(ref))
            if key in done:
                continue
            done.add(key)
            font = ref.get_object()
            name = str(font.get("/BaseFont"))
            if font.get("/Subtype") != "/Type0":
                faults.append(f"{name}: not a CID font ({font.get('/Subtype')})")
                continue
            cid_font = font["/DescendantFonts"][0].get_object()
            desc = cid_font["/FontDescriptor"].get_object()
            file = desc.get("/FontFile3") or desc.get("/FontFile2")
            if file is None:
                faults.append(f"{name}: not embedded")
                continue
            file = file.get_object()
            if "/FontFile3" in desc and file.get("/Subtype") != "/OpenType":
                faults.append(f"{name}: bare {file.get('/Subtype')} program (not checked)")
                continue
            embedded = TTFont(io.BytesIO(file.get_data()))
            family = str(desc.get("/FontFamily", ""))
            candidates = [faces[family]] if faces and family in faces else list(_family_faces(family))
            if not candidates:
                faults.append(f"{name}: no installed face of family {family!r} to compare with")
                continue
            subtype = str(cid_font["/Subtype"])
            cid_to_gid = cid_font.get("/CIDToGIDMap")
            cids = _to_unicode(font["/ToUnicode"].get_object().get_data())
            glyphs = embedded.getGlyphSet()
            best: list[str] | None = None
            for path, index in candidates:
                ref_font = _reference_font(path, index)
                cmap = ref_font.getBestCmap() or {}
                ref_glyphs = ref_font.getGlyphSet()
                wrong = []
                for cid, text in sorted(cids.items()):
                    if len(text) != 1 or ord(text) not in cmap:
                        continue
                    glyph = _selected_glyph(embedded, subtype, cid, cid_to_gid)
                    if glyph is None:
                        wrong.append(f"{text!r} (CID {cid}) selects no glyph")
                    elif _outline(glyphs, glyph) != _outline(ref_glyphs, cmap[ord(text)]):
                        wrong.append(f"{text!r} (CID {cid}) draws glyph {glyph}, not the font's {cmap[ord(text)]}")
                if best is None or len(wrong) < len(best):
                    best = wrong
                if not wrong:
                    break
            if best:
                faults.append(f"{name} ({subtype}, {len(best)} of {len(cids)} glyphs wrong): "
                              + "; ".join(best[:5]))
            if len(faults) >= limit:
                break
    return faults


# -- rasters: each engine draws the text poppler draws -------------------------------------------------


def _pngs(cmd: list[str], out: Path, pages: tuple[int, ...]) -> dict[int, Image.Image]:
    subprocess.run(cmd, capture_output=True, check=True, timeout=120)
    files = sorted(out.glob("*.png"), key=lambda f: int(re.findall(r"\d+", f.stem)[-1]))
    return {page: Image.open(f).convert("L") for page, f in zip(pages, files, strict=True)}


def poppler(pdf: Path, pages: tuple[int, ...], out: Path) -> dict[int, Image.Image]:
    got = _pngs(["pdftoppm", "-r", str(DPI), "-f", str(pages[0]), "-l", str(pages[-1]), "-gray", "-png",
                 str(pdf), str(out / "p")], out, tuple(range(pages[0], pages[-1] + 1)))
    return {p: got[p] for p in pages}


def ghostscript(pdf: Path, pages: tuple[int, ...], out: Path) -> dict[int, Image.Image]:
    return _pngs(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pnggray", f"-r{DPI}",
                  "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4", "-sPageList=" + ",".join(map(str, pages)),
                  f"-sOutputFile={out}/g-%03d.png", str(pdf)], out, pages)


def mupdf(pdf: Path, pages: tuple[int, ...], out: Path) -> dict[int, Image.Image]:
    return _pngs(["mutool", "draw", "-q", "-r", str(DPI), "-c", "gray", "-o", f"{out}/m-%03d.png", str(pdf),
                  ",".join(map(str, pages))], out, pages)


def pdfium(pdf: Path, pages: tuple[int, ...], out: Path) -> dict[int, Image.Image]:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        return {p: doc[p - 1].render(scale=DPI / 72, grayscale=True).to_pil().convert("L") for p in pages}
    finally:
        doc.close()


Renderer = Callable[[Path, tuple[int, ...], Path], dict[int, Image.Image]]

ENGINES: dict[str, tuple[str | None, Renderer]] = {
    "ghostscript": ("gs", ghostscript),
    "mupdf": ("mutool", mupdf),
    "pdfium": (None, pdfium),
}


@lru_cache(maxsize=256)
def render_pages(engine: str, pdf: Path, pages: tuple[int, ...]) -> dict[int, Image.Image]:
    """`pages` of `pdf` drawn by `engine` ("poppler" or one of `ENGINES`) at `DPI`, gray."""
    fn = poppler if engine == "poppler" else ENGINES[engine][1]
    with tempfile.TemporaryDirectory(prefix="print-") as tmp:
        return fn(pdf, tuple(sorted(pages)), Path(tmp))


def engine_available(engine: str) -> bool:
    exe = ENGINES[engine][0]
    if exe is None:
        try:
            import pypdfium2  # noqa: F401
        except ImportError:
            return False
        return True
    return shutil.which(exe) is not None


def _ink(img: Image.Image) -> Image.Image:
    return img.point(lambda v: 255 if v < INK else 0)


@lru_cache(maxsize=256)
def _text_mask(pdf: Path, page: int, size: tuple[int, int]) -> Image.Image:
    import pdfplumber

    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    with pdfplumber.open(pdf) as doc:
        p = doc.pages[page - 1]
        sx, sy = size[0] / float(p.width), size[1] / float(p.height)
        for c in p.chars:
            draw.rectangle([c["x0"] * sx, c["top"] * sy, c["x1"] * sx, c["bottom"] * sy], fill=255)
    return mask


def _unmatched(a: Image.Image, b: Image.Image, mask: Image.Image) -> float:
    """The share of `a`'s ink inside `mask` with no ink of `b` within one pixel."""
    ink_a = ImageChops.multiply(_ink(a), mask)
    near_b = _ink(b).filter(ImageFilter.MaxFilter(3))
    total = ink_a.histogram()[255]
    return ImageChops.subtract(ink_a, near_b).histogram()[255] / max(total, 1)


def raster_mismatch(pdf: Path, pages: tuple[int, ...], engine: str) -> dict[int, float]:
    """How differently `engine` draws the text of each of `pages` than poppler (0 same, ~1 blank).

    The larger of the two directions, so boxes (ink where poppler has none) and blank glyphs
    (no ink where poppler has some) both count. A right page scores under 0.06 at 50 dpi; the
    old pre-cut fonts scored 0.28 and more in Ghostscript, 0.9 in MuPDF.
    """
    refs = render_pages("poppler", pdf, pages)
    imgs = render_pages(engine, pdf, pages)
    out = {}
    for page in pages:
        ref, img = refs[page], imgs[page]
        if img.size != ref.size:
            img = img.resize(ref.size)
        mask = _text_mask(pdf, page, ref.size)
        out[page] = max(_unmatched(ref, img, mask), _unmatched(img, ref, mask))
    return out
