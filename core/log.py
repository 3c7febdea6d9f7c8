"""Logging filters the project's ``LOGGING`` setting installs."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A 4xx that Django logs (``Forbidden (Permission denied): /path``) keeps its
    one warning line but drops the traceback: refusing a request is an expected
    answer, not a failure of the code. 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
