"""Render notices to PDF: Jinja2 templates → HTML → WeasyPrint, one process or a pool of them.

`render_notices` is the entry point for the service, the CLI and the web app. It turns
`Notice` rows into plain `NoticeJob`s, renders them (in worker processes for batches; each
worker imports WeasyPrint and parses the stylesheets once), writes `<out_dir>/<number>.pdf`
atomically and stores content hash, verification code, file sha256 and path on each row.

Output is deterministic: PDF dates and file identifier come from the notice, the fonts are
cached subsets (see `fonts`), so rendering a notice again gives the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import jinja2
from markupsafe import Markup

from cases.config import District
from cases.errors import Conflict, InvalidInput
from cases.notices import codes, spacing
from cases.notices.fonts import FontSet, line_ink, prepare_fonts
from cases.notices.spacing import NOMINAL, Measure, Spacing, holds_class
from workflow.notices import NOTICE_KINDS, NOTICE_TITLES, NoticeKind

if TYPE_CHECKING:
    from sqlmodel import Session

    from cases.models import Notice

_LOGGER = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates" / "notices"

#: Below this many notices a batch renders in this process (a pool costs ~1 s to start).
POOL_THRESHOLD = 8

#: Kinds whose 发文机关标志 reads "<issuer>文件".
_DOCUMENT_MARK = {NoticeKind.SUPERVISION_NOTICE.value, NoticeKind.LISTED_SUPERVISION.value,
                  NoticeKind.BULLETIN.value, NoticeKind.DESIGNATION_APPROVAL.value}

Progress = Callable[[int, int], None]

PT_PER_MM = 72 / 25.4
#: GB/T 9704 sizes (pt) the layout is computed for; notice.css sets the same.
BODY_PT, LINE_PT, PAGE_NUMBER_PT = 16.0, 28.95, 14.0
#: The page number's dash (一字线) lies this far under the text area, the red rule under the 文号 (mm).
PAGE_NUMBER_GAP_MM, RULE_GAP_MM = 7.0, 4.0

_UMASK = os.umask(0)
os.umask(_UMASK)


# -- jobs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeJob:
    """Everything needed to render one notice, detached from the database (picklable)."""

    number: str
    kind: str
    issued_on: date
    addressee: str
    issuer: str
    data: dict[str, Any]
    content_hash: str
    verify_code: str
    notice_id: int | None = None
    case_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # template-only context (the bulletin's charts)

    @property
    def filename(self) -> str:
        return codes.safe_filename(self.number) + ".pdf"


def job_for(notice: Notice, *, key: str | bytes | None = None) -> NoticeJob:
    """The job of a `Notice` row; content hash and code computed when the row has none yet.

    Raises `Conflict` when the row's stored content hash no longer matches its data: an issued
    notice must not change, and rendering it would hide the change.
    """
    if notice.kind not in NOTICE_KINDS:
        raise InvalidInput(f"未知的文书类型：{notice.kind}", f"unknown notice kind: {notice.kind}")
    digest = codes.content_hash(notice)
    if notice.content_hash and notice.content_hash != digest:
        raise Conflict(f"文书 {notice.number} 的内容与签发时不一致（内容哈希不符），拒绝生成",
                       f"notice {notice.number} changed since it was issued (content hash mismatch)")
    code = notice.verify_code or codes.verify_code(notice.number, digest, key)
    return NoticeJob(number=notice.number, kind=notice.kind, issued_on=notice.issued_on,
                     addressee=notice.addressee, issuer=notice.issuer, data=dict(notice.data or {}),
                     content_hash=digest, verify_code=code, notice_id=notice.id, case_id=notice.case_id)


# -- presentation helpers (Jinja filters) ----------------------------------------------------


def cn_date(value: Any) -> str:
    """2026-11-23 → 2026年11月23日 (GB/T 9704: Arabic numerals, no leading zeros)."""
    if isinstance(value, jinja2.Undefined) or value in (None, ""):
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value)


_DIGITS = "零一二三四五六七八九"


def zh_numeral(n: Any) -> str:
    """1 → 一, 12 → 十二, 21 → 二十一 (section numbers up to 99)."""
    try:
        i = int(n)
    except (TypeError, ValueError):
        return str(n)
    if not 0 < i < 100:
        return str(i)
    tens, ones = divmod(i, 10)
    if tens == 0:
        return _DIGITS[ones]
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


def fit_pt(text: Any, width_pt: float = 430.0, max_pt: float = 42.0, min_pt: float = 16.0) -> float:
    """The largest font size (pt, ≤ `max_pt`) at which `text` fits on one line of `width_pt`."""
    n = max(len(str(text)), 1)
    return round(max(min(max_pt, width_pt / (n * 1.04)), min_pt), 1)


def make_env() -> jinja2.Environment:
    """The notices' Jinja environment: HTML autoescaped, missing data renders as empty."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "svg"), default_for_string=True),
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(cn_date=cn_date, zh_numeral=zh_numeral, fit_pt=fit_pt)
    return env


