"""The content of a PDF as a reader draws it, independent of how the file happens to be written.

`extract` interprets every page's content streams (and the forms they call) and lists what
they draw, in page coordinates (points, origin bottom-left):

* each glyph: its text (ToUnicode), the digest of its outline as the embedded font program
  draws it (fontTools pens, in em units), its origin, size and colour;
* each painted subpath: how it is painted (stroke / fill rule), its colour, line width and
  points (rectangles and closed polygons in a canonical order);
* each image: the digest of its decoded pixels and where it is placed.

Re-saving a PDF (qpdf, pypdf, Ghostscript's pdfwrite, a PDF printer) re-encodes streams,
renumbers objects, merges or splits text runs, re-subsets fonts and rewrites numbers with
another precision; none of that changes this list beyond rounding. Changing a character, a
glyph outline, a font program's glyph data, a line or an image pixel does. `compare` matches
two such lists with a small tolerance for positions and names the first difference.

`Content.fingerprint` is the sha256 of the canonical JSON (positions rounded to 0.01 pt):
the short identity shown to people. Judging a copy always uses `compare`, never that digest,
since rounding a re-written number may cross a boundary.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

_LOGGER = logging.getLogger(__name__)

VERSION = 1
#: Largest difference (points) between two positions that still count as the same place.
POSITION_TOLERANCE = 0.15
#: Largest difference between two colour components (0–1) or line widths that still count as equal.
COLOUR_TOLERANCE = 0.02

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


class Unreadable(ValueError):
    """The file is not a PDF whose pages can be read (damaged or truncated)."""


def mult(m: Matrix, n: Matrix) -> Matrix:
    """m × n (PDF row-vector convention: apply m, then n)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return (a * x + c * y + e, b * x + d * y + f)


def _r(v: float, nd: int = 2) -> float:
    out = round(float(v), nd)
    return 0.0 if out == 0 else out


# -- the drawn items -------------------------------------------------------------------------


@dataclass
class Page:
    """What one page draws."""

    size: tuple[float, float]
    glyphs: list[list[Any]] = field(default_factory=list)  # [text, outline, x, y, a, b, c, d, colour, mode]
    paths: list[list[Any]] = field(default_factory=list)  # [paint, colour, width, closed, [[x, y], …]]
    images: list[list[Any]] = field(default_factory=list)  # [pixels, a, b, c, d, e, f]

    def as_json(self) -> dict[str, Any]:
        return {"size": [_r(v) for v in self.size], "glyphs": self.glyphs, "paths": self.paths,
                "images": self.images}


@dataclass
class Content:
    """Every page's drawn items, and their canonical form."""

    pages: list[Page]
    fonts: list[list[Any]] = field(default_factory=list)  # [[program sha256, [glyph digests]]]

    def as_json(self) -> dict[str, Any]:
        return {"v": VERSION, "pages": [p.as_json() for p in self.pages], "fonts": sorted(self.fonts)}

    def canonical(self) -> bytes:
        doc = self.as_json()
        for page in doc["pages"]:  # a canonical order: what is drawn, not in which order it was written
            page["glyphs"] = sorted(page["glyphs"], key=lambda g: (g[3] * -1, g[2], g[0], g[1]))
            page["paths"] = sorted(page["paths"], key=lambda p: json.dumps(p))
            page["images"] = sorted(page["images"], key=lambda i: json.dumps(i))
        return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def pack(self) -> bytes:
        """The canonical form, compressed, for storing beside a rendering."""
        return zlib.compress(self.canonical(), 9)

    @staticmethod
    def unpack(blob: bytes) -> Content:
        doc = json.loads(zlib.decompress(blob))
        pages = [Page(size=tuple(p["size"]), glyphs=p["glyphs"], paths=p["paths"], images=p["images"])  # type: ignore[arg-type]
                 for p in doc["pages"]]
        return Content(pages, doc.get("fonts", []))

    def text(self) -> str:
        return "".join(g[0] for p in self.pages for g in p.glyphs)


# -- fonts -----------------------------------------------------------------------------------


