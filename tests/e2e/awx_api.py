# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in of the few AWX API (api/v2) endpoints extensions/awx/setup.yml calls, answering with AWX's status
codes and validation (e2e.awx_rules): list by name, create (201), update (200), a job template's survey_spec
(GET, POST 200) and credentials (GET, attach 204), 400 with AWX-shaped errors, 401 without the token.

Test code only: it holds objects in memory and records every request.
"""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from e2e import awx_rules

TOKEN = 'awx-standin-token'
MACHINE_TYPE, AWS_TYPE = 1, 2
# Fields each collection requires on create, and its foreign keys (collection of the target).
REQUIRED = {
    'credential_types': ('name', 'kind'),
    'credentials': ('name', 'credential_type'),
    'execution_environments': ('name', 'image'),
    'job_templates': ('name', 'project', 'inventory', 'playbook'),
}
FOREIGN = {
    'credentials': {'organization': 'organizations', 'credential_type': 'credential_types'},
    'execution_environments': {'organization': 'organizations'},
    'job_templates': {'project': 'projects', 'inventory': 'inventories', 'execution_environment': 'execution_environments'},
}
ENCRYPTED = '$encrypted$'


class AwxStandin:
    """Objects by collection, the requests seen, and a server on 127.0.0.1 (start/stop)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.next_id = 100
        self.objects = {kind: {} for kind in ('organizations', 'projects', 'inventories', 'credentials', 'credential_types',
                                              'execution_environments', 'job_templates')}
        self.surveys = {}
        self.attached = {}
        self.secrets = {}
        self.objects['organizations'][1] = {'id': 1, 'name': 'Default'}
        self.objects['projects'][2] = {'id': 2, 'name': 'Looker encryption', 'organization': 1}
        self.objects['inventories'][3] = {'id': 3, 'name': 'Looker', 'organization': 1}
        self.objects['credential_types'][MACHINE_TYPE] = {'id': MACHINE_TYPE, 'name': 'Machine', 'kind': 'ssh', 'managed': True,
                                                          'inputs': {}, 'injectors': {}}
        self.objects['credential_types'][AWS_TYPE] = {'id': AWS_TYPE, 'name': 'Amazon Web Services', 'kind': 'cloud', 'managed': True,
                                                      'inputs': {}, 'injectors': {}}
        self.objects['credentials'][4] = {'id': 4, 'name': 'Looker nodes', 'credential_type': MACHINE_TYPE, 'organization': 1}
        self.objects['credentials'][5] = {'id': 5, 'name': 'AWS escrow', 'credential_type': AWS_TYPE, 'organization': 1}
        self.server = None
        self.thread = None

    # --- server ---------------------------------------------------------------------------------------------------------
    def start(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def _answer(self):
                length = int(self.headers.get('Content-Length') or 0)
                raw = self.rfile.read(length) if length else b''
                status, body = standin.handle(self.command, self.path, self.headers.get('Authorization'), raw)
                data = b'' if body is None else json.dumps(body).encode('utf-8')
                self.send_response(status)
                if body is not None:
                    self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _answer  # noqa: N815

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return 'http://127.0.0.1:%d' % self.server.server_address[1]

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
            self.server = None

    # --- API ------------------------------------------------------------------------------------------------------------
    def writes(self):
        return [r for r in self.requests if r[0] != 'GET']

    def handle(self, method, path, authorization, raw):
        with self.lock:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return 400, {'detail': 'JSON parse error'}
            self.requests.append((method, path, body))
            if authorization != 'Bearer ' + TOKEN:
                return 401, {'detail': 'Authentication credentials were not provided.'}
            url = urlparse(path)
            parts = [p for p in url.path.split('/') if p]
            if parts[:2] != ['api', 'v2'] or len(parts) < 3 or parts[2] not in self.objects:
                return 404, {'detail': 'Not found.'}
            kind, rest = parts[2], parts[3:]
            if not rest:
                if method == 'GET':
                    name = parse_qs(url.query).get('name', [None])[0]
                    found = [self._shown(kind, o) for o in self.objects[kind].values() if name is None or o['name'] == name]
                    return 200, {'count': len(found), 'results': found}
                if method == 'POST':
                    return self._save(kind, None, body)
                return 405, {'detail': 'Method "%s" not allowed.' % method}
            if not rest[0].isdigit() or int(rest[0]) not in self.objects[kind]:
                return 404, {'detail': 'Not found.'}
            oid = int(rest[0])
            if len(rest) == 1:
                if method == 'GET':
                    return 200, self._shown(kind, self.objects[kind][oid])
                if method == 'PATCH':
                    return self._save(kind, oid, body)
                return 405, {'detail': 'Method "%s" not allowed.' % method}
            if kind == 'job_templates' and rest[1] == 'survey_spec':
                if method == 'GET':
                    return 200, copy.deepcopy(self.surveys.get(oid, {}))
                errors = awx_rules.validate_survey_spec(body)
                if errors:
                    return 400, {'error': errors[0]}
                self.surveys[oid] = copy.deepcopy(body)
                return 200, None
            if kind == 'job_templates' and rest[1] == 'credentials':
                return self._credentials(oid, method, body)
            return 404, {'detail': 'Not found.'}

    def _shown(self, kind, obj):
        shown = copy.deepcopy(obj)
        if kind == 'credentials' and 'inputs' in shown:
            ctype = self.objects['credential_types'][shown['credential_type']]
            secret = {f['id'] for f in (ctype.get('inputs') or {}).get('fields', []) if f.get('secret')}
            shown['inputs'] = {k: (ENCRYPTED if k in secret else v) for k, v in shown['inputs'].items()}
        return shown

    def _save(self, kind, oid, body):
        if not isinstance(body, dict):
            return 400, {'detail': 'Invalid data. Expected a dictionary.'}
        current = self.objects[kind].get(oid, {})
        merged = dict(current, **body)
        errors = {}
        if oid is None:
            for field in REQUIRED.get(kind, ('name',)):
                if merged.get(field) in (None, ''):
                    errors[field] = ['This field is required.']
        for field, target in FOREIGN.get(kind, {}).items():
            value = merged.get(field)
            if value is None:
                continue
            # Django REST framework's PrimaryKeyRelatedField takes the pk as a number or a string of digits.
            if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
                errors[field] = ['Incorrect type. Expected pk value, received %s.' % type(value).__name__]
            elif int(value) not in self.objects[target]:
                errors[field] = ['Invalid pk "%s" - object does not exist.' % value]
            else:
                merged[field] = int(value)
        for other in self.objects[kind].values():
            if other['name'] == merged.get('name') and other['id'] != oid:
                errors['name'] = ['%s with this Name already exists.' % kind.rstrip('s').replace('_', ' ').capitalize()]
        if kind == 'credential_types':
            problems = awx_rules.validate_credential_type({k: v for k, v in merged.items() if k in awx_rules.CREDENTIAL_TYPE_KEYS})
            if problems:
                errors['injectors' if 'injectors' in problems[0] else 'inputs'] = problems
            in_use = any(c['credential_type'] == oid for c in self.objects['credentials'].values())
            if oid is not None and in_use and 'inputs' in body and body['inputs'] != current.get('inputs'):
                errors['inputs'] = ['Modifications to inputs are not allowed for credential types that are in use']
        if kind == 'credentials' and 'credential_type' not in errors and merged.get('credential_type') is not None:
            ctype = self.objects['credential_types'][int(merged['credential_type'])]
            known = {f['id'] for f in (ctype.get('inputs') or {}).get('fields', [])}
            unknown = set(merged.get('inputs') or {}) - known
            if unknown:
                errors['inputs'] = ['Additional properties are not allowed (%s were unexpected)' % ', '.join(sorted(unknown))]
            for name in (ctype.get('inputs') or {}).get('required', []):
                if not (merged.get('inputs') or {}).get(name):
                    errors.setdefault('inputs', []).append({name: ['required for %s' % ctype['name']]})
        if kind == 'job_templates' and not isinstance(merged.get('extra_vars', ''), str):
            errors['extra_vars'] = ['Not a valid string.']
        if errors:
            return 400, errors
        if oid is None:
            oid = self.next_id
            self.next_id += 1
        merged['id'] = oid
        self.objects[kind][oid] = merged
        return (201 if not current else 200), self._shown(kind, merged)

    def _credentials(self, oid, method, body):
        attached = self.attached.setdefault(oid, [])
        if method == 'GET':
            found = [self._shown('credentials', self.objects['credentials'][c]) for c in attached]
            return 200, {'count': len(found), 'results': found}
        if method != 'POST' or not isinstance(body, dict):
            return 405, {'detail': 'Method not allowed.'}
        sub_id = body.get('id')
        if not isinstance(sub_id, int) or isinstance(sub_id, bool):
            return 400, {'msg': awx_rules.ATTACH_ID_ERROR}
        if sub_id not in self.objects['credentials']:
            return 400, {'msg': 'Credential %d does not exist.' % sub_id}
        ctype = self.objects['credentials'][sub_id]['credential_type']
        if sub_id not in attached:
            if any(self.objects['credentials'][c]['credential_type'] == ctype for c in attached):
                name = self.objects['credential_types'][ctype]['name']
                return 400, {'error': 'Cannot assign multiple %s credentials.' % name}
            attached.append(sub_id)
        return 204, None