@lru_cache(maxsize=32)
def qr_svg(payload: str) -> Markup:
    """The QR code of `payload` as an inline SVG element (segno); kept for the next layouts of the
    same notice (its 版记 page, or another spacing)."""
    import segno

    qr = segno.make_qr(payload, error="m")
    return Markup(qr.svg_inline(scale=1, border=2, omitsize=True, dark="#000", light=None))


def notice_context(job: NoticeJob, district: District, chart_scale: float = 1.0) -> dict[str, Any]:
    """The template context: `n` (the notice as printed), `d` (its data), `items`, `district`, and
    the bulletin's `charts`, their heights `chart_scale` of their nominal ones."""
    data = job.data
    issuer = job.issuer or data.get("issuer") or district.district.bureau
    mark = issuer + ("文件" if job.kind in _DOCUMENT_MARK else "")
    items = [it for it in (data.get("items") or []) if isinstance(it, dict)]
    cc = data.get("cc")
    if not isinstance(cc, list):
        cc = [data["township_unit"]] if data.get("township_unit") and job.kind not in _DOCUMENT_MARK else []
    payload = codes.qr_payload(job.number, job.verify_code, job.content_hash, district.notices.verify_url)
    n = {
        "number": job.number,
        "kind": job.kind,
        "title": data.get("title") or NOTICE_TITLES[NoticeKind(job.kind)],
        "issued_on": job.issued_on,
        "issuer": issuer,
        "addressee": job.addressee or data.get("addressee") or "",
        "case_id": job.case_id,
        "verify_code": job.verify_code,
        "verify_display": codes.display_code(job.verify_code),
        "content_hash": job.content_hash,
        "qr_svg": qr_svg(payload),
        "qr_payload": payload,
        "mark": mark,
        "mark_pt": fit_pt(mark),
        "cc": [str(c) for c in cc if c],
        "timestamp": f"{job.issued_on.isoformat()}T00:00:00+08:00",
    }
    ctx: dict[str, Any] = {"n": n, "d": data, "items": items, "district": district, "charts": {}, **job.extra}
    if job.kind == NoticeKind.BULLETIN.value:
        from cases.notices.report import bulletin_charts

        ctx["charts"] = bulletin_charts(data, chart_scale)
    return ctx


# -- the renderer ----------------------------------------------------------------------------


