"""Optional sign-in for the chat: named users with scrypt password hashes, or a name set by a trusted reverse proxy.

Both are off by default, and each is turned on by one setting (see the README). With either on, Chainlit keeps the
chat history per user and refuses one user's chats to another. Passwords are never stored: ``ASSISTANT_AUTH_USERS``
holds ``name:scrypt:N:r:p:SALT:KEY`` entries (hex salt and key), made by ``python -m assistant.chat.auth``, and a
sign-in compares keys in constant time. An unknown name costs the same scrypt run as a wrong password, so the time a
refusal takes does not tell which names exist.

Chainlit signs its session cookies with ``CHAINLIT_AUTH_SECRET``; :func:`ensure_secret` makes one on first use and
keeps it in a file only the owner can read, so sign-ins survive a restart without anyone having to pick a secret.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import UserError
from assistant.settings import Settings

SECRET_FILE = "auth-secret"
SECRET_VARIABLE = "CHAINLIT_AUTH_SECRET"
#: scrypt cost: 16 MiB and ~50 ms per sign-in on one core, OWASP's minimum for scrypt.
_N, _R, _P = 2**14, 8, 1
_MAX_MEMORY = 64 * 1024 * 1024
_NAME = re.compile(r"^[\w.@+-]{1,64}$")
#: A header value that can be a user's name: printable, no separators that could smuggle another value.
_HEADER_NAME = re.compile(r"^[\w.@+\- ]{1,128}$")


@dataclass(frozen=True)
class PasswordHash:
    """One stored password: the scrypt parameters, the salt and the derived key."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    def matches(self, password: str) -> bool:
        """Whether the password derives the same key (compared in constant time)."""
        return hmac.compare_digest(_derive(password, self.salt, self.n, self.r, self.p, len(self.key)), self.key)


def hash_password(password: str) -> str:
    """The ``scrypt:N:r:p:SALT:KEY`` form of a password, with a fresh random salt."""
    salt = secrets.token_bytes(16)
    key = _derive(password, salt, _N, _R, _P, 32)
    return f"scrypt:{_N}:{_R}:{_P}:{salt.hex()}:{key.hex()}"


def parse_hash(value: str) -> PasswordHash:
    """Read a stored hash; a ``ValueError`` says what is wrong with it (never what it contains)."""
    parts = value.split(":")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("expected scrypt:N:r:p:SALT:KEY")
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt, key = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError as error:
        raise ValueError("N, r and p must be integers, SALT and KEY hexadecimal") from error
    if n < 2**10 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or len(salt) < 8 or len(key) < 16:
        raise ValueError("parameters too weak or malformed")
    if 128 * n * r * p > _MAX_MEMORY:
        raise ValueError("parameters need more memory than allowed")
    return PasswordHash(n, r, p, salt, key)


def parse_users(value: str) -> dict[str, PasswordHash]:
    """``name:hash`` entries separated by commas or white space, as a name -> hash map."""
    users: dict[str, PasswordHash] = {}
    for number, entry in enumerate(value.replace(",", " ").split(), start=1):
        name, _, stored = entry.partition(":")
        if not _NAME.match(name):
            raise UserError(
                f"ASSISTANT_AUTH_USERS entry {number}: a user name is 1 to 64 letters, digits or . @ + - _"
            )
        if name in users:
            raise UserError(f"ASSISTANT_AUTH_USERS entry {number}: user {name} is listed twice")
        try:
            users[name] = parse_hash(stored)
        except ValueError as error:
            raise UserError(
                f"ASSISTANT_AUTH_USERS entry {number} ({name}): {error}; make one with `python -m assistant.chat.auth`"
            ) from error
    if not users:
        raise UserError("ASSISTANT_AUTH_USERS is set but lists no user")
    return users


def password_users(settings: Settings) -> dict[str, PasswordHash]:
    """The configured password users; empty when password sign-in is off."""
    if settings.auth_users is None or not settings.auth_users.get_secret_value().strip():
        return {}
    return parse_users(settings.auth_users.get_secret_value())


def header_name(settings: Settings) -> str | None:
    """The trusted header carrying the user's name, or None when header sign-in is off."""
    name = (settings.auth_header or "").strip()
    if not name:
        return None
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", name):
        raise UserError("ASSISTANT_AUTH_HEADER must be a header name such as X-Forwarded-User")
    return name


def check_password(users: dict[str, PasswordHash], name: str, password: str) -> bool:
    """Whether ``name`` is a user and ``password`` theirs; an unknown name costs one scrypt run all the same."""
    stored = users.get(name)
    if stored is None:
        _derive(password, b"timing-equaliser", _N, _R, _P, 32)
        return False
    return stored.matches(password)


def header_user(value: str | None) -> str | None:
    """The user named by the proxy's header, if it is a plausible name (else no sign-in)."""
    name = (value or "").strip()
    return name if _HEADER_NAME.match(name) else None


def secret_path(settings: Settings) -> Path:
    """Where the generated cookie-signing secret is kept: beside the store directory, like the chat history."""
    return settings.beside_store(SECRET_FILE)


def ensure_secret(path: Path) -> str:
    """The secret in ``path``, created (random, owner-only 0600) if missing; a readable-by-others file is tightened.

    Created with ``O_EXCL`` so two servers starting at once agree on one secret instead of overwriting each other.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    else:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(48))
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise UserError(f"the sign-in secret in {path} is too short; delete the file to make a new one")
    return secret


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEMORY, dklen=length)


def main() -> int:
    """``python -m assistant.chat.auth [NAME]``: ask for a password twice and print the ASSISTANT_AUTH_USERS entry."""
    name = sys.argv[1] if len(sys.argv) > 1 else input("user name: ").strip()
    if not _NAME.match(name):
        print("a user name is 1 to 64 letters, digits or . @ + - _", file=sys.stderr)
        return 2
    password = getpass.getpass("password: ")
    if len(password) < 8 or password != getpass.getpass("again: "):
        print("the passwords differ or are shorter than 8 characters", file=sys.stderr)
        return 2
    print(f"{name}:{hash_password(password)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