class _Font:
    """One PDF font: how its codes split, their widths, text and outline digests."""

    def __init__(self, font: Any) -> None:
        self.dict = font
        self.subtype = str(font.get("/Subtype", ""))
        self.two_byte = self.subtype == "/Type0"
        self.widths: dict[int, float] = {}
        self.default_width = 0.0
        self.to_unicode = _to_unicode(font.get("/ToUnicode"))
        self._outlines: dict[int, str] = {}
        self._named: dict[str, str] = {}
        self._program: Any = None
        self._program_kind = ""
        self._cid_to_gid: bytes | None = None
        self.matrix: Matrix = (0.001, 0.0, 0.0, 0.001, 0.0, 0.0)
        self._encoding: dict[int, str] = {}
        self._type3_procs: Any = None
        descriptor = None
        if self.two_byte:
            desc = font["/DescendantFonts"][0].get_object()
            self.cid_font = desc
            self.default_width = float(desc.get("/DW", 1000))
            w = desc.get("/W")
            if w is not None:
                _cid_widths(w, self.widths)
            descriptor = desc.get("/FontDescriptor")
            cmap = desc.get("/CIDToGIDMap")
            if cmap is not None and not isinstance(cmap.get_object(), str):
                self._cid_to_gid = cmap.get_object().get_data()
        else:
            first = int(font.get("/FirstChar", 0))
            for i, wv in enumerate(font.get("/Widths", []) or []):
                self.widths[first + i] = float(wv)
            descriptor = font.get("/FontDescriptor")
            enc = font.get("/Encoding")
            if enc is not None and not isinstance(enc.get_object(), str):
                diffs = enc.get_object().get("/Differences") or []
                code = 0
                for item in diffs:
                    if isinstance(item, int | float):
                        code = int(item)
                    else:
                        self._encoding[code] = str(item)[1:]
                        code += 1
            if self.subtype == "/Type3":
                self._type3_procs = font.get("/CharProcs")
                fm = font.get("/FontMatrix")
                if fm is not None:
                    self.matrix = tuple(float(v) for v in fm)  # type: ignore[assignment]
        if descriptor is not None:
            descriptor = descriptor.get_object()
            self.default_width = float(descriptor.get("/MissingWidth", self.default_width))
            for key in ("/FontFile2", "/FontFile3", "/FontFile"):
                stream = descriptor.get(key)
                if stream is not None:
                    stream = stream.get_object()
                    sub = str(stream.get("/Subtype", ""))
                    self._program_kind = {"/FontFile2": "truetype", "/FontFile": "type1"}.get(
                        key, "opentype" if sub == "/OpenType" else "cff")
                    self._program = stream.get_data()
                    break
        self._loaded: Any = None

    def codes(self, data: bytes) -> list[int]:
        if self.two_byte:
            if len(data) % 2:
                data = data + b"\0"
            return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
        return list(data)

    def width(self, code: int) -> float:
        return self.widths.get(code, self.default_width) / (1000.0 if self.subtype != "/Type3" else 1.0)

    def text(self, code: int) -> str:
        return self.to_unicode.get(code, "")

    def outline(self, code: int, resources_of: Any = None) -> str:
        if code not in self._outlines:
            try:
                self._outlines[code] = self._outline(code)
            except Exception as exc:  # a broken program draws nothing a reader could trust
                _LOGGER.debug("glyph %s of %s unreadable: %s", code, self.subtype, exc)
                self._outlines[code] = "unreadable:" + hashlib.sha256(self._program or b"").hexdigest()[:16]
        return self._outlines[code]

    # -- the font program
    def _load(self) -> Any:
        if self._loaded is None:
            from fontTools.cffLib import CFFFontSet
            from fontTools.ttLib import TTFont

            if self._program_kind in ("truetype", "opentype"):
                tt = TTFont(io.BytesIO(self._program), lazy=True)
                self._loaded = ("tt", tt)
            elif self._program_kind == "cff":
                cff = CFFFontSet()
                cff.decompile(io.BytesIO(self._program), None)
                self._loaded = ("cff", cff)
            elif self._program_kind == "type1":
                self._loaded = ("type1", None)
            else:
                self._loaded = ("none", None)
        return self._loaded

    def _outline(self, code: int) -> str:
        if self.subtype == "/Type3":
            return self._type3_outline(code)
        kind, prog = self._load()
        if kind == "none":
            return "nofont:" + str(self.dict.get("/BaseFont", ""))
        if kind == "type1":
            return "type1:" + hashlib.sha256(self._program).hexdigest()[:32] + f":{code}"

        if kind == "tt" and "CFF " in prog:
            cff = prog["CFF "].cff
            kind, prog = "cff", cff
        if kind == "tt":
            gid = self._gid(code)
            order = prog.getGlyphOrder()
            if not 0 <= gid < len(order):
                return "missing"
            return self._tt_digest(prog, order[gid])
        top = prog[prog.fontNames[0]]
        name = self._cff_name(top, top.charset, code)
        if name is None or name not in top.CharStrings:
            return "missing"
        return self._cff_digest(top, name)

    def _tt_digest(self, prog: Any, name: str) -> str:
        if name not in self._named:
            from fontTools.pens.recordingPen import DecomposingRecordingPen

            gs = prog.getGlyphSet()
            pen = DecomposingRecordingPen(gs)
            gs[name].draw(pen)
            self._named[name] = _digest_pen(pen.value, 1.0 / prog["head"].unitsPerEm)
        return self._named[name]

    def _cff_digest(self, top: Any, name: str) -> str:
        if name not in self._named:
            from fontTools.pens.recordingPen import DecomposingRecordingPen

            cs = top.CharStrings[name]
            pen = DecomposingRecordingPen(top.CharStrings)
            cs.draw(pen)
            self._named[name] = _digest_pen(pen.value, self._cff_scale(top, cs))
        return self._named[name]

    def program(self) -> tuple[str, list[str]] | None:
        """(sha256 of the decoded font program, sorted digests of every glyph it holds), or None."""
        if not self._program or self.subtype == "/Type3":
            return None
        sha = hashlib.sha256(self._program).hexdigest()
        try:
            digests = sorted(set(self._all_outlines()))
        except Exception as exc:
            _LOGGER.debug("font program unreadable: %s", exc)
            digests = ["unreadable"]
        return sha, digests

    def _all_outlines(self) -> list[str]:
        """One entry per glyph of the program: its CID (CID-keyed fonts), outline and advance width.

        Empty glyphs count too: a subset CID font keeps thousands, and a changed width or CID
        in any of them is a changed font, whatever the page draws.
        """
        kind, prog = self._load()
        advances: dict[str, float] = {}
        if kind == "tt":
            if "hmtx" in prog:
                upem = prog["head"].unitsPerEm
                advances = {n: _r(a * 1000.0 / upem, 1) for n, (a, _lsb) in prog["hmtx"].metrics.items()}
            if "CFF " in prog:
                kind, prog = "cff", prog["CFF "].cff
        out: list[str] = []
        if kind == "tt":
            for name in prog.getGlyphOrder():
                if name != ".notdef":
                    out.append(f":{self._tt_digest(prog, name)}:{advances.get(name, '')}")
        elif kind == "cff":
            top = prog[prog.fontNames[0]]
            strings = top.CharStrings
            keyed = hasattr(top, "ROS")
            seen: dict[tuple[int, bytes], str] = {}  # subset CID fonts keep thousands of empty glyphs
            for name in top.charset:
                if name in (".notdef", "cid00000"):
                    continue
                cs = strings[name]
                key = (getattr(cs, "fdSelectIndex", 0), bytes(cs.bytecode)) if cs.bytecode else None
                digest = seen.get(key) if key is not None else None
                if digest is None:
                    digest = self._cff_digest(top, name)
                    if key is not None:
                        seen[key] = digest
                out.append(f"{name if keyed else ''}:{digest}:{advances.get(name, '')}")
        elif kind == "type1":
            out.append("type1:" + hashlib.sha256(self._program).hexdigest()[:32])
        return out

    @staticmethod
    def _cff_scale(top: Any, cs: Any) -> float:
        scale = float(getattr(top, "FontMatrix", [0.001])[0])
        if hasattr(top, "FDArray") and hasattr(cs, "fdSelectIndex"):
            fm = getattr(top.FDArray[cs.fdSelectIndex], "FontMatrix", None)
            if fm and "FontMatrix" not in top.rawDict:
                scale = float(fm[0])
        return scale

    def _gid(self, code: int) -> int:
        if self.two_byte:
            if self._cid_to_gid is not None:
                i = 2 * code
                return int.from_bytes(self._cid_to_gid[i:i + 2], "big") if i + 2 <= len(self._cid_to_gid) else 0
            return code
        _kind, tt = self._load()
        name = self._encoding.get(code)
        if name and name in tt.getGlyphOrder():
            return int(tt.getGlyphID(name))
        cmap = tt.get("cmap")
        if cmap is not None:
            for table in cmap.tables:
                for c in (code, 0xF000 + code):
                    if c in table.cmap:
                        return int(tt.getGlyphID(table.cmap[c]))
        return code

    def _cff_name(self, top: Any, charset: list[str], code: int) -> str | None:
        if self.two_byte:
            if hasattr(top, "ROS"):  # CID-keyed: the charset maps glyph index → CID
                name = f"cid{code:05d}"
                return name if name in top.CharStrings else None
            return charset[code] if 0 <= code < len(charset) else None
        name = self._encoding.get(code)
        if name:
            return name
        enc = getattr(top, "Encoding", None)
        if isinstance(enc, list) and 0 <= code < len(enc):
            return str(enc[code])
        return charset[code] if 0 <= code < len(charset) else None

    def _type3_outline(self, code: int) -> str:
        name = self._encoding.get(code)
        procs = self._type3_procs
        if procs is None or not name or f"/{name}" not in procs:
            return "missing"
        data = procs[f"/{name}"].get_object().get_data()
        tokens = re.findall(rb"-?\d*\.\d+|-?\d+|[A-Za-z*'\"]+", data)
        norm = [(_r(float(t), 3) if re.fullmatch(rb"-?[\d.]+", t) else t.decode()) for t in tokens]
        return "t3:" + hashlib.sha256(json.dumps(norm).encode()).hexdigest()[:32]


