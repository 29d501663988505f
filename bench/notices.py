"""Benchmark: rendering notices to PDF.

Builds a temporary SQLite database with 200 notices of every case kind, then times
  (a) the project's pipeline (`render_notices`: cached font subsets, parsed stylesheets reused),
      in one process, and again as a parallel batch over this machine's cores;
  (b) bare WeasyPrint `write_pdf` on the same HTML with the same system fonts (first 10 only);
  (c) WeasyPrint layout alone (`render()`, no PDF, once per notice): the floor, timed in
      chunks alternating with (a)'s so that the machine's load weighs on both alike.
Prints the per-notice times, whether every embedded CID-keyed font numbers its CIDs as glyph
indices (what Ghostscript, MuPDF and Acrobat need to draw the right glyphs), `floor_ratio: (a)/(c)`,
and as the last line `speedup: <one process time / parallel batch time>`.

Run: `python bench/notices.py [--count N] [--no-fonttools]`.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session

from cases.config import District, load_district
from cases.db import make_engine, migrate
from cases.models import Case, Notice, Point, Township
from workflow.notices import NOTICE_TITLES, NoticeKind

_LOGGER = logging.getLogger(__name__)

KINDS = [k for k in NoticeKind if k is not NoticeKind.BULLETIN]
NAMES = ["阳光", "彩虹", "小树苗", "童心", "星星", "蓝天", "快乐", "爱心", "启智", "金色摇篮"]
PEOPLE = ["张三", "李四", "王五", "赵六", "陈小红", "刘洋", "周敏", "吴磊"]
KEY = "bench-secret"
CHUNK = 20  # notices per alternating chunk of (a) and (c)


def build(path: Path, district: District, count: int) -> tuple[Any, list[int]]:
    """A database with `count` notices over as many cases, kinds in turn, items varying."""
    engine = make_engine("sqlite:///" + str(path / "bench.db"))
    migrate(engine)
    ids: list[int] = []
    with Session(engine) as s:
        towns = [Township(code=t.code, name=t.name) for t in district.townships]
        s.add_all(towns)
        s.flush()
        cfg_towns = {t.code: t for t in district.townships}
        seqs: dict[str, int] = {}
        for i in range(count):
            town = towns[i % len(towns)]
            name = f"{town.name}{NAMES[i % len(NAMES)]}托幼点（{i + 1}）"
            operator = PEOPLE[i % len(PEOPLE)]
            point = Point(name=name, township_id=town.id or 0, address=f"{town.name}幸福路{i + 1}号",
                          operator=operator, phone=f"1380000{i:04d}", registered_on=date(2023, 1, 5))
            s.add(point)
            s.flush()
            case = Case(point_id=point.id or 0, township_id=town.id or 0, state="rectifying", round=1)
            s.add(case)
            s.flush()
            kind = KINDS[i % len(KINDS)]
            seqs[kind.value] = seqs.get(kind.value, 0) + 1
            number = f"{district.notices.prefixes[kind.value]}〔2026〕{seqs[kind.value]}号"
            items = []
            for item in district.checklist[i % 3: i % 3 + 1 + i % 5]:
                items.append({"code": item.code, "title": item.title, "category": item.category,
                              "severity": item.severity, "result": "major" if item.major_capable and i % 2 else "fail",
                              "requirement": item.requirement, "basis": item.basis, "note": ""})
            unit = cfg_towns[town.code].unit
            supervision = kind in (NoticeKind.SUPERVISION_NOTICE, NoticeKind.LISTED_SUPERVISION)
            issued = date(2026, 11, 2) + timedelta(days=i % 20)
            data = {
                "title": NOTICE_TITLES[kind], "number": number, "issued_on": issued.isoformat(),
                "issuer": district.district.bureau,
                "addressee": unit if supervision else f"{name}（举办者：{operator}）",
                "point": {"name": name, "address": point.address, "operator": operator, "phone": point.phone,
                          "township": town.name, "township_code": town.code, "registered_on": "2023-01-05"},
                "case_id": case.id, "round": 1 + i % 2, "round_max": 2, "state": "rectifying", "state_zh": "整改中",
                "deadline": (issued + timedelta(days=28)).isoformat(), "deadline_days": 20,
                "deadline_calendar": "workdays", "items": items, "reason": "经复查，安全隐患仍未消除",
                "level": 3 if kind is NoticeKind.LISTED_SUPERVISION else 1 + i % 2,
                "level_zh": "挂牌督办" if kind is NoticeKind.LISTED_SUPERVISION else "镇街督办",
                "overdue_days": 1 + i % 9, "missed_deadline": (issued - timedelta(days=7)).isoformat(),
                "missed_deadline_kind": "rectification", "township_unit": unit, "actor": f"{town.name}检查员",
                "contact": district.district.contact,
            }
            notice = Notice(number=number, district=district.district.code, kind=kind.value, year=2026,
                            seq=seqs[kind.value], case_id=case.id, addressee=data["addressee"],
                            issuer=data["issuer"], data=data, issued_on=issued)
            s.add(notice)
            s.flush()
            ids.append(notice.id or 0)
        s.commit()
    return engine, ids


def page_count(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def load(session: Session, ids: list[int]) -> list[Notice]:
    return [n for n in (session.get(Notice, i) for i in ids) if n is not None]


def cid_faults(pdf: Path) -> list[str]:
    """Embedded CID-keyed CFF fonts of `pdf` whose charset gives a CID the page draws to another glyph."""
    import io
    import re

    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    faults = []
    seen = set()
    for page in PdfReader(pdf).pages:
        for ref in (page["/Resources"].get("/Font") or {}).values():
            font = ref.get_object()
            if str(font["/BaseFont"]) in seen:
                continue
            seen.add(str(font["/BaseFont"]))
            desc = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            if "/FontFile3" not in desc:
                continue  # TrueType: CIDToGIDMap /Identity, always right
            tt = TTFont(io.BytesIO(desc["/FontFile3"].get_object().get_data()))
            top = tt["CFF "].cff.topDictIndex[0]
            if not hasattr(top, "ROS"):
                continue
            drawn = {int(c, 16) for c in re.findall(r"<([0-9a-fA-F]{4})>\s*<",
                                                       font["/ToUnicode"].get_object().get_data().decode("latin-1"))}
            charset = top.charset
            wrong = [cid for cid in drawn if cid and (cid >= len(charset) or charset[cid] != f"cid{cid:05d}")]
            if wrong:
                faults.append(f"{font['/BaseFont']}: {len(wrong)} of {len(drawn)} drawn CIDs select another glyph")
    return faults


def fonttools_bare(html_file: str) -> None:
    """(b) without HarfBuzz-subset: what a machine lacking libharfbuzz-subset pays per notice."""
    import weasyprint
    import weasyprint.pdf.fonts

    weasyprint.pdf.fonts.harfbuzz_subset = None
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    html = Path(html_file).read_text(encoding="utf-8")
    t = time.perf_counter()
    weasyprint.HTML(string=html).write_pdf()
    print(f"{time.perf_counter() - t:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--no-fonttools", action="store_true", help="skip the fontTools-only measurement")
    parser.add_argument("--fonttools-bare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fonttools_bare:
        fonttools_bare(args.fonttools_bare)
        return
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)

    from cases.notices.render import NoticeRenderer, cpu_count, district_fonts, job_for, render_notices

    district = load_district(None)
    cores = cpu_count()
    with tempfile.TemporaryDirectory(prefix="bench-notices-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("TUOYOU_FONT_CACHE", str(root / "fonts"))
        t = time.perf_counter()
        engine, ids = build(root, district, args.count)
        print(f"notices: {len(ids)} in a fresh SQLite database ({time.perf_counter() - t:.1f} s), cores: {cores}")

        t = time.perf_counter()
        import weasyprint

        t_import = time.perf_counter() - t
        t = time.perf_counter()
        fonts = district_fonts(district)
        t_fonts = time.perf_counter() - t
        print(f"import weasyprint: {t_import:.2f} s; font subsets ready: {t_fonts:.2f} s "
              f"({'cached' if t_fonts < 0.2 else 'cut now'})")

        # (a) the pipeline, one process, then the parallel batch (both from scratch: force).
        # (a) one process and (c) the layout floor are timed in alternating chunks, so that a change of
        # load on a shared machine weighs on both alike.
        pipe = NoticeRenderer(district, fonts=fonts)
        t_one = t_floor_sum = 0.0
        with Session(engine, expire_on_commit=False) as s:
            notices = load(s, ids)
            paths = []
            for i in range(0, len(notices), CHUNK):
                part = notices[i: i + CHUNK]
                t = time.perf_counter()
                paths += render_notices(s, part, district, root / "one", processes=1, force=True, key=KEY)
                t_one += time.perf_counter() - t
                htmls = [pipe.html(job_for(n, key=KEY)) for n in part]
                t = time.perf_counter()
                for h in htmls:
                    weasyprint.HTML(string=h).render(stylesheets=pipe.stylesheets, font_config=pipe.font_config)
                t_floor_sum += time.perf_counter() - t
            one = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
            sizes = [p.stat().st_size for p in paths]
        with Session(engine, expire_on_commit=False) as s:
            notices = load(s, ids)
            t = time.perf_counter()
            paths = render_notices(s, notices, district, root / "many", processes=cores, force=True, key=KEY)
            t_many = time.perf_counter() - t
            many = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
            pages = [page_count(p) for p in paths]
            jobs = [job_for(n, key=KEY) for n in notices]
        n = len(jobs)
        print(f"identical bytes, one process vs {cores}: {'yes' if one == many else 'NO'}; "
              f"mean PDF size {sum(sizes) / n / 1024:.0f} KiB; mean pages {sum(pages) / n:.2f}")
        faults = [f for p in paths[: len(KINDS)] for f in cid_faults(p)]
        print(f"fonts draw everywhere (every drawn CID selects its glyph in every CID-keyed CFF): "
              f"{'yes' if not faults else 'NO: ' + '; '.join(faults[:3])}")

        # (b) bare WeasyPrint: the same HTML, the configured system font families, default options.
        bare = NoticeRenderer(district, fonts=district_fonts(district, embed=False))
        bare_html = [bare.html(job, inline_css=True) for job in jobs[:10]]
        t = time.perf_counter()
        bare_sizes = [len(weasyprint.HTML(string=h).write_pdf()) for h in bare_html]
        t_bare = (time.perf_counter() - t) / len(bare_html)

        t_floor = t_floor_sum / n  # (c) layout only, on the pipeline's HTML and stylesheets (timed above)

        t_a = t_one / n
        print(f"(a) pipeline, one process:      {t_a:.3f} s/notice  ({t_one:.1f} s for {n})")
        print(f"(a) pipeline, {cores} processes:      {t_many / n:.3f} s/notice  ({t_many:.1f} s for {n})")
        print(f"(b) bare WeasyPrint write_pdf:  {t_bare:.3f} s/notice  (first {len(bare_html)}; "
              f"mean PDF size {sum(bare_sizes) / len(bare_sizes) / 1024:.0f} KiB)")
        print(f"(c) layout alone (render()):    {t_floor:.3f} s/notice")
        if not args.no_fonttools:
            html_file = root / "bare.html"
            html_file.write_text(bare_html[0], encoding="utf-8")
            out = subprocess.run([sys.executable, __file__, "--fonttools-bare", str(html_file)],
                                 capture_output=True, text=True, check=False)
            value = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "failed"
            print(f"(b') bare WeasyPrint without libharfbuzz-subset (fontTools subsets the system font): "
                  f"{value} s/notice (1 notice)")
        engine.dispose()
        print(f"floor_ratio: {t_a / t_floor:.2f}")
        print(f"speedup: {t_one / t_many:.2f}")


if __name__ == "__main__":
    main()
