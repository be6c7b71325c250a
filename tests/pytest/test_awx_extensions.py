# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""extensions/awx and the execution environment: ansible-builder's build context, the credential
types (rendered the way AWX renders injectors, then read by the collection), the surveys, the job
templates and the setup playbook (syntax)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import jinja2.sandbox
import pytest
import yaml

from e2e.runner import ROOT, collections_path

if collections_path() not in sys.path:
    sys.path.insert(0, collections_path())
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _cmk_source  # noqa: E402  pylint: disable=wrong-import-position

AWX = os.path.join(ROOT, 'extensions', 'awx')
BIN = os.path.dirname(sys.executable)
KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='
# AWX's survey question types and the keys it requires (awx/main/models/mixins.py, SurveyJobTemplateMixin).
SURVEY_TYPES = {'text', 'textarea', 'password', 'integer', 'float', 'multiplechoice', 'multiselect'}
QUESTION_KEYS = {'question_name', 'variable', 'type', 'required'}


def _yaml(*parts):
    with open(os.path.join(*parts), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def _json(*parts):
    with open(os.path.join(*parts), encoding='utf-8') as handle:
        return json.load(handle)


def _run(argv, **kwargs):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR='1', LC_ALL='C.UTF-8')
    env.update(kwargs.pop('env', {}))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, env=env, **kwargs)
    assert proc.returncode == 0, (argv, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


# --- execution environment ---------------------------------------------------------------------

@pytest.fixture(scope='module')
def build_context(tmp_path_factory):
    """What `ansible-galaxy collection build` + `ansible-builder create` make from a clean copy of the collection."""
    work = tmp_path_factory.mktemp('ee')
    tree = _run(['bash', os.path.join(ROOT, 'tests', 'scripts', 'collection-tree.sh'), str(work / 'src')]).stdout.strip()
    _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', os.path.join(tree, 'extensions', 'awx')],
         cwd=tree)
    context = work / 'context'
    _run([os.path.join(BIN, 'ansible-builder'), 'create', '-f', os.path.join(tree, 'extensions', 'awx', 'execution-environment.yml'),
          '--context', str(context), '--output-filename', 'Containerfile'], cwd=tree)
    return context


def test_ee_context_holds_the_collection_and_its_requirements(build_context):
    containerfile = (build_context / 'Containerfile').read_text(encoding='utf-8')
    assert 'ARG EE_BASE_IMAGE="quay.io/ansible/awx-ee:latest"' in containerfile
    assert 'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml' in containerfile
    assert 'introspect.py introspect --user-pip=requirements.txt --user-bindep=bindep.txt' in containerfile
    assert 'LABEL ansible-execution-environment=true' in containerfile
    build = build_context / '_build'
    pip = (build / 'requirements.txt').read_text(encoding='utf-8')
    for package in ('boto3', 'botocore', 'PyMySQL', 'cryptography'):
        assert re.search(r'^%s>=' % package, pip, re.M), (package, pip)
    galaxy = yaml.safe_load((build / 'requirements.yml').read_text(encoding='utf-8'))
    version = _yaml(ROOT, 'galaxy.yml')['version']
    assert galaxy == {'collections': [{'name': 'collections/lookerops-encryption-%s.tar.gz' % version, 'type': 'file'}]}
    assert (build / 'collections' / ('lookerops-encryption-%s.tar.gz' % version)).is_file()
    assert 'openssh-clients [platform:rpm !node]' in (build / 'bindep.txt').read_text(encoding='utf-8')


