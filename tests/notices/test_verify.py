"""Verification: genuine, altered (even by one byte, even damaged), unknown."""

from __future__ import annotations

from pathlib import Path

from cases.notices import verify_bytes, verify_pdf
from cases.notices.verify import find_by_code
from tests.notices.conftest import Rendered


def test_genuine(rendered: Rendered) -> None:
    w = rendered.world
    res = verify_pdf(w.session, rendered.paths["rectification_order"])
    assert res.status == "genuine" and res.genuine
    assert res.number == rendered.notices["rectification_order"].number
    assert res.status_zh == "真实有效"


def test_one_byte_changed_is_altered(rendered: Rendered, tmp_path: Path) -> None:
    w = rendered.world
    data = bytearray(rendered.paths["suspension_order"].read_bytes())
    for pos in (len(data) // 2, len(data) // 3, len(data) - 40):
        changed = bytearray(data)
        changed[pos] ^= 0x01
        res = verify_bytes(w.session, bytes(changed))
        assert res.status == "altered", pos
        assert res.number == rendered.notices["suspension_order"].number


def test_damaged_file_is_altered(rendered: Rendered) -> None:
    """Even when no PDF reader can open it, the uncompressed XMP packet still names the notice."""
    w = rendered.world
    data = rendered.paths["ban_decision"].read_bytes()
    damaged = b"\0" * 2000 + data[2000 : len(data) - 300]  # header and cross-reference table gone
    res = verify_bytes(w.session, damaged)
    assert res.status == "altered"
    assert res.number == rendered.notices["ban_decision"].number


def test_unrelated_pdf_is_unknown(rendered: Rendered, tmp_path: Path) -> None:
    import weasyprint

    other = tmp_path / "other.pdf"
    weasyprint.HTML(string="<p>Hello, not a notice</p>").write_pdf(other)
    res = verify_pdf(rendered.world.session, other)
    assert res.status == "unknown" and res.notice_id is None
    assert verify_bytes(rendered.world.session, b"not a pdf at all").status == "unknown"


def test_find_by_typed_code(rendered: Rendered) -> None:
    n = rendered.notices["filing_receipt"]
    typed = (n.verify_code[:5] + "-" + n.verify_code[5:]).lower()
    found = find_by_code(rendered.world.session, typed)
    assert found is not None and found.number == n.number
