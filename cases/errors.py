"""The domain exceptions, re-exported where the records and the service live."""

from workflow.errors import Conflict, InvalidInput, NotAllowed, NotFound, TuoyouError

__all__ = ["Conflict", "InvalidInput", "NotAllowed", "NotFound", "TuoyouError"]