class NoticeRenderer:
    """Renders notices of one district; holds the parsed stylesheets and fonts for reuse."""

    def __init__(self, district: District, fonts: FontSet | None = None, *, embed_fonts: bool = True) -> None:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        _warn_without_harfbuzz_subset()
        self.district = district
        self.env = make_env()
        self.fonts = fonts or district_fonts(district, embed=embed_fonts)
        self.font_config = FontConfiguration()
        self._weasyprint = weasyprint
        self.css_text = self._css_text()
        roots = [TEMPLATES_DIR, *(Path(p).parent for p in self.fonts.paths)]
        self.url_fetcher = _local_fetcher(tuple(str(r) for r in roots))
        self.stylesheets = [weasyprint.CSS(string=self.css_text, font_config=self.font_config,
                                           url_fetcher=self.url_fetcher)]

    def _css_text(self) -> str:
        base = (TEMPLATES_DIR / "notice.css").read_text(encoding="utf-8")
        fonts = self.env.get_template("fonts.css").render(fonts=self.fonts,
                                                          page_number_pad=page_number_padding(self.fonts))
        return base + "\n" + fonts

    def html(self, job: NoticeJob, *, inline_css: bool = False, layout: dict[str, Any] | None = None,
             chart_scale: float = 1.0) -> str:
        """The notice as HTML; with `inline_css` it carries its stylesheet (a standalone page).

        `layout["imprint"]` places the 版记: "foot" (default: at the foot of the page the text
        ends on), "none", or "page" (a document of only the 版记 on an even page, see `document`).
        `chart_scale` scales the charts' heights (see `spacing`).
        """
        template = self.env.get_template(f"{job.kind}.html")
        ctx = notice_context(job, self.district, chart_scale)
        ctx["fonts"] = self.fonts
        ctx["layout"] = {"rule_gap": rule_gap(self.fonts, job.number), "imprint": "foot", **(layout or {})}
        ctx["inline_css"] = Markup(self.css_text) if inline_css else None
        return template.render(ctx)

    def _parse(self, job: NoticeJob, layout: dict[str, Any] | None = None, chart_scale: float = 1.0) -> Any:
        return self._weasyprint.HTML(string=self.html(job, layout=layout, chart_scale=chart_scale),
                                     base_url=TEMPLATES_DIR.as_uri() + "/", url_fetcher=self.url_fetcher)

    def _render(self, html: Any, first_page: int | None = None, spaced: Spacing = NOMINAL) -> Any:
        stylesheets = self.stylesheets
        if first_page is not None:
            stylesheets = [*stylesheets, self._weasyprint.CSS(
                string=f"@page :first {{ counter-reset: page {int(first_page)}; }}", font_config=self.font_config)]
        if spaced.lines_adjusted:
            stylesheets = [*stylesheets, self._weasyprint.CSS(string=f":root {{ {spaced.css()} }}",
                                                              font_config=self.font_config)]
        return html.render(stylesheets=stylesheets, font_config=self.font_config)

    def _layout(self, job: NoticeJob, layout: dict[str, Any] | None = None, first_page: int | None = None,
                spaced: Spacing = NOMINAL) -> Any:
        return self._render(self._parse(job, layout, spaced.charts), first_page, spaced)

    def fitted(self, job: NoticeJob) -> tuple[Any, Measure]:
        """The notice laid out (版记 as a footnote after the signature) and what was measured on it.

        With GB/T 9704's 22 lines of 28 characters, unless that leaves a page before the
        signature page two or more lines short: then laid out again with the line pitch and the
        characters a line adjusted within bounds (GB/T 9704 7.3.5.3, see `spacing`), and when
        none of those fills it, with the charts' heights scaled within bounds, then both, taking the first
        layout that leaves no page short, or else the one that leaves the least.
        """
        html = self._parse(job)
        doc = self._render(html)
        first = best = self._measure(doc, NOMINAL)
        if first.ok:
            return doc, first
        best_doc = doc
        tries = [*spacing.candidates(first), *spacing.chart_candidates(first), *spacing.combined_candidates(first)]
        for spaced in tries:
            parsed = self._parse(job, chart_scale=spaced.charts) if spaced.charts_scaled else html
            doc = self._render(parsed, spaced=spaced)
            found = self._measure(doc, spaced)
            if found.ok:
                _LOGGER.debug("notice %s: page %d ended %.1f lines short; laid out with %s", job.number,
                              (first.short or 0) + 1, first.worst, spaced)
                return doc, found
            if found.worst < best.worst:
                best, best_doc = found, doc
        _LOGGER.warning("notice %s: no spacing within bounds leaves every page before the signature full; "
                        "kept %s, page %d ends %.1f lines short", job.number, best.spacing,
                        (best.short or 0) + 1, best.worst)
        return best_doc, best

    def measure(self, job: NoticeJob, spaced: Spacing = NOMINAL) -> Measure:
        """`job` laid out once with `spaced` (版记 as a footnote) and measured, without a PDF."""
        return self._measure(self._layout(job, spaced=spaced), spaced)

    def _measure(self, doc: Any, spaced: Spacing) -> Measure:
        return spacing.measure(doc, spaced, gap_limit(self.fonts, spaced.line_pt))

    def document(self, job: NoticeJob) -> Any:
        """The laid-out WeasyPrint document (no PDF yet); see `laid_out`."""
        return self.laid_out(job)[0]

    def laid_out(self, job: NoticeJob) -> tuple[Any, Spacing]:
        """The laid-out WeasyPrint document (no PDF yet) and its spacing, with the 版记 at the foot
        of its last page, which is an even page (GB/T 9704 7.4 and 8.1: the back of the last sheet).

        Laid out as `fitted`, with the 版记 as a footnote after the signature. When that puts it
        on an odd page, the 版记 is taken off that page and a page of only the 版记 follows:
        numbered when the text ends on that odd page, or after a blank page, both unnumbered
        (GB/T 9704 7.5), when the text ended on the even page before.
        """
        doc, found = self.fitted(job)
        spaced = found.spacing
        count = len(doc.pages)
        if count % 2 == 0:
            return doc, spaced
        last = doc.pages[-1]
        text_on_last = holds_class(last._page_box, "closing")
        if not _drop_footnotes(last._page_box):  # no 版记 footnote found: lay out again without it
            doc = self._layout(job, {"imprint": "none"}, spaced=spaced)
            count = len(doc.pages)
            text_on_last = count % 2 == 1
        elif not text_on_last:
            doc = doc.copy(doc.pages[:-1])  # that page held only the 版记
            count -= 1
        extra = self._layout(job, {"imprint": "page", "unnumbered": not text_on_last}, first_page=count,
                             spaced=spaced)
        return doc.copy([*doc.pages, *(extra.pages[1:] if text_on_last else extra.pages)]), spaced

    def pdf(self, job: NoticeJob) -> bytes:
        """The notice as PDF bytes: same notice, same bytes."""
        doc, spaced = self.laid_out(job)
        identifier = hashlib.md5(f"{job.number}|{job.content_hash}".encode(), usedforsecurity=False).hexdigest()
        return doc.write_pdf(pdf_identifier=identifier.encode(), finisher=_xmp_finisher(job, spaced))

    def write(self, job: NoticeJob, path: Path) -> str:
        """Render to `path` atomically; returns the file's sha256."""
        data = self.pdf(job)
        _atomic_write(path, data)
        return hashlib.sha256(data).hexdigest()


