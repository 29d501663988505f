"""A notice's identity: the hash of its content, its verification code, its QR payload, its file name.

`content_hash` is sha256 over the canonical JSON of number, kind and data, so any change to
what the notice says changes it. `verify_code` is an HMAC of number and content hash, shown
as 10 Crockford base32 characters (50 bits; no I, L, O or U, so it reads aloud safely).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from datetime import date, datetime
from typing import Any

_LOGGER = logging.getLogger(__name__)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
QR_PREFIX = "TUOYOU-NOTICE"

_CROCKFORD_FIX = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the same value always gives the same string."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default)


def content_hash_of(number: str, kind: str, data: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of number, kind and data."""
    payload = canonical_json({"number": number, "kind": kind, "data": data})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def content_hash(notice: Any) -> str:
    """`content_hash_of` for a `cases.models.Notice` (or anything with number, kind, data)."""
    return content_hash_of(notice.number, notice.kind, dict(notice.data or {}))


def _key_bytes(key: str | bytes | None) -> bytes:
    if key is None:
        from cases.config import Settings

        key = Settings().secret_key
    return key.encode("utf-8") if isinstance(key, str) else key


def crockford(data: bytes, length: int = CODE_LENGTH) -> str:
    """The first `length` Crockford base32 characters of `data`."""
    bits = int.from_bytes(data, "big")
    total = len(data) * 8
    out = []
    for i in range(length):
        shift = total - 5 * (i + 1)
        out.append(CROCKFORD[(bits >> shift) & 31])
    return "".join(out)


def verify_code(number: str, content_hash: str, key: str | bytes | None = None) -> str:
    """HMAC-SHA256(key, number + content hash) as 10 Crockford base32 characters.

    `key` defaults to the process's `TUOYOU_SECRET_KEY`; the code is stored on the notice
    when it is first rendered, so verification never needs the key again.
    """
    mac = hmac.new(_key_bytes(key), f"{number}\n{content_hash}".encode(), hashlib.sha256).digest()
    return crockford(mac)


def display_code(code: str) -> str:
    """`ABCDE12345` → `ABCDE-12345`."""
    return f"{code[:5]}-{code[5:]}" if len(code) == CODE_LENGTH else code


def normalize_code(text: str) -> str:
    """What a person typed (`abcde-12345`, with O for 0) → the stored form."""
    return re.sub(r"[\s\-]", "", text).upper().translate(_CROCKFORD_FIX)


def verify_path(code: str) -> str:
    """The public verification page of a code: `/v/ABCDE12345`."""
    return f"/v/{code}"


def verify_link(verify_url: str, code: str) -> str:
    """`verify_url` + `/v/<code>` (the district's public address of this system)."""
    return verify_url.rstrip("/") + verify_path(code)


def qr_payload(number: str, code: str, content_hash: str, verify_url: str = "") -> str:
    """What the QR code says: the public verification page, or (no `verify_url`) a self-describing line."""
    if verify_url:
        return verify_link(verify_url, code)
    return f"{QR_PREFIX}|{number}|{code}|{content_hash}"


def safe_filename(number: str) -> str:
    """武清教整〔2026〕12号 → 武清教整-2026-12号 (letters, digits and CJK kept; the rest a dash)."""
    name = re.sub(r"[^\w]+", "-", number, flags=re.UNICODE).strip("-_")
    return name or "notice"
