"""The password hasher of the test processes."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 with a thousand iterations instead of a million: a test user's
    password is hashed when the user is made and again at each sign-in with it, and at a
    quarter of a second each the suite spent minutes on them. Same algorithm and format
    (``pbkdf2_sha256$1000$...``), so a web server or worker started by a test, on the
    production hasher, still checks these passwords (and hashes them again its own way
    at the first sign-in, as it would an older hash)."""

    iterations = 1_000
