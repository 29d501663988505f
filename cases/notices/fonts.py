"""Fonts for notices: pick the CJK faces the district asks for and pre-subset them once, on disk.

WeasyPrint subsets every embedded font on every `write_pdf`. For a 20 MB CJK collection that
costs seconds (fontTools) or a tenth of a second and a 200 KB font per notice (HarfBuzz).
So each face is cut down ONCE to a fixed character set (GB 2312, ASCII, Latin-1, CJK and
fullwidth punctuation, plus every character of the notice templates and of the district
config), kept in a cache directory keyed by font file and character set, and handed to
WeasyPrint through `@font-face`. WeasyPrint then subsets a small font per notice, and
characters outside the set fall back, glyph by glyph, to the configured system families.

The cached font is a pure function of (font file, face index, character set), so notices
stay byte-for-byte reproducible. HarfBuzz (libharfbuzz-subset, which WeasyPrint already
loads) cuts the fonts in a fraction of a second; without it fontTools does it, slowly, once.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)

#: Bump when the way cached fonts are cut changes, so old files are not reused.
CACHE_VERSION = "2"

#: fontconfig weights (fc-match `weight=`): regular and bold.
FC_REGULAR = 80
FC_BOLD = 200

GENERIC_FAMILIES = frozenset({"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui"})

#: Tables a notice never needs: shaping tables (WeasyPrint drops them from the PDF anyway, and
#: keeping them drags thousands of alternate glyphs into the subset), vertical metrics, hinting.
_DROP_TABLES = (b"GSUB", b"GPOS", b"BASE", b"JSTF", b"MATH", b"vhea", b"vmtx", b"VORG", b"DSIG",
                b"LTSH", b"PCLT", b"EBDT", b"EBLC", b"EBSC", b"SVG ", b"COLR", b"CPAL", b"CBDT",
                b"CBLC", b"sbix")

_UNSAFE_CSS = re.compile(r"[<>{};\\]")


def _ranges(*pairs: tuple[int, int]) -> set[int]:
    out: set[int] = set()
    for lo, hi in pairs:
        out.update(range(lo, hi + 1))
    return out


@lru_cache(maxsize=1)
def base_codepoints() -> frozenset[int]:
    """Every character of GB 2312 plus ASCII, Latin-1, punctuation and fullwidth forms."""
    cps: set[int] = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                cps.add(ord(bytes((hi, lo)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    cps |= _ranges(
        (0x20, 0x7E),  # ASCII
        (0xA0, 0xFF),  # Latin-1 supplement
        (0x2000, 0x206F),  # general punctuation (— … ‘ ’ “ ”)
        (0x2150, 0x218F),  # number forms (Ⅰ Ⅱ)
        (0x2190, 0x21FF),  # arrows
        (0x2460, 0x24FF),  # enclosed alphanumerics (① ②)
        (0x25A0, 0x25FF),  # geometric shapes (■ □ ○ ●)
        (0x3000, 0x303F),  # CJK symbols and punctuation (、。〔〕《》)
        (0xFF00, 0xFFEF),  # halfwidth and fullwidth forms (，：（）)
    )
    return frozenset(cps)


# -- choosing faces ------------------------------------------------------------------------


@dataclass(frozen=True)
class FontFace:
    """One face of an installed font file (a .ttc collection holds several)."""

    path: str
    index: int
    family: str
    weight: int  # fontconfig weight


def split_families(css_list: str) -> list[str]:
    """`'"Noto Serif CJK SC", serif'` → `["Noto Serif CJK SC", "serif"]`."""
    out: list[str] = []
    for part in re.findall(r'"[^"]*"|\'[^\']*\'|[^,]+', css_list):
        name = part.strip().strip("\"'").strip()
        if name:
            out.append(name)
    return out


def safe_css_families(css_list: str, fallback: str) -> str:
    """The family list if it is a plain CSS font-family value, else `fallback` (logged)."""
    if _UNSAFE_CSS.search(css_list) or not split_families(css_list):
        _LOGGER.warning("font-family list %r refused (unsafe characters); using %r", css_list, fallback)
        return fallback
    return css_list


def _fc_match(pattern: str) -> FontFace | None:
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    fmt = "%{file}\\n%{index}\\n%{family}\\n%{weight}\\n"
    try:
        out = subprocess.run([exe, "--format", fmt, pattern], capture_output=True, text=True,
                             timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        _LOGGER.warning("fc-match %r failed: %s", pattern, exc)
        return None
    lines = out.split("\n")
    if len(lines) < 4 or not lines[0]:
        return None
    try:
        index = int(lines[1] or 0)
        weight = int(float(lines[3] or FC_REGULAR))
    except ValueError:
        return None
    return FontFace(path=lines[0], index=index, family=lines[2], weight=weight)


@lru_cache(maxsize=64)
def resolve_face(css_list: str, weight: int = FC_REGULAR) -> FontFace | None:
    """The first family of a CSS font-family list that is installed, as a face on disk.

    A generic family (`serif`, `sans-serif`) matches whatever fontconfig prefers for Chinese.
    None when nothing suitable is installed (the notice then uses the system fonts directly).
    """
    for name in split_families(css_list):
        if name.lower() in GENERIC_FAMILIES:
            face = _fc_match(f"{name}:lang=zh-cn:weight={weight}")
            if face is not None and _has_cjk(face):
                return face
            continue
        face = _fc_match(f"{_fc_escape(name)}:weight={weight}")
        if face is None:
            continue
        names = {n.strip().casefold() for n in face.family.split(",")}
        if name.casefold() in names:
            _LOGGER.debug("font %r → %s#%d (weight %d)", name, face.path, face.index, face.weight)
            return face
    _LOGGER.warning("none of the fonts %r is installed: Chinese may render as boxes", css_list)
    return None


def _fc_escape(name: str) -> str:
    return re.sub(r"([-:,\\])", r"\\\1", name)


def _has_cjk(face: FontFace) -> bool:
    try:
        from fontTools.ttLib import TTFont

        with TTFont(face.path, fontNumber=face.index, lazy=True) as font:
            cmap = font.getBestCmap() or {}
        return ord("中") in cmap and ord("国") in cmap
    except Exception:  # a broken font file must not stop the notices
        _LOGGER.debug("cannot read %s", face.path, exc_info=True)
        return False


# -- cutting fonts ---------------------------------------------------------------------------


class _HarfBuzzSubsetter:
    """HarfBuzz's subsetter through cffi: the same libraries WeasyPrint loads."""

    _CDEF = """
        typedef struct hb_blob_t hb_blob_t;
        typedef struct hb_face_t hb_face_t;
        typedef struct hb_subset_input_t hb_subset_input_t;
        typedef struct hb_set_t hb_set_t;
        typedef uint32_t hb_codepoint_t;
        typedef uint32_t hb_tag_t;
        hb_blob_t * hb_blob_create_from_file (const char *file_name);
        void hb_blob_destroy (hb_blob_t *blob);
        const char * hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
        hb_face_t * hb_face_create (hb_blob_t *blob, unsigned int index);
        void hb_face_destroy (hb_face_t *face);
        unsigned int hb_face_get_glyph_count (const hb_face_t *face);
        hb_blob_t * hb_face_reference_blob (hb_face_t *face);
        hb_tag_t hb_tag_from_string (const char *str, int len);
        void hb_set_add (hb_set_t *set, hb_codepoint_t codepoint);
        hb_subset_input_t * hb_subset_input_create_or_fail (void);
        void hb_subset_input_destroy (hb_subset_input_t *input);
        hb_set_t * hb_subset_input_unicode_set (hb_subset_input_t *input);
        hb_set_t * hb_subset_input_set (hb_subset_input_t *input, int set_type);
        void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned value);
        hb_face_t * hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
    """
    _SETS_DROP_TABLE_TAG = 3
    _FLAGS_NO_HINTING = 0x1

    def __init__(self) -> None:
        import cffi

        self.ffi = cffi.FFI()
        self.ffi.cdef(self._CDEF)
        self.hb = self._open("libharfbuzz.so.0", "libharfbuzz.0.dylib", "libharfbuzz-0.dll", "harfbuzz")
        self.hbs = self._open("libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib",
                              "libharfbuzz-subset-0.dll", "harfbuzz-subset")

    def _open(self, *names: str) -> Any:
        errors = []
        for name in names:
            try:
                return self.ffi.dlopen(name)
            except OSError as exc:
                errors.append(str(exc))
        raise OSError("; ".join(errors))

    def subset(self, path: str, index: int, codepoints: Iterable[int]) -> bytes | None:
        ffi, hb, hbs = self.ffi, self.hb, self.hbs
        blob = hb.hb_blob_create_from_file(path.encode())
        face = hb.hb_face_create(blob, index)
        inp = hbs.hb_subset_input_create_or_fail()
        result = ffi.NULL
        try:
            if inp == ffi.NULL or hb.hb_face_get_glyph_count(face) == 0:
                return None
            uni = hbs.hb_subset_input_unicode_set(inp)
            for cp in sorted(codepoints):
                hb.hb_set_add(uni, cp)
            drop = hbs.hb_subset_input_set(inp, self._SETS_DROP_TABLE_TAG)
            for tag in _DROP_TABLES:
                hb.hb_set_add(drop, hb.hb_tag_from_string(tag, -1))
            hbs.hb_subset_input_set_flags(inp, self._FLAGS_NO_HINTING)
            result = hbs.hb_subset_or_fail(face, inp)
            if result == ffi.NULL:
                return None
            out_blob = hb.hb_face_reference_blob(result)
            length = ffi.new("unsigned int *")
            data = hb.hb_blob_get_data(out_blob, length)
            content = bytes(ffi.buffer(data, length[0])) if length[0] else None
            hb.hb_blob_destroy(out_blob)
            return content
        finally:
            if result != ffi.NULL:
                hb.hb_face_destroy(result)
            if inp != ffi.NULL:
                hbs.hb_subset_input_destroy(inp)
            hb.hb_face_destroy(face)
            hb.hb_blob_destroy(blob)