def _drop_footnotes(page_box: Any) -> bool:
    """Take the footnote area (the 版记) off a laid-out page; False when it has none."""
    from weasyprint.formatting_structure.boxes import FootnoteAreaBox

    kept = [c for c in page_box.children if not isinstance(c, FootnoteAreaBox)]
    dropped = len(kept) != len(page_box.children)
    page_box.children = kept
    return dropped


def page_number_padding(fonts: FontSet) -> float:
    """The padding (mm) above the page number that puts its dash's top 7 mm under the text area."""
    face = fonts.role("body").face
    ink = line_ink(face, "—", PAGE_NUMBER_PT, PAGE_NUMBER_PT) if face else None
    if ink is None:
        return round(PAGE_NUMBER_GAP_MM - 0.23 * PAGE_NUMBER_PT / PT_PER_MM, 2)  # a typical CJK dash
    return round(PAGE_NUMBER_GAP_MM - ink.top / PT_PER_MM, 2)


def rule_gap(fonts: FontSet, number: str) -> float:
    """The margin (mm) above the red rule that puts it 4 mm under the ink of the 文号 `number`."""
    face = fonts.role("body").face
    ink = line_ink(face, number, BODY_PT, LINE_PT) if face else None
    if ink is None:
        return round(RULE_GAP_MM - 0.2 * BODY_PT / PT_PER_MM, 2)
    return round(RULE_GAP_MM - (LINE_PT - ink.bottom) / PT_PER_MM, 2)


#: What the measure on boxes leaves to spare under GB/T 9704's two lines (body lines).
GAP_SLACK = 0.05


