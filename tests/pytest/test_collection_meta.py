# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's metadata stays in step with its code: role defaults vs argument specs,
the preflight's list of known variables, the action group, role READMEs."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(d for d in os.listdir(os.path.join(ROOT, 'roles')) if os.path.isdir(os.path.join(ROOT, 'roles', d)))
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, 'plugins', 'modules')) if f.endswith('.py'))


def _load(*parts):
    path = os.path.join(ROOT, *parts)
    if not os.path.exists(path):
        return None
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize('role', ROLES)
def test_role_defaults_match_argument_specs(role):
    defaults = _load('roles', role, 'defaults', 'main.yml') or {}
    specs = _load('roles', role, 'meta', 'argument_specs.yml')
    assert specs is not None, 'roles/%s has no meta/argument_specs.yml' % role
    options = specs['argument_specs']['main'].get('options') or {}
    documented_defaults = {k for k, v in options.items() if 'default' in v}
    assert set(defaults) == documented_defaults, (
        'roles/%s: defaults/main.yml and meta/argument_specs.yml disagree: only in defaults %s, only in specs %s'
        % (role, sorted(set(defaults) - documented_defaults), sorted(documented_defaults - set(defaults))))
    for name, value in defaults.items():
        spec_default = options[name]['default']
        assert spec_default == value, 'roles/%s: default of %s differs: %r vs %r' % (role, name, value, spec_default)


@pytest.mark.parametrize('role', ROLES)
def test_role_variables_carry_a_known_prefix(role):
    defaults = _load('roles', role, 'defaults', 'main.yml') or {}
    prefix = 'lookerops_' if role == 'lookerops' else role + '_'
    assert all(k.startswith(prefix) for k in defaults), (role, sorted(defaults))


def test_preflight_knows_every_shared_variable():
    shared = set((_load('roles', 'lookerops', 'defaults', 'main.yml') or {}))
    options = set(_load('roles', 'lookerops', 'meta', 'argument_specs.yml')['argument_specs']['main']['options'])
    preflight_vars = _load('roles', 'preflight', 'vars', 'main.yml')
    # The known list is derived from the shared role's argument_specs at run time, not copied ...
    derived = preflight_vars['preflight_known_vars']
    assert isinstance(derived, str) and 'lookerops/meta/argument_specs.yml' in derived, derived
    assert 'preflight_known_extra_vars' in derived, derived
    # ... plus the run record, nothing else (lookerops_nodes, read by the playbooks' hosts line, is a setting).
    record = set(_load('roles', 'lookerops', 'meta', 'run_record.yml'))
    extra = set(preflight_vars['preflight_known_extra_vars'])
    assert extra == record, sorted(extra)
    assert 'lookerops_nodes' in options
    assert not extra & options
    assert shared <= options


def test_every_module_is_in_the_action_group():
    runtime = _load('meta', 'runtime.yml')
    assert sorted(runtime['action_groups']['lookerops']) == MODULES


@pytest.mark.parametrize('role', ROLES)
def test_every_role_has_a_readme(role):
    assert os.path.exists(os.path.join(ROOT, 'roles', role, 'README.md'))


def test_every_task_uses_fqcn_modules():
    pattern = re.compile(r'^\s*-?\s*(ansible\.builtin|lookerops\.encryption)\.[a-z_]+:', re.M)
    bare = re.compile(r'^\s*-\s+(copy|file|command|shell|debug|assert|fail|set_fact|template):', re.M)
    for dirpath, _dirs, files in os.walk(os.path.join(ROOT, 'roles')):
        for name in files:
            if name.endswith('.yml') and os.path.basename(dirpath) == 'tasks':
                text = open(os.path.join(dirpath, name), encoding='utf-8').read()
                assert not bare.search(text), os.path.join(dirpath, name)
                assert pattern.search(text), os.path.join(dirpath, name)


def test_the_operator_guide_names_every_setting_and_no_other():
    # The guide's settings table is written from the shared role's argument spec; --check fails when it is stale.
    script = os.path.join(ROOT, 'tests', 'scripts', 'settings_table.py')
    proc = subprocess.run([sys.executable, script, '--check'], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    options = set(_load('roles', 'lookerops', 'meta', 'argument_specs.yml')['argument_specs']['main']['options'])
    with open(os.path.join(ROOT, 'docs', 'operator-guide.md'), encoding='utf-8') as handle:
        named = set(re.findall(r'\blookerops_[a-z0-9_]*[a-z0-9]', handle.read()))
    record = {'lookerops_run', 'lookerops_node'}
    assert not named - options - record, 'the guide names settings the collection does not have: %s' % sorted(
        named - options - record)
    assert not options - named, 'settings the guide does not name: %s' % sorted(options - named)


def test_the_docsite_guides_are_written_from_the_markdown():
    # docs/docsite/rst/ is what antsibull-docs renders; it is written from docs/*.md by tests/scripts/docsite.py.
    script = os.path.join(ROOT, 'tests', 'scripts', 'docsite.py')
    proc = subprocess.run([sys.executable, script, '--check'], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    index = _load('docs', 'docsite', 'extra-docs.yml')
    refs = sorted(entry['ref'] for section in index['sections'] for entry in section['toctree'])
    rst = sorted(name[:-4] for name in os.listdir(os.path.join(ROOT, 'docs', 'docsite', 'rst')) if name.endswith('.rst'))
    assert refs == rst, (refs, rst)