@lru_cache(maxsize=1)
def _harfbuzz() -> _HarfBuzzSubsetter | None:
    try:
        return _HarfBuzzSubsetter()
    except (OSError, AttributeError, ImportError) as exc:
        _LOGGER.info("HarfBuzz subsetter unavailable (%s): fonts are cut with fontTools", exc)
        return None


def _fonttools_subset(path: str, index: int, codepoints: Iterable[int]) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options(hinting=False, ignore_missing_glyphs=True, ignore_missing_unicodes=True,
                             desubroutinize=True, layout_features=[], name_IDs=["*"],
                             notdef_outline=True)
    options.drop_tables += [t.decode().strip() for t in _DROP_TABLES]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codepoints))
    with TTFont(path, fontNumber=index, recalcTimestamp=False, lazy=False) as font:
        subsetter.subset(font)
        buf = io.BytesIO()
        font.save(buf)
    return buf.getvalue()


def subset_face(face: FontFace, codepoints: Iterable[int]) -> bytes:
    """`face` cut down to `codepoints` (HarfBuzz when available, else fontTools)."""
    cps = sorted(set(codepoints))
    hb = _harfbuzz()
    if hb is not None:
        data = hb.subset(face.path, face.index, cps)
        if data:
            return identity_cids(data)
        _LOGGER.warning("HarfBuzz could not subset %s#%d; trying fontTools", face.path, face.index)
    return identity_cids(_fonttools_subset(face.path, face.index, cps))