@lru_cache(maxsize=64)
def gap_limit(fonts: FontSet, line_pt: float) -> float:
    """From how many empty body lines, measured on the boxes, a page before the signature counts as
    short: it must end less than two lines short measured from the ink of its last line, and the
    ink of a line of text ends above its line box (ideographs reach under the baseline, digits not)."""
    face = fonts.role("body").face
    under = []
    for glyph in "国0":
        ink = line_ink(face, glyph, BODY_PT, line_pt) if face else None
        under.append(line_pt - ink.bottom if ink else 0.25 * LINE_PT)
    return spacing.GAP_LINES - max(under) / LINE_PT - GAP_SLACK


#: A fixed font timestamp (2000-01-01) for WeasyPrint's fontTools path, so PDFs stay reproducible.
FONT_EPOCH = "946684800"


@lru_cache(maxsize=1)
def _warn_without_harfbuzz_subset() -> None:
    """Without libharfbuzz-subset WeasyPrint cuts fonts with fontTools: slow, and stamped with the clock.

    fontTools honours SOURCE_DATE_EPOCH, so it is fixed for this process (only in that case).
    """
    from weasyprint.pdf import fonts

    if getattr(fonts, "harfbuzz_subset", None) is None:
        os.environ.setdefault("SOURCE_DATE_EPOCH", FONT_EPOCH)
        _LOGGER.warning("libharfbuzz-subset is missing: WeasyPrint subsets fonts with fontTools and each "
                        "notice takes seconds; install it (Debian: apt install libharfbuzz-subset0)")


def _xmp_finisher(job: NoticeJob, spaced: Spacing = NOMINAL) -> Callable[[Any, Any], None]:
    """Adds an uncompressed XMP packet naming the notice, so a damaged file still says what it was,
    and, when its spacing was adjusted (GB/T 9704 7.3.5.3), the line pitch and characters a line,
    and when its charts were scaled, their heights' share of their nominal ones."""
    adjusted = (f"<tuoyou:linePitch>{spaced.line_pt:.2f}</tuoyou:linePitch>"
                f"<tuoyou:charsPerLine>{spaced.chars}</tuoyou:charsPerLine>") if spaced.lines_adjusted else ""
    if spaced.charts_scaled:
        adjusted += f"<tuoyou:chartScale>{spaced.charts:.2f}</tuoyou:chartScale>"

    def finish(_document: Any, pdf: Any) -> None:
        from xml.sax.saxutils import escape

        import pydyf

        xmp = (
            '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:tuoyou="urn:tuoyou:notice:1">'
            f"<dc:identifier>{escape(job.number)}</dc:identifier>"
            f"<tuoyou:number>{escape(job.number)}</tuoyou:number>"
            f"<tuoyou:kind>{escape(job.kind)}</tuoyou:kind>"
            f"<tuoyou:verifyCode>{escape(job.verify_code)}</tuoyou:verifyCode>"
            f"<tuoyou:contentHash>{escape(job.content_hash)}</tuoyou:contentHash>{adjusted}"
            "</rdf:Description></rdf:RDF></x:xmpmeta>\n"
            '<?xpacket end="r"?>'
        ).encode()
        stream = pydyf.Stream([xmp], {"Type": "/Metadata", "Subtype": "/XML"}, compress=False)
        pdf.add_object(stream)
        pdf.catalog["Metadata"] = stream.reference

    return finish


def _local_fetcher(roots: tuple[str, ...]) -> Any:
    """A WeasyPrint URL fetcher that reads data: URLs and files under `roots`, nothing else."""
    from weasyprint.urls import URLFetcher

    allowed = tuple(os.path.realpath(r) + os.sep for r in roots)

    class LocalFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = os.path.realpath(unquote(parsed.path))
                if path.startswith(allowed):
                    return super().fetch(url, headers)
            raise ValueError(f"notices load no external resources: {url}")

    return LocalFetcher(allowed_protocols=("file", "data"))


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def template_text() -> str:
    """Every character the notice templates can print (for the font cut)."""
    return "".join(p.read_text(encoding="utf-8") for p in sorted(TEMPLATES_DIR.glob("*.html")))


