"""The vocabulary of bulk writes, shared by the domain's writers and the REST
engine that calls them (so that neither imports the other)."""

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class InsertResult:
    """The ids an insert wrote (in input order) and how many rows were new."""

    ids: list[int]
    inserted: int


@dataclass(frozen=True)
class Upsert:
    on_conflict: tuple[str, ...]
    ignore_duplicates: bool


@dataclass(frozen=True)
class WriteContext:
    """Who writes (``user_id``; None for the system), how missing columns are
    filled (``Prefer: missing=default``) and the user action the write belongs
    to (``batch``: its history rows carry it, so it can be undone as a whole)."""

    user_id: str | None
    missing_default: bool = False
    batch: UUID | None = None
