"""Official PDF notices (公文): render them from templates, verify them, and the district bulletin.

The heavy imports (WeasyPrint) happen only when something is rendered.
"""

from cases.notices.codes import content_hash, content_hash_of, display_code, verify_code
from cases.notices.render import (
    NoticeJob,
    NoticeRenderer,
    job_for,
    notice_html,
    notice_pdf,
    render_notice,
    render_notices,
)
from cases.notices.verify import VerifyResult, verify_bytes, verify_pdf

__all__ = [
    "NoticeJob",
    "NoticeRenderer",
    "VerifyResult",
    "content_hash",
    "content_hash_of",
    "display_code",
    "job_for",
    "notice_html",
    "notice_pdf",
    "render_notice",
    "render_notices",
    "verify_bytes",
    "verify_code",
    "verify_pdf",
]
