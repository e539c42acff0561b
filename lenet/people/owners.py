"""Private owner ids for visitors: who a collection belongs to.

An anonymous visitor's id is random and travels in a cookie signed with this installation's
secret (HMAC-SHA256), so no one can claim another's id without the secret, which never leaves
the data folder. A visitor signed in through Streamlit's authentication gets an id derived from
their account instead, the same in every browser.
"""

import hashlib
import hmac
import os
import secrets

OWNER_BYTES = 8  # 16 hex digits: `lenet.people.collection.OWNER_PATTERN`


def owner_secret(path):
    """This installation's secret, made once (32 random bytes, readable by the server only)."""
    try:
        secret = path.read_bytes()
        if len(secret) >= 32:
            return secret
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another session made it first
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    return path.read_bytes()


def new_owner():
    return secrets.token_hex(OWNER_BYTES)


def _signature(secret, owner):
    return hmac.new(secret, f"owner:{owner}".encode(), hashlib.sha256).hexdigest()[:32]


def sign(secret, owner):
    """The cookie value that proves `owner`: `OWNER.SIGNATURE`."""
    return f"{owner}.{_signature(secret, owner)}"


def verify(secret, token):
    """The owner a cookie value proves, or None (absent, malformed or forged)."""
    owner, _, signature = str(token or "").partition(".")
    if len(owner) != 2 * OWNER_BYTES or not all(c in "0123456789abcdef" for c in owner):
        return None
    return owner if hmac.compare_digest(signature, _signature(secret, owner)) else None


def user_owner(secret, account):
    """The owner id of a signed-in account (its e-mail or subject): 'u' and 15 hex digits."""
    return "u" + hmac.new(secret, f"user:{account}".encode(), hashlib.sha256).hexdigest()[:15]
