"""Writes of the entity-entry domain, one module per entity.

Each module has the bulk writer of its model (what ``gathergrid.resources``
hands to the REST engine) and the keyword-only services the other faces call
(``thing_create(*, values, by)``, ``field_move(*, field, direction, by)``,
``entry_update(*, entry, changes, by)``, ...). Services own their transaction:
a failure raises a :mod:`core.errors` error and leaves nothing written.
"""