def _digest_pen(value: list[tuple[str, tuple[Any, ...]]], scale: float) -> str:
    """sha256 of an outline's drawing operations, coordinates in em units (1/1000 em, rounded)."""
    parts: list[Any] = []
    for op, pts in value:
        parts.append(op)
        parts.extend(_r(c * scale * 1000, 1) for pt in pts for c in pt)
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()[:32]


EMPTY_OUTLINE = _digest_pen([], 1.0)


def _cid_widths(w: Any, out: dict[int, float]) -> None:
    items = list(w)
    i = 0
    while i < len(items):
        first = int(items[i])
        nxt = items[i + 1]
        if isinstance(nxt, int | float) and not hasattr(nxt, "__len__"):
            last, width = int(nxt), float(items[i + 2])
            for c in range(first, last + 1):
                out[c] = width
            i += 3
        else:
            for k, wv in enumerate(nxt):
                out[first + k] = float(wv)
            i += 2


def _to_unicode(obj: Any) -> dict[int, str]:
    """The ToUnicode CMap's bfchar and bfrange entries."""
    out: dict[int, str] = {}
    if obj is None:
        return out
    try:
        data = obj.get_object().get_data().decode("latin-1")
    except Exception:
        return out

    def hexstr(h: str) -> str:
        raw = bytes.fromhex(h)
        try:
            return raw.decode("utf-16-be")
        except UnicodeDecodeError:
            return ""

    for block in re.findall(r"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            out[int(src, 16)] = hexstr(dst)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, rest in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\[[^\]]*\]|<[0-9A-Fa-f]*>)", block):
            a, b = int(lo, 16), int(hi, 16)
            if rest.startswith("["):
                for k, dst in enumerate(re.findall(r"<([0-9A-Fa-f]*)>", rest)):
                    out[a + k] = hexstr(dst)
            else:
                start = bytes.fromhex(rest[1:-1])
                base = int.from_bytes(start, "big") if start else 0
                for k in range(0, min(b - a, 65535) + 1):
                    v = base + k
                    out[a + k] = hexstr(v.to_bytes(max(len(start), 2), "big").hex())
    return out


