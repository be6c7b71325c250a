# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""extensions/awx and the execution environment, checked by AWX's own rules (tests/e2e/awx_rules.py, each rule
citing the AWX source file it comes from): ansible-builder's build context, the credential types (validated, then
rendered the way AWX renders injectors and read by the collection), the surveys (validated; empty answers on the
oldest and newest ansible-core), the job templates, and setup.yml run against a stand-in of AWX's API (no bed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import shutil

import pytest
import yaml

from ansible.parsing.vault import VaultSecret

from e2e import awx_api as awx_api_module
from e2e import awx_rules
from e2e.runner import ROOT, collections_path

if collections_path() not in sys.path:
    sys.path.insert(0, collections_path())
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _cmk_source  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _escrow_vault  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.lookerops.encryption.plugins.module_utils import _looker_api  # noqa: E402  pylint: disable=wrong-import-position

AWX = os.path.join(ROOT, 'extensions', 'awx')
BIN = os.path.dirname(sys.executable)
KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='


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
    assert {re.split(r'[<>=]', line)[0] for line in own_pip} == {'cryptography', 'boto3', 'botocore', 'PyMySQL', 'looker-sdk'}
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


# --- credential types: AWX's rules (e2e/awx_rules.py, read from AWX's source) ---------------------------------------------

CREDENTIAL_TYPES = sorted(f for f in os.listdir(os.path.join(AWX, 'credential_types')) if f.endswith('.yml'))


@pytest.mark.parametrize('name', CREDENTIAL_TYPES)
def test_credential_type_is_saved_by_awx(name):
    ctype = _yaml(AWX, 'credential_types', name)
    assert awx_rules.validate_credential_type(ctype) == []
    for field in ctype['inputs']['fields']:
        # every input of these types is a secret, but the Looker API's address, client ID and TLS switch
        assert field.get('secret') is True or (name == 'lookerops_looker_api.yml' and field['id'] != 'client_secret')
    # Secrets go to a file only; env carries its path, never a secret, and no extra variable is injected.
    assert not ctype['injectors'].get('extra_vars')
    for value in ctype['injectors']['env'].values():
        assert value == '{{ tower.filename }}'


@pytest.mark.parametrize('env_name', ['ANSIBLE_VAULT_PASSWORD_FILE', 'ANSIBLE_CONFIG', 'PATH', 'JOB_ID'])
def test_the_rules_refuse_what_awx_refuses(env_name, tmp_path):
    """The rules bite: the former escrow type (ANSIBLE_VAULT_PASSWORD_FILE) is refused, and dropped when rendered."""
    ctype = _yaml(AWX, 'credential_types', 'lookerops_escrow_vault_password.yml')
    ctype['injectors']['env'] = {env_name: '{{ tower.filename }}'}
    assert any(env_name in error and 'not allowed' in error for error in awx_rules.validate_credential_type(ctype))
    env, _extra, _unsafe, files = awx_rules.render_injectors(ctype, {'vault_password': 'p'}, tmp_path)
    assert env == {} and len(files) == 1


def test_cmk_credential_feeds_the_collection_without_glue(tmp_path):
    ctype = _yaml(AWX, 'credential_types', 'lookerops_cmk.yml')
    env, extra, _unsafe, files = awx_rules.render_injectors(ctype, {'cmk_key': KEY + '\n'}, tmp_path)
    assert extra == {} and files == [env['LOOKEROPS_CMK_KEY_FILE']]
    assert oct(os.stat(files[0]).st_mode & 0o777) == '0o600' and files[0].startswith(str(tmp_path / 'env') + os.sep)
    # The role default of lookerops_cmk_key_file is the environment variable the credential sets ...
    default = _yaml(ROOT, 'roles', 'lookerops', 'defaults', 'main.yml')['lookerops_cmk_key_file']
    assert default == "{{ lookup('ansible.builtin.env', '%s') }}" % list(env)[0]
    # ... and the controller side reads the key from that file.
    source = _cmk_source.resolve_cmk(key_file=env['LOOKEROPS_CMK_KEY_FILE'], escrow='none', escrow_waiver=_cmk_source.ESCROW_WAIVER_TEXT)
    assert source.key_text == KEY


