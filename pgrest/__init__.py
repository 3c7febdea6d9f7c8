"""A PostgREST-compatible REST engine.

``grammar`` parses query strings and headers into the ``ast``; ``registry``
describes the exposed resources; ``planner`` turns both into SQL; ``views``
serves ``/rest/v1``. The engine knows nothing of things or entries: resources
are registered with it (``gathergrid/resources.py``).
"""
