# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles talk only through the run record (lookerops_run, lookerops_node), whose shape is written
once in roles/lookerops/meta/run_record.yml: every key the roles, their templates and the playbooks read
or write is declared there, each phase writes only its own key, and no role reads a fact another role
set (except the results of the other role's task files it runs itself, in check mode, via tasks_from)."""

from __future__ import annotations

import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_PATH = os.path.join(ROOT, 'roles', 'lookerops', 'meta', 'run_record.yml')
RECORDS = ('lookerops_run', 'lookerops_node')


def _schema():
    with open(SCHEMA_PATH, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def _sources():
    """(owner, path, text) of every task file, template, vars/defaults file and playbook; owner is the role
    name, or 'playbooks/<name>' for a playbook."""
    found = []
    for dirpath, _dirs, files in os.walk(os.path.join(ROOT, 'roles')):
        rel = os.path.relpath(dirpath, os.path.join(ROOT, 'roles')).split(os.sep)
        if len(rel) < 2 or rel[1] not in ('tasks', 'templates', 'vars', 'defaults'):
            continue
        for name in sorted(files):
            if name.endswith(('.yml', '.j2')):
                path = os.path.join(dirpath, name)
                found.append((rel[0], path, open(path, encoding='utf-8').read()))
    for name in sorted(os.listdir(os.path.join(ROOT, 'playbooks'))):
        if name.endswith('.yml'):
            path = os.path.join(ROOT, 'playbooks', name)
            found.append(('playbooks/' + name, path, open(path, encoding='utf-8').read()))
    return found


SOURCES = _sources()
DEFAULTED = re.compile(r"\(\s*([A-Za-z_][\w.]*)\s*\|\s*default\((?:[^()]|\([^()]*\))*\)\s*\)")
ALIAS = re.compile(r"{%-?\s*set\s+(\w+)\s*=\s*([A-Za-z_][\w.]*)")


def _normalise(text):
    """``(a.b | default({})).c`` reads a.b.c: drop the defaults around record paths, then expand the
    aliases a template makes with ``{% set run = lookerops_run %}``."""
    previous = None
    while previous != text:
        previous, text = text, DEFAULTED.sub(r'\1', text)
    aliases = {}
    for name, target in ALIAS.findall(text):
        head = target.split('.')[0]
        if head in RECORDS:
            aliases[name] = target
        elif head in aliases:
            aliases[name] = aliases[head] + target[len(head):]
    for name, target in aliases.items():
        text = re.sub(r"(?<![\w.'])%s((?:\.\w+)+)" % name, lambda m, t=target: t + m.group(1), text)
    return text


def _read_paths(text):
    """Every record path read: lookerops_run.a.b, hostvars[h].lookerops_node.a, ['lookerops_node', 'a']."""
    text = _normalise(text)
    paths = set()
    for record, tail in re.findall(r"(?<![\w])(lookerops_run|lookerops_node)((?:\.\w+|\['\w+'\])+)", text):
        paths.add((record,) + tuple(re.findall(r"\w+", tail)))
    for record, tail in re.findall(r"\['(lookerops_run|lookerops_node)'((?:,\s*'\w+')+)\]", text):
        paths.add((record,) + tuple(re.findall(r"'(\w+)'", tail)))
    return paths


def _dict_keys(expression, start):
    """(top-level keys, every key) of the dict literal that opens at ``expression[start]``."""
    top, every = set(), set()
    depth, i = 0, start
    while i < len(expression):
        char = expression[i]
        if char in '({[':
            depth += 1
        elif char in ')}]':
            depth -= 1
            if depth <= 0:
                break
        key = re.match(r"'(\w+)'\s*:", expression[i:])
        if key and expression[i - 1] != "'":
            every.add(key.group(1))
            if depth == 1:
                top.add(key.group(1))
        i += 1
    return top, every


def _update_keys(expression):
    """(top-level keys, every key) of a record update: the dict given to ``combine(...)``, or the dict
    literal a ``{{ {...} }}`` expression makes."""
    top, every = set(), set()
    starts = [m.end() for m in re.finditer(r"combine\(\s*(?=\{)", expression)]
    literal = re.match(r"\s*\{\{\s*(?=\{)", expression)
    if literal:
        starts.append(literal.end())
    for start in starts:
        more_top, more_every = _dict_keys(expression, start)
        top |= more_top
        every |= more_every
    return top, every


def _walk_tasks(node):
    if isinstance(node, list):
        for item in node:
            yield from _walk_tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ('block', 'rescue', 'always', 'tasks'):
            if key in node:
                yield from _walk_tasks(node[key])


WRITERS = {'record': 'lookerops_run', 'node_record': 'lookerops_node'}


def _record_writes():
    """(owner, path, record, top-level keys, every key) of each update of a record: through the shared
    role's record/node_record task files, or (in a playbook) a set_fact with combine."""
    writes = []
    for owner, path, text in SOURCES:
        if not path.endswith('.yml'):
            continue
        for task in _walk_tasks(yaml.safe_load(text) or []):
            spec = task.get('ansible.builtin.import_role') or task.get('ansible.builtin.include_role')
            if isinstance(spec, dict) and spec.get('name') == 'lookerops.encryption.lookerops':
                assert spec.get('tasks_from') in WRITERS, (path, spec)
                value = (task.get('vars') or {}).get('lookerops_record')
                assert isinstance(value, str), '%s: lookerops_record must be one {{ {...} }} expression' % path
                top, every = _update_keys(value)
                assert top, '%s: no keys found in %s' % (path, value)
                writes.append((owner, path, WRITERS[spec['tasks_from']], top, every))
            facts = task.get('ansible.builtin.set_fact')
            if isinstance(facts, dict):
                for record in RECORDS:
                    if record in facts:
                        assert owner == 'lookerops' or owner.startswith('playbooks/'), (
                            '%s sets %s itself: write it through lookerops.encryption.lookerops tasks_from record' % (path, record))
                        if owner == 'lookerops':
                            continue
                        top, every = _update_keys(facts[record])
                        writes.append((owner, path, record, top, every))
    return writes


def _declared(schema_node, path):
    """Whether ``path`` (keys below the record) is declared; below a result or an open key, anything is."""
    node = {'keys': schema_node}
    for part in path:
        keys = node.get('keys')
        if node.get('result') or keys is None:
            return True
        if part not in keys:
            return False
        node = keys[part]
    return True


def _all_keys(entries):
    names = set()
    for name, entry in (entries or {}).items():
        names.add(name)
        names |= _all_keys(entry.get('keys'))
    return names


def test_schema_is_well_formed():
    schema = _schema()
    assert set(schema) == set(RECORDS)

    def check(entries, top):
        for name, entry in entries.items():
            assert re.match(r'^[a-z_]+$', name), name
            assert isinstance(entry, dict) and entry.get('description'), name
            if top:
                assert entry.get('written_by'), name
            assert set(entry) <= {'description', 'written_by', 'keys', 'result', 'written_whole'}, (name, sorted(entry))
            check(entry.get('keys') or {}, False)
    for record in RECORDS:
        check(schema[record], True)


@pytest.mark.parametrize('owner,path,text', SOURCES, ids=[os.path.relpath(s[1], ROOT) for s in SOURCES])
def test_every_record_key_read_is_declared(owner, path, text):
    schema = _schema()
    undeclared = sorted('.'.join(p) for p in _read_paths(text) if not _declared(schema[p[0]], p[1:]))
    assert not undeclared, '%s reads keys that roles/lookerops/meta/run_record.yml does not declare: %s' % (
        os.path.relpath(path, ROOT), undeclared)


def test_every_record_write_is_declared_and_made_by_its_phase():
    schema = _schema()
    writes = _record_writes()
    assert writes, 'no role writes the run record'
    for owner, path, record, top, every in writes:
        where = os.path.relpath(path, ROOT)
        unknown_top = sorted(top - set(schema[record]))
        assert not unknown_top, '%s writes undeclared %s keys %s' % (where, record, unknown_top)
        unknown = sorted(every - _all_keys(schema[record]))
        assert not unknown, '%s writes undeclared %s keys %s' % (where, record, unknown)
        for key in top:
            writers = schema[record][key]['written_by']
            assert owner in (writers if isinstance(writers, list) else [writers]), (
                '%s writes %s.%s, which belongs to %s' % (where, record, key, schema[record][key]['written_by']))


def test_every_declared_key_is_written():
    schema = _schema()
    written = {record: set() for record in RECORDS}
    for _owner, _path, record, _top, every in _record_writes():
        written[record] |= every
    for record in RECORDS:
        missing = (_all_keys(schema[record]) - written[record]
                   - {k for k, v in schema[record].items() if v.get('result')})
        # Keys below a result are the module's own return values, keys of a value written whole come with
        # it; the rest must be written somewhere.
        below_results = set()
        for entry in schema[record].values():
            if entry.get('written_whole'):
                below_results |= _all_keys(entry.get('keys'))
            for sub_entry in (entry.get('keys') or {}).values():
                if sub_entry.get('result'):
                    below_results |= _all_keys(sub_entry.get('keys'))
        missing = sorted(missing - below_results)
        assert not missing, '%s keys declared in run_record.yml but never written: %s' % (record, missing)


def _facts_set_by(text):
    """Names a task file sets: set_fact keys and register names (not the record itself)."""
    names = set()
    for task in _walk_tasks(yaml.safe_load(text) or []):
        facts = task.get('ansible.builtin.set_fact')
        if isinstance(facts, dict):
            names |= set(facts)
        if isinstance(task.get('register'), str):
            names.add(task['register'])
    return names - set(RECORDS)


def _imported_task_files(text):
    """(role, tasks_from) of every import_role/include_role with tasks_from in a task file."""
    found = []
    for task in _walk_tasks(yaml.safe_load(text) or []):
        for action in ('ansible.builtin.import_role', 'ansible.builtin.include_role'):
            spec = task.get(action)
            if isinstance(spec, dict) and spec.get('tasks_from'):
                found.append((spec['name'].split('.')[-1], spec['tasks_from']))
    return found


def test_no_role_reads_another_roles_facts():
    owners = {}
    by_role_file = {}
    for owner, path, text in SOURCES:
        if path.endswith('.yml') and os.sep + 'tasks' + os.sep in path or owner.startswith('playbooks/'):
            by_role_file[(owner, os.path.splitext(os.path.basename(path))[0])] = text
            for name in _facts_set_by(text):
                owners.setdefault(name, set()).add(owner)
    assert owners, 'no facts found: the parser is broken'
    for owner, path, text in SOURCES:
        allowed = set()
        for role, tasks_from in _imported_task_files(text) if path.endswith('.yml') else []:
            allowed |= _facts_set_by(by_role_file.get((role, tasks_from), ''))
        if owner == 'preflight':
            # preflight's own templates read what preflight's task files kept of those checks.
            for (role_owner, _name), other in by_role_file.items():
                if role_owner == 'preflight':
                    for role, tasks_from in _imported_task_files(other):
                        allowed |= _facts_set_by(by_role_file.get((role, tasks_from), ''))
        foreign = sorted(
            name for name, setters in owners.items()
            if owner not in setters and name not in allowed
            and re.search(r"(?<![\w.'])%s(?![\w])|'%s'" % (name, name), text))
        assert not foreign, '%s reads facts set by another role or playbook: %s (use the run record)' % (
            os.path.relpath(path, ROOT), foreign)


def test_preflight_runs_the_phases_own_task_files_not_copies():
    """The module calls preflight checks are the phase roles' task files, run in check mode: preflight holds
    no call of a module that a phase role calls."""
    phase_modules = set()
    preflight_modules = set()
    call = re.compile(r'^\s*-?\s*(lookerops\.encryption\.lk_\w+):', re.M)
    for owner, path, text in SOURCES:
        if not path.endswith('.yml') or owner.startswith('playbooks/'):
            continue
        modules = set(call.findall(text))
        if owner == 'preflight':
            preflight_modules |= modules
        elif owner not in ('report',):
            phase_modules |= modules
    shared = sorted(preflight_modules & phase_modules)
    assert not shared, 'preflight repeats module calls of the phase roles: %s (import their task files)' % shared
    imported = set()
    for owner, path, text in SOURCES:
        if owner == 'preflight' and path.endswith('.yml'):
            imported |= set(_imported_task_files(text))
    assert {('cmk', 'escrow'), ('cmk', 'key_file'), ('cmk', 'kms'), ('node_env', 'settings'),
            ('backup', 'home'), ('backup', 'backend')} <= imported, sorted(imported)
