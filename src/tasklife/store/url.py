"""Store URLs: which backend, where, and how durable, without ever showing a password.

* ``sqlite:///relative/tasks.db``, ``sqlite:////absolute/tasks.db`` or a plain path: a SQLite
  file (SQLAlchemy's spelling: three slashes, then the path). ``sqlite://`` (no path) is an
  in-memory store. ``?mode=ro`` opens a file read-only.
* ``postgresql://user:password@host:port/database?...`` (or ``postgres://``): a PostgreSQL
  server; every query parameter but tasklife's own is passed to libpq (``host=/socket/dir``,
  ``sslmode``, ``options=-csearch_path%3Dmyschema``, ...).
* tasklife's own parameters, on both: ``durability=full|process`` (see :data:`DURABILITIES`).

>>> url = parse_url("postgresql://ops:s3cret@db.example:5433/tasks?durability=process")
>>> url
StoreURL('postgresql://ops:***@db.example:5433/tasks?durability=process')
>>> url.dialect, url.durability, "s3cret" in url.conninfo
('postgresql', 'process', True)
>>> parse_url("sqlite:///runs/tasks.db").path, parse_url("sqlite://").path
('runs/tasks.db', None)
"""

from __future__ import annotations

import os
from typing import Final, Literal
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

import attrs

from tasklife.errors import InvalidStoreURL

__all__ = ["DURABILITIES", "Durability", "StoreURL", "parse_url"]

Durability = Literal["full", "process"]
DURABILITIES: Final[tuple[Durability, ...]] = ("full", "process")
"""``full``: an acknowledged change survives a power loss or an OS crash (SQLite
``synchronous=FULL``; PostgreSQL ``synchronous_commit=on``). ``process``: it survives the
crash of any process, the writer's included, but the last transactions may be lost with the
machine (SQLite WAL with ``synchronous=NORMAL``; PostgreSQL ``synchronous_commit=off``, which
also loses them when the server itself crashes). Never a torn or half-written task."""

_SCHEMES: Final = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql"}
_OWN_PARAMETERS: Final = frozenset({"durability"})
_SQLITE_PARAMETERS: Final = frozenset({"durability", "mode"})
_MASK: Final = "***"
_SCRUB_MIN: Final = 3
"""Shorter passwords are not scrubbed out of messages (a one-letter password would mask
every such letter); psycopg never puts the password in its messages anyway."""


@attrs.frozen(repr=False)
class StoreURL:
    """A parsed store URL. ``redacted`` (also the repr) masks the password; ``conninfo``
    (PostgreSQL, with the password) is for the driver only."""

    dialect: Literal["sqlite", "postgresql"]
    redacted: str
    durability: Durability
    path: str | None = None
    """SQLite: the file (None: in memory)."""
    read_only: bool = False
    conninfo: str = ""
    _password: str = ""

    def __repr__(self) -> str:
        return f"StoreURL({self.redacted!r})"

    def __str__(self) -> str:
        return self.redacted

    def scrub(self, text: str) -> str:
        """``text`` (a driver's message) with the password masked."""
        if len(self._password) >= _SCRUB_MIN:
            for form in {self._password, quote(self._password, safe="")}:
                text = text.replace(form, _MASK)
        return text


def parse_url(url: str | os.PathLike[str], *, durability: str | None = None) -> StoreURL:
    """Parse a store URL or a SQLite file path; ``durability`` overrides the URL's.

    >>> parse_url("tasks.db").path
    'tasks.db'
    >>> parse_url("mysql://db/tasks")
    Traceback (most recent call last):
    tasklife.errors.InvalidStoreURL: store URL 'mysql://db/tasks': unknown scheme 'mysql': \
use sqlite:///PATH, a file path or postgresql://USER@HOST/DATABASE
    """
    if isinstance(url, os.PathLike):
        return _sqlite(os.fspath(url), {}, os.fspath(url), durability)
    if not isinstance(url, str) or not url:
        raise InvalidStoreURL(repr(url), "expected a URL or a file path")
    if "://" not in url:
        return _sqlite(url, {}, url, durability)
    parts = urlsplit(url)
    scheme = _SCHEMES.get(parts.scheme.lower())
    redacted = _redact(url)
    if scheme is None:
        raise InvalidStoreURL(
            redacted,
            f"unknown scheme {parts.scheme!r}: use sqlite:///PATH, a file path or "
            "postgresql://USER@HOST/DATABASE",
        )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if scheme == "sqlite":
        if parts.netloc:
            raise InvalidStoreURL(
                redacted, "a SQLite URL has no host: sqlite:///relative.db or sqlite:////abs.db"
            )
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        return _sqlite(path, query, redacted, durability)
    return _postgresql(parts, query, redacted, durability)


def _durability(query: dict[str, str], override: str | None, redacted: str) -> Durability:
    value = override if override is not None else query.get("durability", "full")
    for known in DURABILITIES:
        if value == known:
            return known
    raise InvalidStoreURL(
        redacted, f"durability must be one of {', '.join(DURABILITIES)} (got {value!r})"
    )


def _sqlite(path: str, query: dict[str, str], redacted: str, durability: str | None) -> StoreURL:
    unknown = sorted(set(query) - _SQLITE_PARAMETERS)
    if unknown:
        raise InvalidStoreURL(
            redacted, f"unknown SQLite parameter {unknown[0]!r} (known: durability, mode=ro)"
        )
    mode = query.get("mode", "rw")
    if mode not in ("ro", "rw"):
        raise InvalidStoreURL(redacted, f"mode must be ro or rw (got {mode!r})")
    memory = path in ("", ":memory:")
    if memory and mode == "ro":
        raise InvalidStoreURL(redacted, "an in-memory store cannot be read-only")
    return StoreURL(
        "sqlite",
        redacted,
        _durability(query, durability, redacted),
        path=None if memory else path,
        read_only=mode == "ro",
    )


def _postgresql(
    parts: SplitResult, query: dict[str, str], redacted: str, durability: str | None
) -> StoreURL:
    try:
        parts.port  # noqa: B018  (validates the port)
    except ValueError as exc:
        raise InvalidStoreURL(redacted, f"bad port: {exc}") from None
    if not parts.path.strip("/"):
        raise InvalidStoreURL(redacted, "no database name: postgresql://USER@HOST/DATABASE")
    password = parts.password or query.get("password", "")
    libpq = {k: v for k, v in query.items() if k not in _OWN_PARAMETERS}
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(libpq), ""))
    return StoreURL(
        "postgresql",
        redacted,
        _durability(query, durability, redacted),
        conninfo=conninfo,
        password=password,
    )


def _redact(url: str) -> str:
    """``url`` with the password (in the authority or a ``password=`` parameter) masked."""
    parts = urlsplit(url)
    if parts.password is None and "password=" not in parts.query:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        name = user.split(":", 1)[0]
        netloc = f"{name}:{_MASK}@{host}"
    query = parts.query
    if "password=" in query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, _MASK if k == "password" else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