def district_text(district: District) -> str:
    """Every string of the district config (unit names, townships, checklist, contact)."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)

    walk(district.model_dump(mode="json"))
    return "".join(out)


def district_fonts(district: District, *, embed: bool = True, cache_dir: Path | None = None) -> FontSet:
    """The fonts of a district's notices: cut once to GB 2312 + templates + config characters."""
    return _district_fonts(district.model_dump_json(), embed, str(cache_dir) if cache_dir else None)


@lru_cache(maxsize=8)
def _district_fonts(district_json: str, embed: bool, cache_dir: str | None) -> FontSet:
    district = District.model_validate_json(district_json)
    extra = template_text() + district_text(district) + "0123456789—"
    return prepare_fonts(district.notices.fonts, extra, Path(cache_dir) if cache_dir else None, embed)


@lru_cache(maxsize=4)
def _renderer(district_json: str, fonts: FontSet) -> NoticeRenderer:
    return NoticeRenderer(District.model_validate_json(district_json), fonts)


def renderer_for(district: District, fonts: FontSet | None = None) -> NoticeRenderer:
    """A renderer for `district`, reused within the process."""
    return _renderer(district.model_dump_json(), fonts or district_fonts(district))


# -- worker processes ------------------------------------------------------------------------

_WORKER: NoticeRenderer | None = None


def _worker_init(district_json: str, fonts: FontSet) -> None:
    global _WORKER
    _WORKER = NoticeRenderer(District.model_validate_json(district_json), fonts)


def _worker_render(job: NoticeJob, path: str) -> tuple[int | None, str, str]:
    assert _WORKER is not None, "worker not initialised"
    sha = _WORKER.write(job, Path(path))
    return job.notice_id, path, sha


def _pool_context() -> multiprocessing.context.BaseContext:
    """forkserver (workers fork from a clean server that imported WeasyPrint once), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["weasyprint", "cases.notices.render"])
        return ctx
    return multiprocessing.get_context("spawn")


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def render_jobs(jobs: Sequence[NoticeJob], district: District, out_dir: Path, *,
                processes: int | None = None, progress: Progress | None = None,
                fonts: FontSet | None = None) -> list[tuple[NoticeJob, Path, str]]:
    """Render `jobs` into `out_dir`; returns (job, path, sha256) in the order of `jobs`.

    `processes=None` picks one process for small batches and all cores for larger ones.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = len(jobs)
    if total == 0:
        return []
    fonts = fonts or district_fonts(district)
    if processes is None:
        processes = 1 if total < POOL_THRESHOLD else min(cpu_count(), total)
    processes = max(1, min(processes, total))
    paths = [out_dir / job.filename for job in jobs]
    if len(set(paths)) != len(paths):
        raise InvalidInput("文书编号重复，文件名冲突", "two notices map to the same file name")
    results: list[tuple[NoticeJob, Path, str] | None] = [None] * total
    done = 0
    if processes == 1:
        renderer = renderer_for(district, fonts)
        for i, (job, path) in enumerate(zip(jobs, paths, strict=True)):
            results[i] = (job, path, renderer.write(job, path))
            done += 1
            if progress:
                progress(done, total)
    else:
        _LOGGER.debug("rendering %d notices in %d processes", total, processes)
        with ProcessPoolExecutor(max_workers=processes, mp_context=_pool_context(),
                                 initializer=_worker_init,
                                 initargs=(district.model_dump_json(), fonts)) as pool:
            futures = {pool.submit(_worker_render, job, str(path)): i
                       for i, (job, path) in enumerate(zip(jobs, paths, strict=True))}
            try:
                for fut in as_completed(futures):
                    i = futures[fut]
                    _id, path_s, sha = fut.result()
                    results[i] = (jobs[i], Path(path_s), sha)
                    done += 1
                    if progress:
                        progress(done, total)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # one failure stops the batch
                raise
    return [r for r in results if r is not None]


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def render_notices(session: Session, notices: Sequence[Notice], district: District, out_dir: Path | str, *,
                   processes: int | None = None, progress: Progress | None = None, force: bool = False,
                   key: str | bytes | None = None, commit: bool = True) -> list[Path]:
    """Render `notices` to `<out_dir>/<number>.pdf` and record hash, code, sha256 and path on each row.

    Idempotent: a notice whose file is already there with the recorded sha256 is not rendered
    again (unless `force`); rendering again would give the same bytes anyway.
    Returns the paths in the order of `notices`.
    """
    out = Path(out_dir)
    todo: list[NoticeJob] = []
    by_number: dict[str, Notice] = {}
    paths: dict[str, Path] = {}
    for notice in notices:
        job = job_for(notice, key=key)
        by_number[job.number] = notice
        target = (out / job.filename).resolve()
        paths[job.number] = target
        if (not force and notice.pdf_sha256 and notice.content_hash == job.content_hash
                and target.exists() and _file_sha256(target) == notice.pdf_sha256):
            _LOGGER.debug("notice %s already rendered at %s", job.number, target)
            if notice.pdf_path != str(target):
                notice.pdf_path = str(target)
                session.add(notice)
            _keep(session, notice, notice.pdf_sha256, target)
            continue
        _before_overwrite(session, notice, target)
        todo.append(job)
    skipped = len(notices) - len(todo)
    if progress and skipped:
        progress(skipped, len(notices))

    def _progress(done: int, _total: int) -> None:
        if progress:
            progress(skipped + done, len(notices))

    for job, path, sha in render_jobs(todo, district, out, processes=processes, progress=_progress):
        notice = by_number[job.number]
        notice.content_hash = job.content_hash
        notice.verify_code = job.verify_code
        notice.pdf_sha256 = sha
        notice.pdf_path = str(path.resolve())
        session.add(notice)
        _keep(session, notice, sha, path.resolve())
        _LOGGER.info("rendered notice %s → %s", job.number, path)
    if commit:
        session.commit()
    else:
        session.flush()
    return [paths[n.number] for n in notices]


