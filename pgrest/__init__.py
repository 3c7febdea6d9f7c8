"""A PostgREST-compatible REST engine, laid out as PostgREST's own source is.

``request`` (PostgREST's ApiRequest: negotiation, the query string and
``Prefer`` parsed by ``grammar`` into the ``ast``, the body); ``registry`` (the
schema cache: resources, columns, relations); ``planner`` (Plan and Query: one
parameterised statement); ``response``; ``errors`` (every error in PostgREST's
shape, the domain's codes mapped to SQLSTATEs once); ``openapi``; ``views``
(the handlers tying them together). The engine knows nothing of things or
entries: resources are registered with it (``gathergrid/resources.py``,
``tracking/resources.py``).
"""
