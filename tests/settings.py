"""The settings of the test suite: the project's own (``config.settings``), with
a fast password hasher.

Argon2 is slow on purpose; the suite signs in hundreds of times, so it hashes
with MD5 as Django advises for tests ("Speeding up the tests"). Production keeps
Argon2: tests/tenants/test_auth.py checks ``config.settings`` still says so.
pytest uses this module (pyproject's ``DJANGO_SETTINGS_MODULE``), and so do the
real servers the slow tests start (``tests.live.Served`` passes it on), so that a
password set by a management command checks out in the server.
"""

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