# -- the interpreter -------------------------------------------------------------------------


@dataclass
class _State:
    ctm: Matrix = IDENTITY
    fill: tuple[float, ...] = (0.0, 0.0, 0.0)
    stroke: tuple[float, ...] = (0.0, 0.0, 0.0)
    fill_alpha: float = 1.0
    stroke_alpha: float = 1.0
    line_width: float = 1.0
    font: _Font | None = None
    size: float = 0.0
    char_space: float = 0.0
    word_space: float = 0.0
    scale: float = 1.0
    leading: float = 0.0
    rise: float = 0.0
    mode: int = 0

    def copy(self) -> _State:
        return _State(**self.__dict__)


def _rgb(components: list[float]) -> tuple[float, ...]:
    """A colour as RGB 0–1 (gray and CMYK converted naively; the same on both sides of a comparison)."""
    c = [float(v) for v in components]
    if len(c) == 1:
        return (c[0], c[0], c[0])
    if len(c) == 4:
        k = c[3]
        return tuple((1 - min(1.0, v + k)) for v in c[:3])
    if len(c) == 3:
        return tuple(c)
    return tuple(c)


def _colour(rgb: tuple[float, ...], alpha: float) -> list[float]:
    return [_r(v) for v in rgb] + ([_r(alpha)] if alpha < 1 else [])


