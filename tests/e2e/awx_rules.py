# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX's own rules (ansible/awx 24.6.x) as data, and validators that apply them.

Each rule names the AWX source file it comes from. The tests validate extensions/awx against these
rules, and the AWX API stand-in (e2e.awx_api) answers with them, so that a file AWX would refuse is
refused here too. Error texts follow AWX's.
"""

from __future__ import annotations

import os
import re
import stat

import jinja2.sandbox

# --- credential types: awx/main/fields.py (CredentialInputField, CredentialTypeInputField, CredentialTypeInjectorField),
#     awx/main/models/credential/__init__.py (CredentialType, ManagedCredentialType) ---------------------------------------
CREDENTIAL_TYPE_KEYS = {'name', 'kind', 'description', 'inputs', 'injectors'}
# Custom credential types may only be of these kinds (awx/api/serializers.py CredentialTypeSerializer.validate).
CUSTOM_KINDS = {'cloud', 'net'}
# CredentialTypeInputField.schema: field properties and types.
INPUT_FIELD_KEYS = {'id', 'label', 'type', 'help_text', 'multiline', 'secret', 'choices', 'ask_at_runtime', 'format'}
INPUT_FIELD_TYPES = {'string', 'boolean'}
INPUT_FIELD_ID = re.compile(r'^[a-zA-Z_]+[a-zA-Z0-9_]*$')
# CredentialTypeInjectorField.schema: the three injector kinds; file templates are `template` or `template.<name>`.
INJECTOR_KINDS = {'file', 'env', 'extra_vars'}
FILE_TEMPLATE_KEY = re.compile(r'^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$')
# awx/main/fields.py validate_env_var_allowed: names starting with ANSIBLE_ are refused (and awx/main/models/credential
# inject_credential drops them at run time), as are the names of awx/main/constants.py ENV_BLOCKLIST.
ENV_FORBIDDEN_PREFIX = 'ANSIBLE_'
ENV_BLOCKLIST = {'VIRTUAL_ENV', 'PATH', 'PYTHONPATH', 'JOB_ID', 'INVENTORY_ID', 'INVENTORY_SOURCE_ID', 'INVENTORY_UPDATE_ID',
                 'AD_HOC_COMMAND_ID', 'REST_API_URL', 'REST_API_TOKEN', 'MAX_EVENT_RES', 'CALLBACK_QUEUE', 'CALLBACK_CONNECTION',
                 'CACHE', 'JOB_CALLBACK_DEBUG', 'INVENTORY_HOSTVARS', 'AWX_HOST', 'PROJECT_REVISION', 'SUPERVISOR_CONFIG_PATH'}
# Injected files are written into the job's private data directory, 0600 (awx/main/models/credential/__init__.py).
INJECTED_FILE_MODE = 0o600

# --- surveys: awx/api/views/__init__.py (JobTemplateSurveySpec._validate_spec_data),
#     awx/main/models/mixins.py (SurveyJobTemplateMixin._survey_element_validation) -----------------------------------------
SURVEY_KEYS = {'name', 'description', 'spec'}
QUESTION_TYPES = {'text', 'textarea', 'password', 'integer', 'float', 'multiplechoice', 'multiselect'}
QUESTION_REQUIRED_KEYS = ('question_name', 'variable', 'type', 'required')
QUESTION_KEYS = {'question_name', 'question_description', 'variable', 'type', 'required', 'default', 'choices', 'min', 'max', 'new_question'}
TEXT_TYPES = {'text', 'textarea', 'password'}
CHOICE_TYPES = {'multiplechoice', 'multiselect'}
# Survey answers reach the playbook as `!unsafe` strings (awx/main/utils/safe_yaml.py safe_dump); with ansible-core
# 2.19 and later an empty `!unsafe` answer is loaded as None (ansible/awx#16205).
EMPTY_ANSWER_FORMS = (None, '')

# --- API: awx/api/generics.py (SubListAttachDetachAPIView.attach) ------------------------------------------------------
ATTACH_ID_ERROR = '"id" field must be an integer.'


def validate_credential_type(ctype):
    """Errors AWX would answer for this custom credential type (empty when it saves it)."""
    errors = []
    unknown = set(ctype) - CREDENTIAL_TYPE_KEYS
    if unknown:
        errors.append('unknown keys %s' % sorted(unknown))
    if not ctype.get('name'):
        errors.append('name: This field may not be blank.')
    if ctype.get('kind') not in CUSTOM_KINDS:
        errors.append("kind: Must be 'cloud' or 'net', not %s" % ctype.get('kind'))
    inputs = ctype.get('inputs') or {}
    fields = inputs.get('fields') or []
    ids = []
    for field in fields:
        bad = set(field) - INPUT_FIELD_KEYS
        if bad:
            errors.append('inputs: field %s has unknown properties %s' % (field.get('id'), sorted(bad)))
        if not INPUT_FIELD_ID.match(str(field.get('id', ''))):
            errors.append('inputs: invalid field id %r' % field.get('id'))
        if not field.get('label'):
            errors.append('inputs: field %s has no label' % field.get('id'))
        if field.get('type', 'string') not in INPUT_FIELD_TYPES:
            errors.append('inputs: field %s has type %s' % (field.get('id'), field.get('type')))
        ids.append(field.get('id'))
    if len(ids) != len(set(ids)):
        errors.append('inputs: field ids must be unique')
    for name in inputs.get('required', []):
        if name not in ids:
            errors.append('inputs: required field %s is not defined' % name)
    injectors = ctype.get('injectors') or {}
    bad = set(injectors) - INJECTOR_KINDS
    if bad:
        errors.append('injectors: unknown kinds %s' % sorted(bad))
    for key in (injectors.get('file') or {}):
        if not FILE_TEMPLATE_KEY.match(key):
            errors.append('injectors: file key %s must be template or template.<name>' % key)
    for name in (injectors.get('env') or {}):
        if name.startswith(ENV_FORBIDDEN_PREFIX) or name in ENV_BLOCKLIST:
            errors.append('injectors: Environment variable %s may affect Ansible configuration so its use is not allowed in credentials.'
                          % name)
    return errors


def validate_survey_spec(survey):
    """Errors AWX would answer when this survey spec is POSTed to a job template's survey_spec."""
    errors = []
    if not isinstance(survey, dict):
        return ['Survey spec must be a dict']
    for key in ('name', 'description'):
        if key not in survey:
            errors.append("'%s' missing from survey spec." % key)
    spec = survey.get('spec')
    if not isinstance(spec, list):
        return errors + ["'spec' must be a list of items."]
    if not spec:
        return errors + ["'spec' doesn't contain any items."]
    variables = set()
    for index, question in enumerate(spec):
        if not isinstance(question, dict):
            errors.append('Survey question %d is not a json object.' % index)
            continue
        for key in QUESTION_REQUIRED_KEYS:
            if key not in question:
                errors.append("'%s' missing from survey question %d." % (key, index))
        if question.get('variable') in variables:
            errors.append("'variable' '%s' duplicated in survey question %d." % (question.get('variable'), index))
        variables.add(question.get('variable'))
        qtype = question.get('type')
        if qtype not in QUESTION_TYPES:
            errors.append("'%s' in survey question %d is not one of '%s' allowed question types." % (qtype, index, sorted(QUESTION_TYPES)))
        if 'required' in question and not isinstance(question['required'], bool):
            errors.append("'required' in survey question %d expected to be boolean." % index)
        for key in ('min', 'max'):
            if key in question and question[key] is not None and not isinstance(question[key], int):
                errors.append("'%s' in survey question %d expected to be int." % (key, index))
        default = question.get('default')
        if qtype in TEXT_TYPES and default not in (None, ''):
            if not isinstance(default, str):
                errors.append("Default value %r in survey question %d expected to be string." % (default, index))
            elif not int(question.get('min') or 0) <= len(default) <= int(question.get('max') or 1024):
                errors.append('Default value of survey question %d is not within min/max.' % index)
        if qtype in CHOICE_TYPES:
            choices = question.get('choices')
            if isinstance(choices, str):
                choices = choices.split('\n')
            if not isinstance(choices, list) or not choices:
                errors.append("'choices' in survey question %d must be a list or a newline-separated string." % index)
                continue
            wanted = default.split('\n') if qtype == 'multiselect' and isinstance(default, str) else default
            wanted = wanted if isinstance(wanted, list) else [wanted]
            for value in wanted:
                if value not in (None, '') and value not in choices:
                    errors.append('Default choice must be answered from the choices listed (survey question %d).' % index)
    return errors