def test_ee_galaxy_and_introspection_steps_find_the_collection_requirements(build_context, tmp_path):
    """The two build steps that need no container engine, run as the Containerfile runs them."""
    build = build_context / '_build'
    collections = tmp_path / 'collections'
    _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '-r', 'requirements.yml',
          '--collections-path', str(collections)], cwd=str(build),
         env={'ANSIBLE_GALAXY_DISABLE_GPG_VERIFY': '1', 'ANSIBLE_COLLECTIONS_PATH': str(collections)})
    installed = collections / 'ansible_collections' / 'lookerops' / 'encryption'
    assert (installed / 'MANIFEST.json').is_file() and (installed / 'plugins' / 'plugin_utils' / '_escrow_aws.py').is_file()
    out_pip, out_bindep = tmp_path / 'pip.txt', tmp_path / 'bindep.txt'
    proc = _run([sys.executable, str(build / 'scripts' / 'introspect.py'), 'introspect', '--user-pip=requirements.txt',
                 '--user-bindep=bindep.txt', '--write-pip', str(out_pip), '--write-bindep', str(out_bindep), str(collections)],
                cwd=str(build))
    found = yaml.safe_load(proc.stdout)
    mark = '  # from collection lookerops.encryption'
    own_pip = [line[:-len(mark)] for line in found['python'] if line.endswith(mark)]
    own_system = [line[:-len(mark)] for line in found['system'] if line.endswith(mark)]
    assert {re.split(r'[<>=]', line)[0] for line in own_pip} == {'cryptography', 'boto3', 'botocore', 'PyMySQL'}
    assert 'openssh-clients [platform:rpm !node]' in own_system
    # What the EE installs from bindep (no profile): the ssh client, not the node-only packages.
    listed = _run([os.path.join(BIN, 'bindep'), '-f', str(out_bindep), '-l', 'newline']).stdout.split()
    assert 'python3-pymysql' not in listed and 'python3-PyMySQL' not in listed
    assert 'openssh-client' in listed or 'openssh-clients' in listed
    node = _run([os.path.join(BIN, 'bindep'), '-f', os.path.join(ROOT, 'bindep.txt'), '-l', 'newline', 'node']).stdout.split()
    assert ('python3-pymysql' in node or 'python3-PyMySQL' in node) and 'openssh-client' not in node


def test_meta_execution_environment_is_the_collection_metadata():
    """ansible-builder reads meta/execution-environment.yml of an installed collection with paths relative to the collection root."""
    meta = _yaml(ROOT, 'meta', 'execution-environment.yml')
    assert meta['version'] == 3
    for entry in ('python', 'system'):
        assert os.path.isfile(os.path.join(ROOT, meta['dependencies'][entry])), entry


# --- credential types --------------------------------------------------------------------------

CREDENTIAL_TYPES = sorted(f for f in os.listdir(os.path.join(AWX, 'credential_types')) if f.endswith('.yml'))


def _render_injectors(ctype, inputs, directory):
    """Render injectors as AWX does (sandboxed Jinja, ``tower.filename`` = the written file). Returns (env, extra_vars, file path)."""
    sandbox = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    namespace = dict(inputs)
    path = None
    template = ctype['injectors'].get('file', {}).get('template')
    if template is not None:
        path = os.path.join(str(directory), 'tmp-credential')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            handle.write(sandbox.from_string(template).render(**namespace))
        namespace['tower'] = {'filename': path}
    env = {k: sandbox.from_string(v).render(**namespace) for k, v in ctype['injectors'].get('env', {}).items()}
    extra = {k: sandbox.from_string(v).render(**namespace) for k, v in ctype['injectors'].get('extra_vars', {}).items()}
    return env, extra, path


@pytest.mark.parametrize('name', CREDENTIAL_TYPES)
def test_credential_type_has_awx_shape(name):
    ctype = _yaml(AWX, 'credential_types', name)
    assert set(ctype) <= {'name', 'kind', 'description', 'inputs', 'injectors'} and ctype['name']
    assert ctype['kind'] in ('cloud', 'net')  # the only kinds AWX accepts for a custom credential type
    fields = ctype['inputs']['fields']
    ids = [f['id'] for f in fields]
    assert len(ids) == len(set(ids)) and set(ctype['inputs'].get('required', [])) <= set(ids)
    for field in fields:
        assert set(field) <= {'id', 'label', 'type', 'secret', 'multiline', 'help_text', 'choices', 'format'}
        assert field['type'] in ('string', 'boolean') and field['label']
        assert field.get('secret') is True  # every input of these types is a secret
    assert set(ctype['injectors']) <= {'file', 'env', 'extra_vars'}
    # Secrets go to a file only; env and extra vars carry its path, never a secret.
    assert not ctype['injectors'].get('extra_vars')
    for value in ctype['injectors']['env'].values():
        assert value == '{{ tower.filename }}'


def test_cmk_credential_feeds_the_collection_without_glue(tmp_path):
    ctype = _yaml(AWX, 'credential_types', 'lookerops_cmk.yml')
    env, _extra, path = _render_injectors(ctype, {'cmk_key': KEY + '\n'}, tmp_path)
    assert oct(os.stat(path).st_mode & 0o777) == '0o600'
    # The role default of lookerops_cmk_key_file is the environment variable the credential sets ...
    default = _yaml(ROOT, 'roles', 'lookerops', 'defaults', 'main.yml')['lookerops_cmk_key_file']
    assert default == "{{ lookup('ansible.builtin.env', '%s') }}" % list(env)[0]
    # ... and the controller side reads the key from that file.
    source = _cmk_source.resolve_cmk(key_file=env['LOOKEROPS_CMK_KEY_FILE'], escrow='none', escrow_waiver=_cmk_source.ESCROW_WAIVER_TEXT)
    assert source.key_text == KEY