class _Interpreter:
    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.fonts: dict[Any, _Font] = {}

    def page(self, page: Any) -> Page:
        box = [float(v) for v in page.mediabox]
        out = Page(size=(box[2] - box[0], box[3] - box[1]))
        origin: Matrix = (1, 0, 0, 1, -box[0], -box[1])
        rotate = int(page.get("/Rotate", 0) or 0) % 360
        out.size = out.size if rotate in (0, 180) else (out.size[1], out.size[0])
        contents = page.get_contents()
        if contents is not None:
            state = _State(ctm=origin)
            self._run(contents.get_data(), page.get("/Resources") or {}, state, out, depth=0)
        return out

    def _font(self, ref: Any) -> _Font:
        key = getattr(ref, "idnum", None) or id(ref)
        if key not in self.fonts:
            self.fonts[key] = _Font(ref.get_object())
        return self.fonts[key]

    def _run(self, data: bytes, resources: Any, state: _State, out: Page, depth: int) -> None:
        from pypdf.generic import ContentStream

        if depth > 12:
            return
        resources = resources.get_object() if hasattr(resources, "get_object") else resources
        ops = ContentStream(_Stream(data), self.reader).operations
        stack: list[_State] = []
        path: list[list[tuple[float, float]]] = []
        closed: list[bool] = []
        current: tuple[float, float] | None = None
        tm: Matrix = IDENTITY
        tlm: Matrix = IDENTITY
        curves: list[bool] = []
        for operands, op in ops:
            o = op.decode("latin-1") if isinstance(op, bytes) else str(op)
            if o == "q":
                stack.append(state.copy())
            elif o == "Q":
                if stack:
                    state = stack.pop()
            elif o == "cm":
                state.ctm = mult(tuple(float(v) for v in operands), state.ctm)  # type: ignore[arg-type]
            elif o == "w":
                state.line_width = float(operands[0])
            elif o in ("g", "rg", "k"):
                state.fill = _rgb(operands)
            elif o in ("G", "RG", "K"):
                state.stroke = _rgb(operands)
            elif o in ("sc", "scn"):
                nums = [v for v in operands if isinstance(v, int | float)]
                if nums:
                    state.fill = _rgb(nums)
            elif o in ("SC", "SCN"):
                nums = [v for v in operands if isinstance(v, int | float)]
                if nums:
                    state.stroke = _rgb(nums)
            elif o == "cs":
                state.fill = (0.0, 0.0, 0.0)
            elif o == "CS":
                state.stroke = (0.0, 0.0, 0.0)
            elif o == "gs":
                ext = (resources.get("/ExtGState") or {}).get(operands[0])
                if ext is not None:
                    ext = ext.get_object()
                    if "/ca" in ext:
                        state.fill_alpha = float(ext["/ca"])
                    if "/CA" in ext:
                        state.stroke_alpha = float(ext["/CA"])
                    if "/LW" in ext:
                        state.line_width = float(ext["/LW"])
            # -- paths
            elif o == "m":
                current = apply(state.ctm, float(operands[0]), float(operands[1]))
                path.append([current])
                closed.append(False)
                curves.append(False)
            elif o == "l":
                current = apply(state.ctm, float(operands[0]), float(operands[1]))
                if not path:
                    path.append([current])
                    closed.append(False)
                    curves.append(False)
                else:
                    path[-1].append(current)
            elif o in ("c", "v", "y"):
                nums = [float(v) for v in operands]
                if o == "v":
                    pts = [current or (0.0, 0.0), apply(state.ctm, nums[0], nums[1]),
                           apply(state.ctm, nums[2], nums[3])]
                elif o == "y":
                    end = apply(state.ctm, nums[2], nums[3])
                    pts = [apply(state.ctm, nums[0], nums[1]), end, end]
                else:
                    pts = [apply(state.ctm, nums[i], nums[i + 1]) for i in (0, 2, 4)]
                if not path:
                    path.append([current or pts[0]])
                    closed.append(False)
                    curves.append(False)
                path[-1].extend(pts)
                curves[-1] = True
                current = pts[-1]
            elif o == "re":
                x, y, w, h = (float(v) for v in operands)
                pts = [apply(state.ctm, x, y), apply(state.ctm, x + w, y), apply(state.ctm, x + w, y + h),
                       apply(state.ctm, x, y + h)]
                path.append(pts)
                closed.append(True)
                curves.append(False)
                current = pts[0]
            elif o == "h":
                if closed:
                    closed[-1] = True
            elif o in ("S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "n"):
                if o in ("s", "b", "b*") and closed:
                    closed[-1] = True
                if o != "n":
                    self._paint(o, path, closed, curves, state, out)
                path, closed, curves, current = [], [], [], None
            elif o in ("W", "W*"):
                pass  # clipping: what it hides is judged by what remains drawn
            # -- text
            elif o == "BT":
                tm = tlm = IDENTITY
            elif o == "Tf":
                font = (resources.get("/Font") or {}).get(operands[0])
                state.font = self._font(font) if font is not None else None
                state.size = float(operands[1])
            elif o == "Tc":
                state.char_space = float(operands[0])
            elif o == "Tw":
                state.word_space = float(operands[0])
            elif o == "Tz":
                state.scale = float(operands[0]) / 100.0
            elif o == "TL":
                state.leading = float(operands[0])
            elif o == "Ts":
                state.rise = float(operands[0])
            elif o == "Tr":
                state.mode = int(operands[0])
            elif o in ("Td", "TD"):
                tx, ty = float(operands[0]), float(operands[1])
                if o == "TD":
                    state.leading = -ty
                tlm = mult((1, 0, 0, 1, tx, ty), tlm)
                tm = tlm
            elif o == "Tm":
                tlm = tm = tuple(float(v) for v in operands)  # type: ignore[assignment]
            elif o == "T*":
                tlm = mult((1, 0, 0, 1, 0, -state.leading), tlm)
                tm = tlm
            elif o in ("Tj", "'", '"', "TJ"):
                if o == "'":
                    tlm = mult((1, 0, 0, 1, 0, -state.leading), tlm)
                    tm = tlm
                elif o == '"':
                    state.word_space, state.char_space = float(operands[0]), float(operands[1])
                    tlm = mult((1, 0, 0, 1, 0, -state.leading), tlm)
                    tm = tlm
                items = operands[0] if o == "TJ" else [operands[-1]]
                for item in items:
                    if isinstance(item, int | float) and not isinstance(item, bytes | str):
                        tm = mult((1, 0, 0, 1, -float(item) / 1000.0 * state.size * state.scale, 0), tm)
                    else:
                        tm = self._show(_bytes(item), state, tm, out, resources)
            # -- objects
            elif o == "Do":
                xobj = (resources.get("/XObject") or {}).get(operands[0])
                if xobj is None:
                    continue
                xobj = xobj.get_object()
                sub = str(xobj.get("/Subtype", ""))
                if sub == "/Form":
                    inner = state.copy()
                    matrix = xobj.get("/Matrix")
                    if matrix is not None:
                        inner.ctm = mult(tuple(float(v) for v in matrix), inner.ctm)  # type: ignore[arg-type]
                    self._run(xobj.get_data(), xobj.get("/Resources") or resources, inner, out, depth + 1)
                elif sub == "/Image":
                    out.images.append([_image_digest(xobj), *(_r(v) for v in state.ctm)])
            elif o == "INLINE IMAGE":
                out.images.append([_inline_image_digest(operands, resources), *(_r(v) for v in state.ctm)])
            elif o == "sh":
                out.paths.append(["sh", [], 0.0, True, [[_r(v) for v in state.ctm[:2]]]])

    def _show(self, data: bytes, state: _State, tm: Matrix, out: Page, resources: Any) -> Matrix:
        font = state.font
        if font is None:
            return tm
        for code in font.codes(data):
            if font.subtype == "/Type3":
                fm = font.matrix
                trm = mult(mult((fm[0] * state.size * state.scale, fm[1] * state.size, fm[2] * state.size * state.scale,
                                 fm[3] * state.size, 0, state.rise), tm), state.ctm)
            else:
                trm = mult(mult((state.size * state.scale, 0, 0, state.size, 0, state.rise), tm), state.ctm)
            if state.mode != 7:
                colour = state.stroke if state.mode in (1, 5) else state.fill
                alpha = state.stroke_alpha if state.mode in (1, 5) else state.fill_alpha
                out.glyphs.append([font.text(code), font.outline(code), _r(trm[4]), _r(trm[5]),
                                   _r(trm[0], 3), _r(trm[1], 3), _r(trm[2], 3), _r(trm[3], 3),
                                   _colour(colour, alpha), state.mode if state.mode in (1, 2, 3) else 0])
            w0 = font.width(code)
            if font.subtype == "/Type3":
                w0 = w0 * font.matrix[0]
            tx = (w0 * state.size + state.char_space + (state.word_space if (not font.two_byte and code == 32) else 0))
            tm = mult((1, 0, 0, 1, tx * state.scale, 0), tm)
        return tm

    def _paint(self, op: str, path: list[list[tuple[float, float]]], closed: list[bool], curves: list[bool],
               state: _State, out: Page) -> None:
        stroke = op in ("S", "s", "B", "B*", "b", "b*")
        fill = op in ("f", "F", "f*", "B", "B*", "b", "b*")
        a, b, c, d = state.ctm[:4]
        width = abs(a * d - b * c) ** 0.5 * state.line_width
        for pts, is_closed, curve in zip(path, closed, curves, strict=False):
            if len(pts) < 2 and not is_closed:
                continue
            if fill:  # a fill closes every subpath; one without area draws nothing
                norm = _canonical_points(pts, True, curve)
                if _area(norm) > 0 or curve:
                    out.paths.append(["f", _colour(state.fill, state.fill_alpha), 0.0, True, norm])
            if stroke:
                norm = _canonical_points(pts, is_closed, curve)
                out.paths.append(["S", _colour(state.stroke, state.stroke_alpha), _r(width), is_closed, norm])


def _area(pts: list[list[float]]) -> float:
    s = 0.0
    for i in range(len(pts)):
        x1, y1 = pts[i]
        x2, y2 = pts[(i + 1) % len(pts)]
        s += x1 * y2 - x2 * y1
    return _r(abs(s) / 2, 1)


def _canonical_points(pts: list[tuple[float, float]], is_closed: bool, curve: bool) -> list[list[float]]:
    """Rounded points; a closed polygon starts at its smallest point and runs the smaller way round."""
    rounded = [[_r(x), _r(y)] for x, y in pts]
    if is_closed and not curve:
        if len(rounded) > 1 and _close(rounded[0], rounded[-1]):
            rounded = rounded[:-1]
        dedup: list[list[float]] = []
        for p in rounded:
            if not dedup or not _close(dedup[-1], p):
                dedup.append(p)
        if len(dedup) > 1 and _close(dedup[0], dedup[-1]):
            dedup.pop()
        rounded = dedup
        if rounded:
            i = min(range(len(rounded)), key=lambda k: (round(rounded[k][0]), round(rounded[k][1])))
            fwd = rounded[i:] + rounded[:i]
            back = [fwd[0], *reversed(fwd[1:])]
            rounded = min(fwd, back, key=lambda s: [(round(x), round(y)) for x, y in s])
    return rounded


def _close(p: list[float], q: list[float]) -> bool:
    return abs(p[0] - q[0]) <= POSITION_TOLERANCE and abs(p[1] - q[1]) <= POSITION_TOLERANCE


def _bytes(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    if hasattr(item, "original_bytes"):
        return bytes(item.original_bytes)
    if isinstance(item, str):
        return item.encode("latin-1", "replace")
    return b""


class _Stream:
    """The smallest object pypdf's ContentStream accepts: decoded data."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def get_data(self) -> bytes:
        return self._data

    def get_object(self) -> _Stream:
        return self

    def __getitem__(self, key: Any) -> Any:
        raise KeyError(key)

    def get(self, key: Any, default: Any = None) -> Any:
        return default


def _image_digest(xobj: Any) -> str:
    """sha256 of an image's decoded samples (size, depth, colours, mask): lossless re-compression keeps it.

    JPEG (DCT) and JPEG 2000 data are decoded to pixels first, so a re-wrapped JPEG keeps its digest;
    re-encoding a JPEG changes its pixels, and that is a changed image.
    """
    try:
        filters = xobj.get("/Filter")
        names = [str(f) for f in (filters if isinstance(filters, list) else [filters] if filters else [])]
        h = hashlib.sha256()
        h.update(f"{xobj.get('/Width')}x{xobj.get('/Height')}:{xobj.get('/BitsPerComponent')}:"
                 f"{_colour_space(xobj.get('/ColorSpace'))}:{bool(xobj.get('/ImageMask'))}".encode())
        data = xobj.get_data()
        if names and names[-1] in ("/DCTDecode", "/JPXDecode"):
            from PIL import Image

            with Image.open(io.BytesIO(data)) as img:
                data = img.convert("RGB" if img.mode not in ("L", "CMYK") else img.mode).tobytes()
        h.update(data)
        smask = xobj.get("/SMask")
        if smask is not None:
            h.update(_image_digest(smask.get_object()).encode())
        return "px:" + h.hexdigest()[:32]
    except Exception as exc:
        _LOGGER.debug("image not decodable: %s", exc)
        return "unreadable"


_INLINE_KEYS = {"/W": "/Width", "/H": "/Height", "/BPC": "/BitsPerComponent", "/CS": "/ColorSpace",
                "/F": "/Filter", "/DP": "/DecodeParms", "/IM": "/ImageMask", "/D": "/Decode", "/I": "/Interpolate"}
_INLINE_NAMES = {"/AHx": "/ASCIIHexDecode", "/A85": "/ASCII85Decode", "/LZW": "/LZWDecode", "/Fl": "/FlateDecode",
                 "/RL": "/RunLengthDecode", "/CCF": "/CCITTFaxDecode", "/DCT": "/DCTDecode", "/G": "/DeviceGray",
                 "/RGB": "/DeviceRGB", "/CMYK": "/DeviceCMYK"}


def _inline_image_digest(operands: Any, resources: Any) -> str:
    """An inline image (BI … ID … EI) as an image XObject would be: the same digest for the same pixels."""
    from pypdf.generic import ArrayObject, EncodedStreamObject, NameObject

    try:
        settings = operands.get("settings", {})
        stream = EncodedStreamObject()
        for key, value in settings.items():
            name = _INLINE_KEYS.get(str(key), str(key))
            if isinstance(value, list):
                value = ArrayObject(NameObject(_INLINE_NAMES.get(str(v), str(v))) if isinstance(v, NameObject) else v
                                    for v in value)
            elif isinstance(value, NameObject):
                named = (resources.get("/ColorSpace") or {}).get(value) if name == "/ColorSpace" else None
                value = named if named is not None else NameObject(_INLINE_NAMES.get(str(value), str(value)))
            stream[NameObject(name)] = value
        stream._data = bytes(operands.get("data", b""))
        return _image_digest(stream)
    except Exception as exc:
        _LOGGER.debug("inline image not decodable: %s", exc)
        return "unreadable"


def _colour_space(cs: Any) -> str:
    if cs is None:
        return ""
    cs = cs.get_object() if hasattr(cs, "get_object") else cs
    if isinstance(cs, list):
        return str(cs[0]) + (f"/{cs[1].get_object().get('/N')}" if str(cs[0]) == "/ICCBased" else "")
    return str(cs)


# -- entry points ----------------------------------------------------------------------------


def extract(data: bytes) -> Content:
    """What every page of the PDF `data` draws; raises `Unreadable` when its pages cannot be read."""
    from pypdf import PdfReader

    quiet = [logging.getLogger(name) for name in ("pypdf", "fontTools")]  # a re-written file makes them chatty
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.CRITICAL)
    try:
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            pages = list(reader.pages)
        except Exception as exc:
            raise Unreadable(str(exc)) from exc
        if not pages:
            raise Unreadable("no pages")
        interp = _Interpreter(reader)
        out = []
        for page in pages:
            try:
                out.append(interp.page(page))
            except Exception as exc:
                raise Unreadable(f"page {len(out) + 1}: {exc}") from exc
        fonts = [prog for f in interp.fonts.values() if (prog := f.program()) is not None]
        return Content(out, [[sha, digests] for sha, digests in fonts])
    finally:
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)


@dataclass(frozen=True)
class Difference:
    """The first thing two contents do not share."""

    page: int  # 1-based; 0 for the whole document
    zh: str
    en: str


def compare(issued: Content, copy: Content, tolerance: float = POSITION_TOLERANCE) -> Difference | None:
    """None when `copy` draws what `issued` draws (positions within `tolerance` points)."""
    if len(issued.pages) != len(copy.pages):
        return Difference(0, f"页数不同（签发 {len(issued.pages)} 页，此件 {len(copy.pages)} 页）",
                          f"page count differs (issued {len(issued.pages)}, this file {len(copy.pages)})")
    diff = _compare_fonts(issued.fonts, copy.fonts)
    if diff:
        return diff
    for no, (a, b) in enumerate(zip(issued.pages, copy.pages, strict=True), start=1):
        if any(abs(x - y) > 1.0 for x, y in zip(a.size, b.size, strict=True)):
            return Difference(no, f"第 {no} 页纸张尺寸不同", f"page {no}: page size differs")
        diff = _compare_glyphs(no, a.glyphs, b.glyphs, tolerance)
        if diff:
            return diff
        diff = _compare_items(no, "paths", a.paths, b.paths, tolerance)
        if diff:
            return diff
        diff = _compare_items(no, "images", a.images, b.images, tolerance)
        if diff:
            return diff
    return None


def _compare_fonts(issued: list[list[Any]], copy: list[list[Any]]) -> Difference | None:
    """Every font program of the copy is one we embedded, or holds only glyphs we embedded.

    A program re-written by another program (Ghostscript re-subsets fonts) passes when each of
    its glyphs draws exactly like one of ours; a changed glyph anywhere in the program does not.
    """
    shas = {sha for sha, _ in issued}
    glyphs: dict[str, set[tuple[str, str]]] = defaultdict(set)  # outline → {(CID, advance)}
    for _, entries in issued:
        for entry in entries:
            key, outline, advance = _entry(entry)
            glyphs[outline].add((key, advance))

    def known(entry: str) -> bool:
        key, outline, advance = _entry(entry)
        if outline == EMPTY_OUTLINE:  # an empty glyph draws nothing; re-writers give it any width
            advance = ""
        return any((key == k or not key or not k) and (advance == a or not advance or not a)
                   for k, a in glyphs.get(outline, ()))

    for sha, entries in copy:
        if sha in shas:
            continue
        if not all(known(e) for e in entries):
            return Difference(0, "嵌入字体被改动（字形与签发件不一致）",
                              "an embedded font was altered (a glyph differs from the issued file)")
    return None


def _entry(entry: str) -> tuple[str, str, str]:
    parts = entry.split(":")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return "", entry, ""


def _compare_glyphs(no: int, a: list[list[Any]], b: list[list[Any]], tol: float) -> Difference | None:
    """Each issued glyph must be drawn in the copy (same text, outline, size, colour) at the same place."""
    def key(g: list[Any]) -> tuple[Any, ...]:
        return (g[0], g[1], g[9])

    pool: dict[tuple[Any, ...], list[list[Any]]] = defaultdict(list)
    for g in b:
        pool[key(g)].append(g)
    for g in sorted(a, key=lambda g: (-g[3], g[2])):
        bucket = pool.get(key(g), [])
        for i, h in enumerate(bucket):
            if (abs(g[2] - h[2]) <= tol and abs(g[3] - h[3]) <= tol
                    and all(abs(x - y) <= 0.05 * max(1.0, abs(x)) for x, y in zip(g[4:8], h[4:8], strict=True))
                    and _same_colour(g[8], h[8])):
                bucket.pop(i)
                break
        else:
            near = _line_text(a, g)
            return Difference(no, f"第 {no} 页文字或字形被改动（签发件此处为「{near}」）",
                              f"page {no}: text or glyphs changed (the issued page reads '{near}' here)")
    extra = [g for bucket in pool.values() for g in bucket]
    if extra:
        g = extra[0]
        near = _line_text(b, g)
        return Difference(no, f"第 {no} 页多出文字（「{near}」）", f"page {no}: text added ('{near}')")
    return None


def _line_text(glyphs: list[list[Any]], g: list[Any]) -> str:
    line = sorted((h for h in glyphs if abs(h[3] - g[3]) <= 2), key=lambda h: h[2])
    text = "".join(h[0] for h in line).strip()
    return text[:40] or (g[0] or "?")


def _same_colour(a: list[float], b: list[float]) -> bool:
    if len(a) != len(b):
        return False
    return all(abs(x - y) <= COLOUR_TOLERANCE for x, y in zip(a, b, strict=True))


def _compare_items(no: int, what: str, a: list[list[Any]], b: list[list[Any]], tol: float) -> Difference | None:
    remaining = list(b)
    for item in a:
        for i, other in enumerate(remaining):
            if _same_item(what, item, other, tol):
                remaining.pop(i)
                break
        else:
            zh = "图形（线条、色块）" if what == "paths" else "图像"
            return Difference(no, f"第 {no} 页{zh}被改动或删除", f"page {no}: {what} changed or removed")
    if remaining:
        zh = "图形（线条、色块）" if what == "paths" else "图像"
        return Difference(no, f"第 {no} 页多出{zh}", f"page {no}: {what} added")
    return None


def _same_item(what: str, a: list[Any], b: list[Any], tol: float) -> bool:
    if what == "images":
        return a[0] == b[0] and all(abs(x - y) <= tol for x, y in zip(a[1:], b[1:], strict=True))
    if a[0] != b[0] or a[3] != b[3] or not _same_colour(a[1], b[1]) or abs(a[2] - b[2]) > COLOUR_TOLERANCE * 10:
        return False
    pa, pb = a[4], b[4]
    if len(pa) != len(pb):
        return False
    return all(abs(p[0] - q[0]) <= tol and abs(p[1] - q[1]) <= tol for p, q in zip(pa, pb, strict=True))


def is_finite(content: Content) -> bool:
    return all(math.isfinite(g[2]) and math.isfinite(g[3]) for p in content.pages for g in p.glyphs)