def answer_errors(question, value):
    """What AWX says about one launch answer (SurveyJobTemplateMixin._survey_element_validation); empty when accepted."""
    if value in (None, ''):
        return ["'%s' value missing" % question['variable']] if question['required'] else []
    if question['type'] in TEXT_TYPES:
        low, high = int(question.get('min') or 0), int(question.get('max') or 1024)
        if not low <= len(value) <= high:
            return ["'%s' value %s is not within %d..%d characters" % (question['variable'], value, low, high)]
    if question['type'] == 'multiplechoice':
        choices = question['choices'] if isinstance(question['choices'], list) else question['choices'].split('\n')
        if value not in choices:
            return ["Value %s for '%s' expected to be one of %s." % (value, question['variable'], choices)]
    return []


def survey_answers(survey, answers=None):
    """The extra variables AWX gives a job: each answer given, else the question's default (AWX adds defaults)."""
    answers = dict(answers or {})
    result = {}
    for question in survey['spec']:
        if question['variable'] in answers:
            result[question['variable']] = answers[question['variable']]
        elif 'default' in question:
            result[question['variable']] = question['default']
    return result


def unsafe_yaml(variables):
    """env/extravars as AWX writes it: every string answer tagged !unsafe (awx/main/utils/safe_yaml.py)."""
    lines = []
    for name, value in variables.items():
        if isinstance(value, str):
            lines.append("%s: !unsafe '%s'" % (name, value.replace("'", "''")))
        elif value is None:
            lines.append('%s: null' % name)
        else:
            lines.append('%s: %s' % (name, value))
    return '\n'.join(lines) + '\n'