def test_vault_password_credential_is_read_by_ansible_itself(tmp_path):
    ctype = _yaml(AWX, 'credential_types', 'lookerops_escrow_vault_password.yml')
    env, _extra, _path = _render_injectors(ctype, {'vault_password': 'escrow-pass-1'}, tmp_path)
    secret = tmp_path / 'secret.yml'
    secret.write_text('escrowed: yes\n', encoding='utf-8')
    password_file = tmp_path / 'pw'
    password_file.write_text('escrow-pass-1\n', encoding='utf-8')
    _run([os.path.join(BIN, 'ansible-vault'), 'encrypt', '--vault-password-file', str(password_file), str(secret)])
    shown = _run([os.path.join(BIN, 'ansible-vault'), 'view', str(secret)], env=env).stdout
    assert shown == 'escrowed: yes\n'


# --- surveys, job templates, setup playbook ---------------------------------------------------

SURVEYS = sorted(f for f in os.listdir(os.path.join(AWX, 'surveys')) if f.endswith('.json'))


@pytest.mark.parametrize('name', SURVEYS)
def test_survey_has_awx_shape_and_only_known_settings(name):
    survey = _json(AWX, 'surveys', name)
    assert set(survey) == {'name', 'description', 'spec'} and survey['name']
    options = _yaml(ROOT, 'roles', 'lookerops', 'meta', 'argument_specs.yml')['argument_specs']['main']['options']
    # What preflight knows: the shared role's options (it derives its list from them) and its few extra names.
    known = set(options) | set(_yaml(ROOT, 'roles', 'preflight', 'vars', 'main.yml')['preflight_known_extra_vars'])
    variables = [q['variable'] for q in survey['spec']]
    assert len(variables) == len(set(variables))
    for question in survey['spec']:
        assert QUESTION_KEYS <= set(question), question
        assert question['type'] in SURVEY_TYPES and isinstance(question['required'], bool)
        assert question['variable'] in known, question['variable']
        # Nothing secret in a survey: the key comes from the credential.
        assert question['type'] != 'password' and question['variable'] != 'lookerops_cmk_key'
        assert not options.get(question['variable'], {}).get('no_log')
        if question['type'] == 'multiplechoice':
            assert isinstance(question['choices'], list) and question['choices']
            assert question['default'] in question['choices'] or (question['default'] == '' and not question['required'])
            allowed = options[question['variable']].get('choices')
            if allowed:
                assert set(question['choices']) <= set(allowed), question['variable']
        if question['type'] == 'text':
            assert isinstance(question['min'], int) and isinstance(question['max'], int)
            if question['required'] and question['default']:
                assert question['min'] <= len(question['default']) <= question['max']
    waivers = [q for q in survey['spec'] if q['variable'] == 'lookerops_cmk_escrow_waiver']
    for waiver in waivers:
        assert waiver['choices'] == [_cmk_source.ESCROW_WAIVER_TEXT] and not waiver['required']


def test_job_templates_point_at_project_playbooks_and_surveys():
    spec = _yaml(AWX, 'job_templates.yml')
    assert spec['job_template_defaults']['ask_job_type_on_launch'] is True  # check mode, prompted on launch
    assert spec['job_template_defaults']['verbosity'] == 0
    assert len(spec['job_templates']) == 4
    for template in spec['job_templates']:
        assert template['survey'] in SURVEYS
        with open(os.path.join(AWX, 'project', template['playbook']), encoding='utf-8') as handle:
            text = handle.read()
        # AWX offers a project file as a playbook only if some line is a hosts/include/import_playbook key.
        assert re.search(r'^ *(- +)?(hosts|include|import_playbook):', text, re.M), template['playbook']
        target = yaml.safe_load(text)[0]['import_playbook']
        assert target.startswith('lookerops.encryption.')
        assert os.path.isfile(os.path.join(ROOT, 'playbooks', target.split('.')[-1] + '.yml'))


@pytest.mark.parametrize('playbook', ['setup.yml'] + ['project/' + f for f in sorted(os.listdir(os.path.join(AWX, 'project')))])
def test_awx_playbooks_pass_the_syntax_check(playbook, tmp_path):
    _run([os.path.join(BIN, 'ansible-playbook'), '--syntax-check', '-i', 'localhost,', os.path.join(AWX, playbook)], cwd=str(tmp_path))
