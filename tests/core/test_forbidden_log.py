"""A refused request (403) is an expected answer, not a failure: it logs one
warning line, never a traceback."""

import logging

from tenants.models import Role
from tests.clients import ui_client
from tests.factories import member_make


def test_a_403_logs_one_warning_line_without_a_traceback(tenant_a, caplog):
    client = ui_client(member_make(tenant_a.tenant, Role.VIEWER))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post("/t/tenant_a/settings/keys/issue/")
    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    [record] = records
    assert record.levelno == logging.WARNING
    assert "Forbidden" in record.getMessage()
    assert record.exc_info is None
    assert "Traceback" not in caplog.text


def test_a_500_keeps_its_traceback():
    from core.log import ClientErrorsWithoutTraceback

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "x", (), sys.exc_info()
        )
    record.status_code = 500
    assert ClientErrorsWithoutTraceback().filter(record)
    assert record.exc_info is not None