def render_injectors(ctype, inputs, private_data_dir):
    """Render a credential type's injectors as AWX does (awx/main/models/credential/__init__.py CredentialType.inject_credential).

    Sandboxed Jinja; each file template is written into ``<private_data_dir>/env`` 0600 and its path is ``tower.filename``
    (``tower.filename.<name>`` for ``template.<name>``); env injectors whose name AWX forbids are dropped; extra_vars are
    marked unsafe (returned as a set of names). Returns (env, extra_vars, unsafe names, files written).
    """
    sandbox = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    namespace = dict(inputs)
    files = []
    templates = (ctype.get('injectors') or {}).get('file') or {}
    env_dir = os.path.join(str(private_data_dir), 'env')
    os.makedirs(env_dir, mode=0o700, exist_ok=True)
    named = {}
    for key, template in sorted(templates.items()):
        fd = os.open(os.path.join(env_dir, 'tmp%s' % os.urandom(4).hex()), os.O_WRONLY | os.O_CREAT | os.O_EXCL, INJECTED_FILE_MODE)
        path = '/proc/self/fd/%d' % fd
        real = os.readlink(path)
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            handle.write(sandbox.from_string(template).render(**namespace))
        assert stat.S_IMODE(os.stat(real).st_mode) == INJECTED_FILE_MODE
        files.append(real)
        if key == 'template':
            namespace['tower'] = {'filename': real}
        else:
            named[key.split('.', 1)[1]] = real
    if named:
        namespace['tower'] = {'filename': named}
    env = {}
    for name, template in ((ctype.get('injectors') or {}).get('env') or {}).items():
        if name.startswith(ENV_FORBIDDEN_PREFIX) or name in ENV_BLOCKLIST:
            continue
        env[name] = sandbox.from_string(template).render(**namespace)
    extra = {name: sandbox.from_string(template).render(**namespace)
             for name, template in ((ctype.get('injectors') or {}).get('extra_vars') or {}).items()}
    return env, extra, set(extra), files
