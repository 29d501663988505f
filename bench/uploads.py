"""Benchmark: memory of image uploads, many at once, through the web app (in process).

Each scenario runs in a fresh child process (so its peak is its own) and posts R requests
at once, each with F images, to a case's evidence form, then prints the requests' status,
the peak resident memory above the idle app (`peak_mb`), what stays resident afterwards
(`kept_mb`), and `ratio`: the peak over the memory of decoding one image of the kind (the
floor, measured in the same run). Flat means the ratio stays near `DECODERS` however many
requests come together.

Scenarios: the audit's ten 7740×7740 PNGs (≈ 60 MP, above the budget: refused from the
header); ten 3900×3900 RGBA PNGs (≈ 15 MP, just under it: decoded); ten 6000×4000 JPEGs
(24 MP: decoded at reduced scale).

    .venv/bin/python bench/uploads.py [--requests 4] [--files 10]
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def big_png(width: int, height: int, *, rgba: bool = False, shade: int = 128) -> bytes:
    """A valid, highly compressed PNG of one grey, built row by row (never held decoded)."""
    color_type, channels = (6, 4) if rgba else (0, 1)
    comp = zlib.compressobj(9)
    row = b"\x00" + bytes([shade]) * (width * channels)
    body = b"".join([comp.compress(row) for _ in range(height)] + [comp.flush()])
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def big_jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 140, 200)).save(out, "JPEG", quality=60)
    return out.getvalue()


def _mem() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) // 1024
    return fields


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def child(kind: str, requests: int, files: int) -> dict[str, object]:
    """One scenario in this (fresh) process."""
    import threading
    from datetime import UTC, date, datetime

    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from app.web import create_app
    from app.web.security import SESSION_COOKIE, create_session
    from cases.bootstrap import init_database
    from cases.config import Settings, load_district
    from cases.db import make_engine
    from cases.service import open_case
    from cases.users import add_user

    make = {"png60": lambda: big_png(7740, 7740), "png15": lambda: big_png(3900, 3900, rgba=True),
            "jpeg24": lambda: big_jpeg(6000, 4000)}[kind]
    image = make()
    now = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        district = load_district(None)
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        init_database(engine, district)
        with Session(engine, expire_on_commit=False) as s:
            user = add_user(s, name="insp", role="inspector", township_code=district.townships[0].code)
            case = open_case(session=s, district=district, actor=user, name="内存测试托幼点",
                             township_code=district.townships[0].code, address="某村", operator="某人",
                             registered_on=date(2022, 1, 1), now=now, basis="原备案台账")
            token = create_session(s, user, now=now)
            from sqlmodel import select

            from app.web.security import token_digest
            from cases.models import WebSession

            csrf = s.exec(select(WebSession).where(WebSession.token_hash == token_digest(token))).one().csrf_token
        app = create_app(engine=engine, district=district, settings=Settings(), clock=lambda: now,
                         data_dir=Path(tmp) / "data")
        client = TestClient(app)
        client.cookies.set(SESSION_COOKIE, token)
        client.get(f"/cases/{case.id}")  # warm up: templates, routes
        # the floor: decoding one such image, alone
        from PIL import Image

        idle = _mem()["VmRSS"]
        _reset_peak()
        with Image.open(io.BytesIO(image)) as one:
            decoded_mb = one.width * one.height * len(one.getbands()) / 2**20
        statuses: list[int] = []
        _reset_peak()
        base = _mem()["VmRSS"]

        def post(i: int) -> None:
            # every file differs by one trailing byte, so none is stored only once by its hash
            payload = [("files", (f"p{i}-{j}.png", image + bytes([i, j]), "application/octet-stream"))
                       for j in range(files)]
            r = client.post(f"/cases/{case.id}/evidence", data={"csrf_token": csrf}, files=payload,
                            follow_redirects=False)
            statuses.append(r.status_code)

        threads = [threading.Thread(target=post, args=(i,)) for i in range(requests)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        mem = _mem()
        client.close()
        engine.dispose()
    return {"scenario": kind, "requests": requests, "files": files, "statuses": sorted(statuses),
            "file_kb": len(image) // 1024, "decoded_mb": round(decoded_mb, 1), "idle_mb": idle,
            "peak_mb": mem["VmHWM"] - base, "kept_mb": mem["VmRSS"] - base}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.requests, args.files)))
        return
    from cases.evidence import DECODERS

    print(f"{args.requests} requests at once, {args.files} images each; decoders at once: {DECODERS}")
    worst = 0.0
    for kind in ("png60", "png15", "jpeg24"):
        out = subprocess.run([sys.executable, __file__, "--child", kind, "--requests", str(args.requests),
                              "--files", str(args.files)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        ratio = r["peak_mb"] / max(r["decoded_mb"], 1.0)
        if kind != "png60":
            worst = max(worst, ratio)
        print(f"{kind:7} file {r['file_kb']:>5} KB  one decode {r['decoded_mb']:>6} MB  statuses {r['statuses']}  "
              f"peak_mb: {r['peak_mb']:>5}  kept_mb: {r['kept_mb']:>5}  ratio: {ratio:.2f}")
    print(f"worst ratio (peak over one decode, decoded scenarios): {worst:.2f}")


if __name__ == "__main__":
    main()
