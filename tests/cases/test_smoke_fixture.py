from tests.conftest import Driver


def test_open_and_start_review(driver: Driver) -> None:
    case = driver.open()
    r = driver.do(case, "start_review")
    assert r.case.state == "under_review"
    assert r.case.version == 3 or r.case.version == 2
