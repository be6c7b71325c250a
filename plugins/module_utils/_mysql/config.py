# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the Looker MySQL backend's settings (the ``backend`` option group,
where the credentials come from: Looker's creds file, ``LOOKER_DB`` or explicit options).

This is not a public API; it may change without notice.
"""

from __future__ import annotations

import dataclasses
import ssl as _ssl
import typing as t
from urllib.parse import unquote as _unquote

from ansible_collections.lookerops.encryption.plugins.module_utils._mysql.flat_yaml import parse_flat_yaml


try:
    import yaml
except ImportError:
    HAS_YAML = False
else:
    HAS_YAML = True


DEFAULT_PORT = 3306
DEFAULT_DATABASE = 'looker'
DEFAULT_CONNECT_TIMEOUT = 10


class BackendError(Exception):
    """A problem with the backend database; ``str()`` is an operator-facing message without secrets."""


def backend_argument_spec():
    """Argument spec of the ``backend`` option group (one dict option), for composing into modules.

    Options that may also come from the credentials file (host, port, user, password, database, ssl)
    have no argspec default so that an explicit value can be told apart from "not given";
    their effective defaults (port 3306, database looker) are applied by :meth:`BackendConfig.from_params`.
    """
    return {
        'backend': {
            'type': 'dict',
            'options': {
                'creds_file': {'type': 'path'},
                'looker_db': {'type': 'str', 'no_log': True},
                'host': {'type': 'str'},
                'port': {'type': 'int'},
                'user': {'type': 'str'},
                'password': {'type': 'str', 'no_log': True},
                'database': {'type': 'str'},
                'ssl': {'type': 'bool'},
                'ssl_ca': {'type': 'path'},
                'connect_timeout': {'type': 'int', 'default': DEFAULT_CONNECT_TIMEOUT},
                'tools_dir': {'type': 'path'},
                'looker_home': {'type': 'path'},
                'looker_user': {'type': 'str', 'default': 'looker'},
            },
        },
    }


def read_creds_file(path, use_yaml=None):
    """Read Looker's ``-d/--internal-db-creds`` YAML; returns a dict. Never echoes the content."""
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('utf-8')
    except (OSError, UnicodeDecodeError) as exc:
        raise BackendError('cannot read the backend credentials file %s: %s; check backend.creds_file and that '
                           'the module runs as a user that can read it (become: true)' % (path, getattr(exc, 'strerror', None) or exc)) from None
    if use_yaml is None:
        use_yaml = HAS_YAML
    try:
        if use_yaml:
            data = yaml.safe_load(text)
        else:
            data = parse_flat_yaml(text)
    except Exception as exc:  # pylint: disable=broad-except
        # do not include the YAML error text: it may quote a line holding the password
        raise BackendError('the backend credentials file %s is not valid YAML (%s); it must hold flat '
                           '"key: value" lines: dialect, host, username, password, database, port, ssl'
                           % (path, type(exc).__name__)) from None
    if not isinstance(data, dict):
        raise BackendError('the backend credentials file %s must be a YAML mapping of dialect, host, username, '
                           'password, database, port (and optional ssl)' % path)
    return data


def parse_looker_db(value):
    """Parse Looker's ``LOOKER_DB`` format ``dialect=mysql&host=..&username=..&...`` (values percent-decoded)."""
    result = {}
    for part in value.strip().split('&'):
        if not part:
            continue
        key, sep, val = part.partition('=')
        if not sep:
            raise BackendError('backend.looker_db is not in LOOKER_DB format (dialect=mysql&host=..&username=..&'
                               'password=..&database=..&port=..): an element has no "="')
        result[key.strip()] = _unquote(val)
    return result


def _normalise_source(data, origin):
    """Map a creds-file / LOOKER_DB dict onto our option names."""
    dialect = data.get('dialect')
    if dialect is not None and str(dialect).lower() != 'mysql':
        raise BackendError('%s says dialect %r; only a MySQL backend (dialect: mysql) is supported' % (origin, dialect))
    out = {}
    for src, dst in (('host', 'host'), ('username', 'user'), ('user', 'user'), ('password', 'password'),
                     ('database', 'database'), ('port', 'port'), ('ssl', 'ssl')):
        if data.get(src) is not None and dst not in out:
            out[dst] = data[src]
    if 'port' in out:
        try:
            out['port'] = int(out['port'])
        except (TypeError, ValueError):
            raise BackendError('%s has a port that is not a number: %r' % (origin, out['port'])) from None
    if 'ssl' in out and not isinstance(out['ssl'], bool):
        out['ssl'] = str(out['ssl']).strip().lower() in ('1', 'true', 'yes', 'on')
    for key in ('host', 'user', 'password', 'database'):
        if key in out:
            out[key] = str(out[key])
    return out


