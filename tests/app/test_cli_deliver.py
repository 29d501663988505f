"""`tuoyou notice deliver` and the notice of intent before a ban, from the command line."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.app.test_cli import _new_case, db, js, run  # noqa: F401  (db is a fixture)


def test_deliver_and_the_ban_waits_for_the_time_to_be_heard(db: str) -> None:  # noqa: F811
    cid = _new_case(db)
    run("case", "do", str(cid), "start_review", "--as", "insp", "--db", db)
    run("case", "do", str(cid), "suspend", "--major", "F01", "--reason", "疏散通道堵塞", "--as", "insp", "--db", db)
    refused = run("case", "do", str(cid), "confirm_ban", "--as", "rev", "--db", db, ok=False)
    assert refused.exit_code == 3 and "行政处罚事先告知书" in refused.stderr and "notify_intent" in refused.stderr
    out = js("case", "do", str(cid), "notify_intent", "--reason", "拒不停止办园", "--as", "rev", "--db", db)
    [number] = out["notices"]
    assert out["from"] == out["to"] == "enforcement" and number.startswith("武清教罚告〔")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the district's today, not the machine's
    for bad, message in ((["--on", (today + timedelta(days=1)).isoformat()], "晚于今天"),
                         (["--on", "2020-01-01"], "早于文书签发日期"),
                         (["--on", "yesterday"], "YYYY-MM-DD")):
        r = run("notice", "deliver", number, "--method", "direct", *bad, "--as", "insp", "--db", db, ok=False)
        assert r.exit_code == 2 and message in r.stderr
    r = run("notice", "deliver", "武清教罚告〔2026〕999号", "--method", "direct", "--on", today.isoformat(),
            "--as", "insp", "--db", db, ok=False)
    assert r.exit_code == 4
    served = js("notice", "deliver", number, "--method", "直接送达", "--on", today.isoformat(), "--recipient", "李四",
                "--as", "insp", "--db", db)
    assert served["method"] == "direct" and served["recipient"] == "李四" and served["receipt"].startswith("武清教送〔")
    again = run("notice", "deliver", number, "--method", "mail", "--on", today.isoformat(), "--as", "insp",
                "--db", db, ok=False)
    assert again.exit_code == 5 and "不能重复登记送达" in again.stderr
    refused = run("case", "do", str(cid), "confirm_ban", "--as", "rev2", "--db", db, ok=False)
    assert refused.exit_code == 3 and "尚未届满" in refused.stderr
    timeline = [e["trigger"] for e in js("case", "show", str(cid), "--db", db)["timeline"]]
    assert timeline[-2:] == ["notify_intent", "serve"]
