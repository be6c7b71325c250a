# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the Looker home on a node (its files, release, marker) and the node layer's errors.

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import json
import os
import zipfile

DEFAULT_VERSION_KEYS = ('Implementation-Version', 'Looker-Version', 'Bundle-Version')
MARKER_NAME = '.lookerops-encryption.json'
# The restarts this collection measured on the node (restarts.py): times only, never key material.
RESTARTS_NAME = '.lookerops-restarts.json'
# The fence: Looker's startup script refuses to start while this file is in the home.
FENCE_NAME = '.deploying'


class LookerNodeError(Exception):
    """A problem with the node; ``str()`` names what is wrong and what to do (never a secret)."""


class OperationFailed(Exception):
    """An operation failed: ``msg`` is for the operator, ``result`` holds the evidence returned with it."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


def read_manifest_version(jar_path, keys=DEFAULT_VERSION_KEYS):
    """Release of a looker.jar from META-INF/MANIFEST.MF (first of ``keys`` present), or None when unreadable."""
    try:
        with zipfile.ZipFile(jar_path) as jar:
            raw = jar.read('META-INF/MANIFEST.MF')
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError):
        return None
    attrs = {}
    last = None
    for line in raw.decode('utf-8', 'replace').splitlines():
        if line.startswith(' ') and last is not None:
            attrs[last] += line[1:]
            continue
        if ':' in line:
            name, val = line.split(':', 1)
            last = name.strip()
            attrs[last] = val.strip()
        else:
            last = None
    for key in keys:
        if attrs.get(key):
            return attrs[key]
    return None


class LookerHome:
    """The files of one Looker home (the directory holding looker.jar)."""

    def __init__(self, home, version_keys=None):
        self.home = os.path.abspath(home)
        self.version_keys = tuple(version_keys or DEFAULT_VERSION_KEYS)

    def p(self, *parts):
        return os.path.join(self.home, *parts)

    @property
    def jar(self):
        return self.p('looker.jar')

    @property
    def pid_file(self):
        return self.p('.tmp', 'looker.pid')

    @property
    def token_file(self):
        return self.p('.status_server_token')

    @property
    def fence_file(self):
        return self.p(FENCE_NAME)

    @property
    def log_dir(self):
        return self.p('log')

    @property
    def log_file(self):
        return self.p('log', 'looker.log')

    @property
    def marker_file(self):
        return self.p(MARKER_NAME)

    @property
    def restarts_file(self):
        return self.p(RESTARTS_NAME)

    def layout(self):
        return {
            'home_exists': os.path.isdir(self.home),
            'jar_present': os.path.isfile(self.jar),
            'dependencies_jar_present': os.path.isfile(self.p('looker-dependencies.jar')),
            'startup_script_present': os.path.isfile(self.p('looker')),
            'lookerstart_cfg_present': os.path.isfile(self.p('lookerstart.cfg')),
            # Looker's internal (HyperSQL) database: present once the instance has run with it, so it holds data.
            'internal_db_present': os.path.isfile(self.p('.db', 'looker.script')),
        }

    def require_home(self):
        if not os.path.isdir(self.home):
            raise LookerNodeError('the Looker home %s does not exist: set looker_home to the directory holding looker.jar'
                                  % self.home)
        if not os.path.isfile(self.jar):
            raise LookerNodeError('%s has no looker.jar: set looker_home to the directory holding looker.jar' % self.home)

    def release(self):
        return read_manifest_version(self.jar, self.version_keys)

    def read_token(self):
        try:
            with open(self.token_file) as handle:
                token = handle.read().strip()
        except OSError:
            return None
        return token or None

    def read_marker(self):
        try:
            with open(self.marker_file) as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            return {'error': 'unreadable: %s' % exc}
        if not isinstance(data, dict):
            return {'error': 'not a JSON object'}
        return data