# -- CID = glyph index -------------------------------------------------------------------------


def _charset_size(cff: bytes | bytearray, offset: int, num_glyphs: int) -> int:
    """The length in bytes of the CFF charset at `offset` (formats 0, 1 and 2)."""
    fmt = cff[offset]
    if fmt == 0:
        return 1 + 2 * (num_glyphs - 1)
    if fmt not in (1, 2):
        raise ValueError(f"unknown CFF charset format {fmt}")
    pos, covered, width = offset + 1, 0, 3 if fmt == 1 else 4
    while covered < num_glyphs - 1:
        left = cff[pos + 2] if fmt == 1 else struct.unpack_from(">H", cff, pos + 2)[0]
        covered += left + 1
        pos += width
    return pos - offset


def identity_charset(num_glyphs: int) -> bytes:
    """The shortest CFF charset that gives glyph `i` the CID `i` (`.notdef` is implicit)."""
    options = [bytes([0]) + b"".join(struct.pack(">H", cid) for cid in range(1, num_glyphs))]
    fmt1 = bytearray([1])
    cid = 1
    while cid < num_glyphs:
        run = min(256, num_glyphs - cid)
        fmt1 += struct.pack(">HB", cid, run - 1)
        cid += run
    options.append(bytes(fmt1))
    if num_glyphs > 1:
        options.append(bytes([2]) + struct.pack(">HH", 1, num_glyphs - 2))
    return min(options, key=len)