def test_looker_api_credential_feeds_the_collection_without_glue(tmp_path):
    """The "Looker API" credential, rendered as AWX renders it: a looker.ini in the private data directory whose path the
    collection's lookerops_api_config_file defaults to, read by the SDK's own settings reader with every field."""
    ctype = _yaml(AWX, 'credential_types', 'lookerops_looker_api.yml')
    inputs = {'base_url': 'https://looker.example.com:19999', 'client_id': 'cid', 'client_secret': 'top-secret', 'verify_ssl': False}
    env, extra, _unsafe, files = awx_rules.render_injectors(ctype, inputs, tmp_path)
    assert extra == {} and files == [env['LOOKEROPS_API_CONFIG_FILE']]
    assert oct(os.stat(files[0]).st_mode & 0o777) == '0o600'
    default = _yaml(ROOT, 'roles', 'lookerops', 'defaults', 'main.yml')['lookerops_api_config_file']
    assert default == "{{ lookup('ansible.builtin.env', 'LOOKEROPS_API_CONFIG_FILE') }}"
    params = {'base_url': None, 'client_id': None, 'client_secret': None, 'config_file': files[0], 'section': None,
              'verify_ssl': None, 'timeout': 120}
    settings = _looker_api.settings_from(params)
    data = settings.read_config()
    assert settings.base_url == inputs['base_url'] and settings.verify_ssl is False
    assert data['client_id'] == 'cid' and data['client_secret'] == 'top-secret'
    # Without verify_ssl given, AWX renders the default: verification on.
    env, _extra, _unsafe, files = awx_rules.render_injectors(ctype, dict(inputs, verify_ssl=True), tmp_path / 'second')
    assert _looker_api.settings_from(dict(params, config_file=files[0])).verify_ssl is True


def test_vault_password_credential_seals_the_escrow_with_its_vault_id(tmp_path, monkeypatch):
    """The escrow vault password credential, rendered as AWX renders it, beside AWX's own Vault credential (another id)."""
    ctype = _yaml(AWX, 'credential_types', 'lookerops_escrow_vault_password.yml')
    env, _extra, _unsafe, files = awx_rules.render_injectors(ctype, {'vault_password': 'escrow-pass-1'}, tmp_path)
    assert list(env) == [_escrow_vault.ESCROW_VAULT_PASSWORD_ENV] and env[_escrow_vault.ESCROW_VAULT_PASSWORD_ENV] == files[0]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    escrow = tmp_path / 'persistent' / 'cmk.vault'
    dummy, params, error = _cmk_source.split_task_args({'escrow_path': str(escrow), 'escrow_vault_id': 'lookerops'}, _cmk_source.SOURCE_ARGSPEC)
    assert error is None

    class _Loader:
        class _vault:  # pylint: disable=invalid-name
            secrets = [('default', VaultSecret(b'the-playbook-vault-password'))]

    source, error = _cmk_source.resolve_task_cmk(params, _Loader(), KEY, False, False)
    assert error is None and source.escrow_written
    assert escrow.read_bytes().startswith(b'$ANSIBLE_VAULT;1.2;AES256;lookerops\n')
    # ansible-vault with the escrow password alone, under the escrow's vault id, opens it.
    password_file = tmp_path / 'pw'
    password_file.write_text('escrow-pass-1\n', encoding='utf-8')
    shown = _run([os.path.join(BIN, 'ansible-vault'), 'view', '--vault-id', 'lookerops@%s' % password_file, str(escrow)]).stdout
    assert shown == KEY + '\n'


# --- surveys, job templates ----------------------------------------------------------------------------------------------

SURVEYS = sorted(f for f in os.listdir(os.path.join(AWX, 'surveys')) if f.endswith('.json'))
OPTIONS = _yaml(ROOT, 'roles', 'lookerops', 'meta', 'argument_specs.yml')['argument_specs']['main']['options']


@pytest.mark.parametrize('name', SURVEYS)
def test_survey_is_saved_by_awx_and_names_only_known_settings(name):
    survey = _json(AWX, 'surveys', name)
    assert awx_rules.validate_survey_spec(survey) == []
    assert set(survey) == awx_rules.SURVEY_KEYS
    # What preflight knows: the shared role's options (it derives its list from them) and its few extra names.
    known = set(OPTIONS) | set(_yaml(ROOT, 'roles', 'preflight', 'vars', 'main.yml')['preflight_known_extra_vars'])
    for question in survey['spec']:
        assert set(question) <= awx_rules.QUESTION_KEYS, question
        assert question['variable'] in known, question['variable']
        # Nothing secret in a survey: the key comes from the credential.
        assert question['type'] != 'password' and question['variable'] != 'lookerops_cmk_key'
        assert not OPTIONS.get(question['variable'], {}).get('no_log')
        allowed = OPTIONS.get(question['variable'], {}).get('choices')
        if question['type'] == 'multiplechoice' and allowed:
            assert set(question['choices']) <= set(allowed), question['variable']
        # The defaults AWX gives a job are answers AWX accepts (a required question without one must be answered at launch).
        if not (question['required'] and question.get('default') in awx_rules.EMPTY_ANSWER_FORMS):
            assert awx_rules.answer_errors(question, question.get('default')) == [], question['variable']
    for waiver in [q for q in survey['spec'] if q['variable'] == 'lookerops_cmk_escrow_waiver']:
        assert waiver['choices'] == [_cmk_source.ESCROW_WAIVER_TEXT] and not waiver['required']


