"""Who this browser is: a private owner id for its collections, and the address it comes from.

Signed in (the host turned on Streamlit's authentication): an id from the account. Otherwise a
random id in a cookie signed with the installation's secret (`lenet.people.owners`), set by the
page the first time and sent back by the browser on every later visit.
"""

import hashlib
import time

import streamlit as st

from app_pages.state import OWNER, settings
from lenet.people.collection import Collections, Quotas
from lenet.people.owners import new_owner, owner_secret, sign, user_owner, verify
from lenet.storage import locked_json

COOKIE = "lenet_owner"
COOKIE_DAYS = 365
KEEPS = "keep_times"  # when this session kept its last digits


def _account():
    try:
        if st.user.is_logged_in:
            return st.user.get("email") or st.user.get("sub")
    except Exception:  # no authentication configured on this server: everyone is anonymous
        pass
    return None


def owner():
    """This browser's owner id (made once per session, from the cookie when there is one)."""
    if OWNER not in st.session_state:
        secret = owner_secret(settings().owner_key)
        account = _account()
        found = user_owner(secret, account) if account else verify(secret, st.context.cookies.get(COOKIE))
        st.session_state[OWNER] = found or new_owner()
    return st.session_state[OWNER]


def remember_visitor():
    """Have the browser keep the signed owner cookie, unless it already sent it or is signed in."""
    me = owner()
    if me.startswith("u") or verify(owner_secret(settings().owner_key), st.context.cookies.get(COOKIE)) == me:
        return
    token = sign(owner_secret(settings().owner_key), me)
    age = COOKIE_DAYS * 86400
    st.html(
        f"<script>document.cookie = '{COOKIE}={token}; path=/; max-age={age}; SameSite=Strict'"
        " + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
        width="content",
    )


def client_address(current=None):
    """The client's address: the socket's, or the first X-Forwarded-For entry only when the host
    says a proxy is in front (`Settings.trusted_proxy`); anyone can send that header."""
    current = current or settings()
    if current.trusted_proxy:
        forwarded = (st.context.headers.get("X-Forwarded-For") or "").split(",")[0].strip()
        if forwarded:
            return forwarded
    address = st.context.ip_address
    return address if isinstance(address, str) else "local"  # None on localhost


def collections(teacher=False):
    """The collections as this browser sees them: its own, and the class's when the host set one."""
    current = settings()
    quotas = Quotas(current.max_digits_per_collection, current.max_digits_per_owner, current.max_digits_total)
    return Collections(current.collections_dir, owner(), current.class_collection, teacher, quotas)


LOCK_WAIT_S = 5  # past this the keep is counted without the lock: a lost count, never a lockout


def _address_key(address):
    return hashlib.sha256(f"keeps:{address}".encode()).hexdigest()[:24]


def count_address_keep(path, address, limit, clock=time.time):
    """Count a keep from `address` in the file `path`, which every app process on the host
    (replicas behind a proxy) reads, unless `limit` were counted in the last minute; returns 0,
    or the seconds until it may keep again. Addresses are kept hashed; quiet ones are dropped."""
    with locked_json(path, LOCK_WAIT_S) as book:
        now = clock()
        for key, times in list(book.items()):
            book[key] = (
                [t for t in times if isinstance(t, (int, float)) and now - t < 60] if isinstance(times, list) else []
            )
            if not book[key]:
                del book[key]  # quiet addresses are forgotten: the file stays as small as the class
        mine = book.get(_address_key(address), [])
        if len(mine) >= limit:
            return 60 - (now - mine[0])
        book[_address_key(address)] = [*mine, now]
    return 0


def check_keep_rate(clock=time.time):
    """A one-line refusal when this session kept `keeps_per_minute` digits in the last minute,
    or every session from its address together (on every replica of this host)
    `keeps_per_address`; else the keep is counted."""
    current, now = settings(), clock()
    recent = [t for t in st.session_state.get(KEEPS, []) if now - t < 60]
    if len(recent) >= current.keeps_per_minute:
        wait = 60 - (now - recent[0])
        return f"You kept {current.keeps_per_minute} digits in the last minute; wait {wait:.0f} s to keep more."
    wait = count_address_keep(current.address_keeps, client_address(current), current.keeps_per_address, clock)
    if wait:
        return (
            f"{current.keeps_per_address} digits were kept from your address in the last minute; "
            f"wait {wait:.0f} s to keep more."
        )
    st.session_state[KEEPS] = [*recent, now]
    return None