def identity_cids(data: bytes) -> bytes:
    """`data` (an OpenType font) with its CID-keyed CFF renumbered so that CID = glyph index.

    Subsetting a CID-keyed CFF (HarfBuzz or fontTools) renumbers the glyphs but keeps each
    glyph's original CID in the charset. WeasyPrint writes glyph indices as the CIDs of the
    page's text and embeds the font as a CIDFontType0 program, and a conforming reader
    (Ghostscript, MuPDF, Acrobat) selects a glyph by looking the CID up in the charset: with
    the original CIDs it finds the wrong glyph or none (boxes, blank pages), while poppler
    happens to use the index. An identity charset makes both readings agree. The shortest
    identity charset is never longer than any other charset of as many glyphs, so it is
    written in place and no offset moves. Fonts that are not CID-keyed CFF come back unchanged.
    """
    if data[:4] != b"OTTO":
        return data
    from fontTools.cffLib import CFFFontSet
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables.DefaultTable import DefaultTable

    font = TTFont(io.BytesIO(data), lazy=True, recalcTimestamp=False, recalcBBoxes=False)
    if "CFF " not in font:
        return data
    cff = bytearray(font.reader["CFF "])
    cff_set = CFFFontSet()
    cff_set.decompile(io.BytesIO(bytes(cff)), font, isCFF2=False)
    top = cff_set.topDictIndex[0].rawDict
    if "ROS" not in top or "charset" not in top:
        return data
    offset = top["charset"]
    num_glyphs = struct.unpack_from(">H", cff, top["CharStrings"])[0]
    new = identity_charset(num_glyphs)
    if len(new) > _charset_size(cff, offset, num_glyphs):  # cannot happen (see above)
        raise ValueError("identity charset does not fit")
    cff[offset:offset + len(new)] = new
    table = DefaultTable("CFF ")
    table.data = bytes(cff)
    font["CFF "] = table
    out = io.BytesIO()
    font.save(out, reorderTables=False)
    return out.getvalue()