@pytest.mark.parametrize('name', SURVEYS)
def test_survey_defaults_never_share_a_cluster_identity(name):
    """No fixed cluster name or secret name: two clusters launched with the defaults never share an escrow."""
    defaults = {q['variable']: q.get('default') for q in _json(AWX, 'surveys', name)['spec']}
    assert defaults.get('lookerops_cluster_name', '') == ''
    assert defaults.get('lookerops_cmk_escrow_aws_secret', '') == ''
    assert OPTIONS['lookerops_cmk_escrow_aws_secret']['default'] == '' and OPTIONS['lookerops_cluster_name']['default'] == ''


def test_job_templates_point_at_project_playbooks_surveys_and_credentials():
    spec = _yaml(AWX, 'job_templates.yml')
    defaults = spec['job_template_defaults']
    assert defaults['ask_job_type_on_launch'] is True and defaults['ask_variables_on_launch'] is False
    assert defaults['verbosity'] == 0
    assert len(spec['job_templates']) == 4
    roles = {'machine', 'aws', 'cmk', 'escrow_vault_password', 'looker_api'}
    for template in spec['job_templates']:
        assert template['survey'] in SURVEYS
        assert 'machine' in template['credentials'] and set(template['credentials']) <= roles
        with open(os.path.join(AWX, 'project', template['playbook']), encoding='utf-8') as handle:
            text = handle.read()
        # AWX offers a project file as a playbook only if some line is a hosts/include/import_playbook key.
        assert re.search(r'^ *(- +)?(hosts|include|import_playbook):', text, re.M), template['playbook']
        target = yaml.safe_load(text)[0]['import_playbook']
        assert target.startswith('lookerops.encryption.')
        assert os.path.isfile(os.path.join(ROOT, 'playbooks', target.split('.')[-1] + '.yml'))
    # The rekey template never gets the CMK credential (its key would be taken as the new key).
    assert 'cmk' not in [t for t in spec['job_templates'] if t['playbook'] == 'lookerops_rekey.yml'][0]['credentials']


def test_docs_list_the_credentials_setup_attaches():
    """docs/awx.md's job template table says what job_templates.yml (and so setup.yml) attaches."""
    with open(os.path.join(ROOT, 'docs', 'awx.md'), encoding='utf-8') as handle:
        docs = handle.read()
    names = {'machine': '`Looker nodes`', 'aws': '`AWS escrow`', 'cmk': '`Looker CMK`', 'escrow_vault_password': '`Looker CMK escrow vault password`',
             'looker_api': '`Looker API`'}
    row = [line for line in docs.splitlines() if line.startswith('| Credentials |')]
    assert len(row) == 1, 'docs/awx.md needs one "| Credentials |" row in the job template table'
    cells = [c.strip() for c in row[0].strip('|').split('|')][1:]
    templates = _yaml(AWX, 'job_templates.yml')['job_templates']
    assert len(cells) == len(templates)
    for cell, template in zip(cells, templates):
        listed = {role for role, shown in names.items() if shown in cell}
        assert listed == set(template['credentials']), (template['name'], cell)
    assert 'four job templates' in docs


# --- empty survey answers, on the oldest and the newest ansible-core ----------------------------------------------------

FLOOR_BIN = os.path.join(ROOT, '.venv-floor', 'bin')
CORES = {'newest': BIN, 'oldest': FLOOR_BIN}
# The gate runs the newest ansible-core; the long tier (test.sh --full) the oldest too.
CORE_PARAMS = ['newest', pytest.param('oldest', marks=pytest.mark.full)]