def render_notice_to(session: Session, notice: Notice, district: District, path: Path | str, *,
                     key: str | bytes | None = None, commit: bool = True) -> Path:
    """Render one notice, in this process, to exactly `path`, and record it on the row."""
    job = job_for(notice, key=key)
    target = Path(path).resolve()
    _before_overwrite(session, notice, target)
    sha = renderer_for(district).write(job, target)
    notice.content_hash = job.content_hash
    notice.verify_code = job.verify_code
    notice.pdf_sha256 = sha
    notice.pdf_path = str(target)
    session.add(notice)
    _keep(session, notice, sha, target)
    if commit:
        session.commit()
    else:
        session.flush()
    return target


def _keep(session: Session, notice: Notice, sha: str, path: Path) -> None:
    """Keep this rendering on record (every issued file stays verifiable; see `cases.notices.verify`)."""
    from cases.notices.verify import record_rendering

    if notice.id is None:
        session.flush()
    record_rendering(session, notice, sha256=sha, path=path)


def _before_overwrite(session: Session, notice: Notice, target: Path) -> None:
    """Before a file is rendered again in place, read the content of the rendering it holds."""
    if notice.id is None or not target.exists():
        return
    from cases.notices.verify import ensure_content, renderings

    for row in renderings(session, notice.id):
        if row.content is None and row.path == str(target):
            ensure_content(session, row)


def render_notice(session: Session, notice: Notice, district: District, out_dir: Path | str, **kw: Any) -> Path:
    """`render_notices` for one notice, in this process."""
    kw.setdefault("processes", 1)
    return render_notices(session, [notice], district, out_dir, **kw)[0]


def notice_html(notice: Notice, district: District, *, key: str | bytes | None = None) -> str:
    """A notice as a standalone HTML page (stylesheet inline), e.g. for a web preview."""
    return renderer_for(district).html(job_for(notice, key=key), inline_css=True)


def notice_pdf(notice: Notice, district: District, *, key: str | bytes | None = None) -> bytes:
    """A notice as PDF bytes in this process, without touching files or the row."""
    return renderer_for(district).pdf(job_for(notice, key=key))