@dataclasses.dataclass(eq=False)
class BackendConfig:
    """Effective connection settings of the Looker backend database (its repr leaves the password out)."""

    host: t.Optional[str] = None
    port: int = DEFAULT_PORT
    user: t.Optional[str] = None
    password: t.Optional[str] = dataclasses.field(default=None, repr=False)
    database: str = DEFAULT_DATABASE
    ssl: bool = False
    ssl_ca: t.Optional[str] = None
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
    sources: t.Optional[list] = None
    tools_dir: t.Optional[str] = None

    def __post_init__(self):
        self.sources = self.sources or []

    @classmethod
    def from_params(cls, params, use_yaml=None, read_looker_db=None):
        """Build from the module's ``backend`` dict: file, then LOOKER_DB, then explicit options win.

        With ``backend.looker_home`` and no other source, ``read_looker_db(home, user)`` supplies the LOOKER_DB value
        that the node's lookerstart.cfg gives Looker (read on the node, never returned).
        """
        params = dict(params or {})
        merged = {}
        sources = []
        if (params.get('looker_home') and read_looker_db is not None and not params.get('creds_file')
                and not params.get('looker_db')):
            value = read_looker_db(params['looker_home'], params.get('looker_user') or 'looker')
            if not value:
                raise BackendError('backend.looker_home is %s but its lookerstart.cfg gives Looker no LOOKER_DB: set '
                                   'backend.creds_file (Looker\'s -d file) or the backend options instead' % params['looker_home'])
            params['looker_db'] = value
        if params.get('creds_file'):
            merged.update(_normalise_source(read_creds_file(params['creds_file'], use_yaml=use_yaml),
                                            'backend credentials file %s' % params['creds_file']))
            sources.append('creds_file')
        if params.get('looker_db'):
            merged.update(_normalise_source(parse_looker_db(params['looker_db']), 'backend.looker_db'))
            sources.append('looker_db')
        explicit = [k for k in ('host', 'port', 'user', 'password', 'database', 'ssl') if params.get(k) is not None]
        for key in explicit:
            merged[key] = params[key]
        if explicit:
            sources.append('options')
        missing = [k for k in ('host', 'user') if not merged.get(k)]
        if missing:
            raise BackendError('the backend connection is incomplete: no %s. Set backend.creds_file (Looker\'s '
                               '-d/--internal-db-creds YAML), backend.looker_db, or backend.host/user/password'
                               % ' and no '.join(missing))
        return cls(host=merged['host'], port=int(merged.get('port') or DEFAULT_PORT), user=merged['user'],
                   password=merged.get('password'), database=merged.get('database') or DEFAULT_DATABASE,
                   ssl=bool(merged.get('ssl')) or bool(params.get('ssl_ca')), ssl_ca=params.get('ssl_ca'),
                   connect_timeout=int(params.get('connect_timeout') or DEFAULT_CONNECT_TIMEOUT), sources=sources,
                   tools_dir=params.get('tools_dir'))

    def where(self):
        """``user@host:port/database`` for messages (never the password)."""
        return "user '%s' at %s:%s, database '%s'" % (self.user, self.host, self.port, self.database)

    def to_result(self):
        """Metadata safe to return from a module."""
        return {'host': self.host, 'port': self.port, 'user': self.user, 'database': self.database,
                'ssl': self.ssl, 'sources': list(self.sources)}

    def ssl_context(self):
        """An SSLContext for PyMySQL, or None when TLS is off."""
        if not self.ssl:
            return None
        ctx = _ssl.create_default_context(cafile=self.ssl_ca) if self.ssl_ca else _ssl.create_default_context()
        return ctx


def backend_summary(creds_file=None, looker_db=None, use_yaml=None):
    """Which backend a node's settings name, without the password.

    ``mode`` is mysql_creds_file (``-d``/``--internal-db-creds``), looker_db_env (``LOOKER_DB``) or internal (neither:
    Looker's internal HyperSQL database in ``.db/`` of the home). ``error`` says why the settings could not be read.
    """
    out = {'mode': 'internal', 'host': None, 'port': None, 'database': None, 'user': None, 'source': None, 'error': None}
    try:
        if creds_file:
            out.update(mode='mysql_creds_file', source=creds_file)
            data = _normalise_source(read_creds_file(creds_file, use_yaml=use_yaml), 'the credentials file %s' % creds_file)
        elif looker_db:
            out.update(mode='looker_db_env', source='LOOKER_DB')
            data = _normalise_source(parse_looker_db(looker_db), 'LOOKER_DB')
        else:
            return out
    except BackendError as exc:
        out['error'] = str(exc)
        return out
    out.update(host=data.get('host'), port=int(data.get('port') or DEFAULT_PORT), database=data.get('database') or DEFAULT_DATABASE,
               user=data.get('user'), ssl=bool(data.get('ssl')))
    return out