@pytest.mark.parametrize('core', CORE_PARAMS)
@pytest.mark.parametrize('name', [s for s in SURVEYS if s != 'new_install.json'])
def test_empty_survey_answers_reach_preflight_on_every_core(name, core, tmp_path):
    """Every question AWX lets an operator leave empty, answered '' (the `!unsafe ''` AWX writes; None on ansible-core 2.19+),
    goes through preflight to its own refusals (here: no Looker home) instead of a templating error. (new_install's questions
    are migrate's; test_awx_jobs launches it with empty answers on both cores on the bed.)"""
    survey = _json(AWX, 'surveys', name)
    answers = {q['variable']: '' for q in survey['spec'] if not q['required']}
    if name == 'rollback.json':
        answers['lookerops_run_id'] = 'r1'
    variables = awx_rules.survey_answers(survey, answers)
    variables.update({'awx_job_id': 7, 'lookerops_looker_home': str(tmp_path / 'no-looker')})
    extravars = tmp_path / 'extravars'
    extravars.write_text(awx_rules.unsafe_yaml(variables), encoding='utf-8')
    inventory = tmp_path / 'hosts'
    inventory.write_text('[looker_nodes]\nnode1 ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable, encoding='utf-8')
    playbook = _yaml(AWX, 'job_templates.yml')['job_templates'][[t['survey'] for t in _yaml(AWX, 'job_templates.yml')['job_templates']].index(name)]['playbook']
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR='1', LC_ALL='C.UTF-8', HOME=str(tmp_path),
               AWS_ENDPOINT_URL='http://127.0.0.1:9', ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'))
    proc = subprocess.run([os.path.join(CORES[core], 'ansible-playbook'), '-i', str(inventory), os.path.join(AWX, 'project', playbook),
                           '-e', '@%s' % extravars], capture_output=True, text=True, timeout=600, check=False, env=env, cwd=str(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'Preflight found' in out and 'no Looker home at %s' % (tmp_path / 'no-looker') in out, out[-4000:]
    for broken in ('NoneType', 'has no len', 'Error while resolving', 'is undefined', 'Traceback'):
        assert broken not in out, (broken, out[-4000:])


# --- setup.yml against the AWX API stand-in -----------------------------------------------------------------------------

SETUP_VARS = {'awx_setup_project': 'Looker encryption', 'awx_setup_inventory': 'Looker', 'awx_setup_machine_credential': 'Looker nodes',
              'awx_setup_aws_credential': 'AWS escrow', 'awx_setup_ee_image': 'registry.example.com/lookerops-ee:0.1.0',
              'awx_setup_cmk_key': KEY, 'awx_setup_escrow_vault_password': 'escrow-pass-1',
              'awx_setup_looker_api': {'base_url': 'https://looker.example.com:19999', 'client_id': 'cid', 'client_secret': 'api-secret-1',
                                       'verify_ssl': True},
              'awx_setup_template_variables': {'lookerops_backup_dir': '/var/backups/lookerops'}}


@pytest.fixture
def awx_api():
    standin = awx_api_module.AwxStandin()
    url = standin.start()
    try:
        yield standin, url
    finally:
        standin.stop()


def _setup(bin_dir, url, directory, tmp_path, extra=None):
    env = dict(os.environ, CONTROLLER_HOST=url, CONTROLLER_OAUTH_TOKEN=awx_api_module.TOKEN, ANSIBLE_NOCOLOR='1', LC_ALL='C.UTF-8',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'))
    variables = dict(SETUP_VARS, **(extra or {}))
    return subprocess.run([os.path.join(bin_dir, 'ansible-playbook'), os.path.join(directory, 'setup.yml'), '-e', json.dumps(variables)],
                          capture_output=True, text=True, timeout=600, check=False, env=env, cwd=str(tmp_path))


def _recap(stdout):
    return {k: int(v) for k, v in re.findall(r'(ok|changed|failed|unreachable)=(\d+)', stdout.split('PLAY RECAP')[-1])}


@pytest.mark.parametrize('core', CORE_PARAMS)
def test_setup_creates_everything_and_a_second_run_changes_nothing(core, awx_api, tmp_path):
    standin, url = awx_api
    first = _setup(CORES[core], url, AWX, tmp_path)
    assert first.returncode == 0, first.stdout[-4000:]
    objects = standin.objects
    types = {o['name']: o['id'] for o in objects['credential_types'].values()}
    assert {'Looker CMK (lookerops.encryption)', 'Looker CMK escrow vault password (lookerops.encryption)',
            'Looker API (lookerops.encryption)'} <= set(types)
    assert [o['image'] for o in objects['execution_environments'].values()] == [SETUP_VARS['awx_setup_ee_image']]
    creds = {o['name']: o['id'] for o in objects['credentials'].values()}
    wanted = {'machine': creds['Looker nodes'], 'aws': creds['AWS escrow'], 'cmk': creds['Looker CMK'],
              'escrow_vault_password': creds['Looker CMK escrow vault password'], 'looker_api': creds['Looker API']}
    templates = {o['name']: o for o in objects['job_templates'].values()}
    for template in _yaml(AWX, 'job_templates.yml')['job_templates']:
        made = templates[template['name']]
        assert made['playbook'] == template['playbook'] and made['survey_enabled'] is True
        assert yaml.safe_load(made['extra_vars']) == SETUP_VARS['awx_setup_template_variables']
        assert standin.surveys[made['id']] == _json(AWX, 'surveys', template['survey'])
        assert sorted(standin.attached[made['id']]) == sorted(wanted[r] for r in template['credentials'])
    # Every attach sent an integer id (AWX answers 400 to "12").
    attaches = [body for method, path, body in standin.writes() if path.endswith('/credentials/') and '/job_templates/' in path]
    assert attaches and all(isinstance(body['id'], int) for body in attaches)
    assert KEY not in first.stdout and 'escrow-pass-1' not in first.stdout and SETUP_VARS['awx_setup_looker_api']['client_secret'] not in first.stdout
    (api_cred,) = [o for o in objects['credentials'].values() if o['name'] == 'Looker API']
    assert api_cred['inputs'] == SETUP_VARS['awx_setup_looker_api'] and api_cred['credential_type'] == types['Looker API (lookerops.encryption)']
    writes = len(standin.writes())
    second = _setup(CORES[core], url, AWX, tmp_path)
    assert second.returncode == 0, second.stdout[-4000:]
    assert _recap(second.stdout)['changed'] == 0 and len(standin.writes()) == writes


def test_setup_fails_loudly_on_a_refusal_of_awx(awx_api, tmp_path):
    """A 4xx stops setup.yml with AWX's answer: here the former escrow type, whose ANSIBLE_ env injector AWX refuses."""
    standin, url = awx_api
    copy = tmp_path / 'awx'
    shutil.copytree(AWX, copy)
    path = copy / 'credential_types' / 'lookerops_escrow_vault_password.yml'
    ctype = yaml.safe_load(path.read_text(encoding='utf-8'))
    ctype['injectors']['env'] = {'ANSIBLE_VAULT_PASSWORD_FILE': '{{ tower.filename }}'}
    path.write_text(yaml.safe_dump(ctype), encoding='utf-8')
    proc = _setup(BIN, url, str(copy), tmp_path)
    assert proc.returncode != 0 and _recap(proc.stdout)['failed'] == 1
    assert 'AWX refused credential_types "Looker CMK escrow vault password (lookerops.encryption)" (HTTP 400)' in proc.stdout
    assert 'ANSIBLE_VAULT_PASSWORD_FILE may affect Ansible configuration' in proc.stdout
    assert not standin.objects['job_templates']


def test_setup_fails_loudly_on_a_wrong_token(awx_api, tmp_path):
    standin, url = awx_api
    env_url = url
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), os.path.join(AWX, 'setup.yml'), '-e', json.dumps(SETUP_VARS)],
                          capture_output=True, text=True, timeout=600, check=False, cwd=str(tmp_path),
                          env=dict(os.environ, CONTROLLER_HOST=env_url, CONTROLLER_OAUTH_TOKEN='wrong', ANSIBLE_NOCOLOR='1', LC_ALL='C.UTF-8'))
    assert proc.returncode != 0 and 'Status code was 401' in proc.stdout and 'Authentication credentials were not provided' in proc.stdout
    assert not standin.writes()


@pytest.mark.parametrize('playbook', ['setup.yml'] + ['project/' + f for f in sorted(os.listdir(os.path.join(AWX, 'project')))])
def test_awx_playbooks_pass_the_syntax_check(playbook, tmp_path):
    _run([os.path.join(BIN, 'ansible-playbook'), '--syntax-check', '-i', 'localhost,', os.path.join(AWX, playbook)], cwd=str(tmp_path))


def test_ee_pins_the_ansible_core_range_the_suite_runs():
    """The EE gets an ansible-core this suite runs: the oldest (.venv-floor) and the newest (.venv) lie in the pinned range."""
    from packaging.specifiers import SpecifierSet  # pylint: disable=import-outside-toplevel
    pin = _yaml(AWX, 'execution-environment.yml')['dependencies']['ansible_core']['package_pip']
    assert pin.startswith('ansible-core') and '<' in pin
    allowed = SpecifierSet(pin[len('ansible-core'):])
    for bin_dir in CORES.values():
        version = _run([os.path.join(bin_dir, 'python'), '-c', 'import ansible.release; print(ansible.release.__version__)']).stdout.strip()
        assert version in allowed, (bin_dir, version, pin)
    assert str(allowed).count('<') == 1 and SpecifierSet(str(allowed)).contains('2.17.0')
