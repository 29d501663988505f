"""Notice identity: content hash, verification code, file names."""

from __future__ import annotations

from cases.notices import codes


def test_content_hash_is_canonical() -> None:
    a = codes.content_hash_of("武清教整〔2026〕1号", "rectification_order", {"b": 1, "a": [1, "中"]})
    b = codes.content_hash_of("武清教整〔2026〕1号", "rectification_order", {"a": [1, "中"], "b": 1})
    c = codes.content_hash_of("武清教整〔2026〕1号", "rectification_order", {"a": [1, "中"], "b": 2})
    assert a == b != c
    assert len(a) == 64


def test_verify_code_is_crockford_and_keyed() -> None:
    h = "0" * 64
    code = codes.verify_code("武清教整〔2026〕1号", h, "k1")
    assert len(code) == 10
    assert set(code) <= set(codes.CROCKFORD)
    assert code == codes.verify_code("武清教整〔2026〕1号", h, "k1")
    assert code != codes.verify_code("武清教整〔2026〕1号", h, "k2")
    assert code != codes.verify_code("武清教整〔2026〕2号", h, "k1")
    shown = codes.display_code(code)
    assert shown[5] == "-"
    assert codes.normalize_code(shown.lower()) == code


def test_normalize_code_reads_ambiguous_letters() -> None:
    assert codes.normalize_code("abcdo-1liu2") == "ABCD0111V2"


def test_safe_filename() -> None:
    assert codes.safe_filename("武清教整〔2026〕12号") == "武清教整-2026-12号"
    assert codes.safe_filename("../../etc/passwd") == "etc-passwd"
    assert codes.safe_filename("〔〕") == "notice"


def test_qr_payload() -> None:
    assert codes.qr_payload("N", "C", "H") == "TUOYOU-NOTICE|N|C|H"
    assert codes.qr_payload("武清教整〔2026〕1号", "ABCDE12345", "H", "https://example.test/tuoyou/") == (
        "https://example.test/tuoyou/v/ABCDE12345")