def default_cache_dir() -> Path:
    """`$TUOYOU_FONT_CACHE`, else `$XDG_CACHE_HOME/tuoyou/fonts`, else `~/.cache/tuoyou/fonts`."""
    env = os.environ.get("TUOYOU_FONT_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tuoyou" / "fonts"


def cached_subset(face: FontFace, codepoints: frozenset[int], cache_dir: Path | None = None) -> Path:
    """The cached file of `face` cut to `codepoints`, made on first use (atomically)."""
    cache = cache_dir or default_cache_dir()
    stat = os.stat(face.path)
    key = hashlib.sha256()
    key.update(f"{CACHE_VERSION}|{os.path.realpath(face.path)}|{stat.st_size}|{stat.st_mtime_ns}|"
               f"{face.index}|".encode())
    key.update(",".join(map(str, sorted(codepoints))).encode())
    stem = re.sub(r"[^A-Za-z0-9]+", "-", face.family.split(",")[0]).strip("-") or "font"
    digest = key.hexdigest()[:20]
    for ext in ("otf", "ttf"):
        found = cache / f"{stem}-{face.weight}-{digest}.{ext}"
        if found.exists() and found.stat().st_size > 0:
            return found
    data = subset_face(face, codepoints)
    ext = "otf" if data[:4] == b"OTTO" else "ttf"
    target = cache / f"{stem}-{face.weight}-{digest}.{ext}"
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=".tmp-", suffix=f".{ext}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _LOGGER.info("cached font subset %s (%d glyph bytes)", target.name, len(data))
    return target


# -- the set of fonts a district's notices use -------------------------------------------------


@dataclass(frozen=True)
class FontRole:
    """One typographic role (body, title, heading, kaiti) in the notice CSS."""

    role: str
    alias: str  # the @font-face family name, e.g. "tuoyou-body"
    families: str  # the district's CSS list, the fallback for rare characters
    src: str  # file URL of the cached subset, "" when no face was found
    weight: int  # CSS weight the face is declared with
    face: FontFace | None = None  # the installed face the cached subset was cut from

    @property
    def stack(self) -> str:
        """The CSS font-family value: the cached face first, then the configured families."""
        return f'"{self.alias}", {self.families}' if self.src else self.families


@dataclass(frozen=True)
class FontSet:
    """The fonts of one district's notices; picklable, so render workers receive it."""

    roles: tuple[FontRole, ...]

    def role(self, name: str) -> FontRole:
        return next(r for r in self.roles if r.role == name)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(r.src.removeprefix("file://") for r in self.roles if r.src)


#: role → (CSS weight, fontconfig weight)
_ROLE_WEIGHTS = {"body": (400, FC_REGULAR), "title": (700, FC_BOLD), "heading": (400, FC_REGULAR),
                 "kaiti": (400, FC_REGULAR)}


def prepare_fonts(fonts: Any, extra_text: str = "", cache_dir: Path | None = None,
                  embed: bool = True) -> FontSet:
    """Pick and cut the faces for each role of `fonts` (a `cases.config.Fonts`).

    `extra_text` adds characters to the fixed set (the templates and the district config);
    with `embed=False` the roles use the system families directly (the slow, plain way).
    """
    from cases.config import Fonts

    defaults = Fonts()
    cps = base_codepoints() | frozenset(ord(c) for c in extra_text if ord(c) >= 0x20)
    roles = []
    for role, (css_weight, fc_weight) in _ROLE_WEIGHTS.items():
        families = safe_css_families(getattr(fonts, role), getattr(defaults, role))
        src = ""
        face = resolve_face(families, fc_weight) if embed else None
        if face is not None:
            src = cached_subset(face, cps, cache_dir).resolve().as_uri()
        roles.append(FontRole(role=role, alias=f"tuoyou-{role}", families=families, src=src,
                              weight=css_weight, face=face))
    return FontSet(roles=tuple(roles))


# -- measuring glyphs: where the ink of a line sits in its line box -----------------------------------


@dataclass(frozen=True)
class LineInk:
    """Where the ink of a line of text lies, in pt from the top of its line box."""

    top: float
    bottom: float
    baseline: float


@lru_cache(maxsize=16)
def _face_font(path: str, index: int) -> Any:
    from fontTools.ttLib import TTFont

    return TTFont(path, fontNumber=index, lazy=True)


@lru_cache(maxsize=4096)
def glyph_bounds(path: str, index: int, char: str) -> tuple[float, float, float, float] | None:
    """The ink box (xMin, yMin, xMax, yMax, in em) and of `char` in a face; None if absent or blank."""
    from fontTools.pens.boundsPen import BoundsPen

    font = _face_font(path, index)
    name = (font.getBestCmap() or {}).get(ord(char))
    if name is None:
        return None
    glyphs = font.getGlyphSet()
    pen = BoundsPen(glyphs)
    glyphs[name].draw(pen)
    if pen.bounds is None:
        return None
    upem = font["head"].unitsPerEm
    x0, y0, x1, y1 = pen.bounds
    return x0 / upem, y0 / upem, x1 / upem, y1 / upem


@lru_cache(maxsize=16)
def face_extents(path: str, index: int) -> tuple[float, float]:
    """(ascent, descent) in em, as HarfBuzz and Pango place a line: OS/2 typo metrics when the
    font asks for them (USE_TYPO_METRICS), else hhea."""
    font = _face_font(path, index)
    upem = font["head"].unitsPerEm
    os2 = font.get("OS/2")
    if os2 is not None and os2.fsSelection & (1 << 7) and os2.sTypoAscender:
        return os2.sTypoAscender / upem, -os2.sTypoDescender / upem
    hhea = font["hhea"]
    return hhea.ascent / upem, -hhea.descent / upem


def line_ink(face: FontFace, text: str, size_pt: float, line_height_pt: float) -> LineInk | None:
    """The ink of `text` set in `face` at `size_pt` on a line `line_height_pt` high.

    The baseline sits half the leading plus the ascent below the line's top (CSS inline
    layout); the ink reaches from the lowest glyph bottom to the highest glyph top.
    """
    bounds = [b for b in (glyph_bounds(face.path, face.index, c) for c in text if not c.isspace()) if b]
    if not bounds:
        return None
    ascent, descent = face_extents(face.path, face.index)
    baseline = (line_height_pt - (ascent + descent) * size_pt) / 2 + ascent * size_pt
    return LineInk(top=baseline - max(b[3] for b in bounds) * size_pt,
                   bottom=baseline - min(b[1] for b in bounds) * size_pt, baseline=baseline)
