# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the common AWS layer (connection options, client factory, tags, the main()
of an AWS module).

Not a public API. Every AWS call of the collection goes through :class:`AwsConnection`; ``errors.py`` maps what AWS
answers to one operator-facing error, ``waiters.py`` bounds every wait, and the service backends beside them (``kms.py``,
``rds.py``, ``iam.py``) hold the decisions of one module each.
"""

from __future__ import annotations

import copy
import traceback

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()
    BotoCoreError = ClientError = None  # pylint: disable=invalid-name
else:
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None

from ansible_collections.lookerops.encryption.plugins.module_utils._aws.errors import AwsError, error_code, map_aws_error

DEFAULT_RETRIES = 10
DEFAULT_WAIT_TIMEOUT = 900
USER_AGENT_EXTRA = 'lookerops.encryption'

# Tags written at creation, so that a resource whose follow-up call failed can be found again and adopted.
TAG_CLUSTER = 'lookerops:cluster'
TAG_ALIAS = 'lookerops:alias'
TAG_RUN_ID = 'lookerops:run_id'
TAG_RESTORED_FROM = 'lookerops:restored_from'
TAG_MANAGED = 'lookerops:managed-by'
TAG_MANAGED_VALUE = 'lookerops.encryption'


def aws_argument_spec():
    """The AWS connection option group, composed into every module that talks to AWS."""
    return dict(
        region=dict(type='str', aliases=['aws_region']),
        endpoint_url=dict(type='str'),
        profile=dict(type='str', aliases=['aws_profile']),
        access_key=dict(type='str', aliases=['aws_access_key_id'], no_log=True),
        secret_key=dict(type='str', aliases=['aws_secret_access_key'], no_log=True),
        session_token=dict(type='str', aliases=['aws_session_token'], no_log=True),
        retries=dict(type='int', default=DEFAULT_RETRIES),
        retry_mode=dict(type='str', choices=['standard', 'adaptive'], default='standard'),
        wait_timeout=dict(type='int', default=DEFAULT_WAIT_TIMEOUT),
    )


def compose_argument_spec(module_spec):
    """Module options plus the AWS connection group (module options win on a name clash, which is a bug)."""
    spec = aws_argument_spec()
    clash = sorted(set(spec) & set(module_spec))
    if clash:
        raise ValueError('module options clash with the AWS connection options: %s' % ', '.join(clash))
    spec.update(copy.deepcopy(module_spec))
    return spec


AWS_REQUIRED_TOGETHER = [('access_key', 'secret_key')]


def aws_module(module_spec, **kwargs):
    """An AnsibleModule with the module's options plus the AWS connection group; check mode is always supported."""
    from ansible.module_utils.basic import AnsibleModule
    required_together = list(AWS_REQUIRED_TOGETHER) + list(kwargs.pop('required_together', []))
    return AnsibleModule(argument_spec=compose_argument_spec(module_spec), required_together=required_together,
                         supports_check_mode=True, **kwargs)


def run_backend(module, backend_class, name_option, prepare=None):
    """The main() of an AWS module: boto3 check, ``backend_class(connection, params, check_mode).run()``, exit or fail.

    ``prepare(params)`` may complete the parameters first (for example derive ids from a host name). An :class:`AwsError`
    fails the task with its message, the AWS error code, operation and IAM action, and the value of ``name_option``.
    The backend's ``warnings`` become task warnings; its ``diff`` is returned in diff mode only.
    """
    require_boto3(module)
    try:
        params = prepare(module.params) if prepare else module.params
        backend = backend_class(AwsConnection(params), params, module.check_mode)
        result = backend.run()
    except AwsError as exc:
        module.fail_json(msg=str(exc), **dict(exc.to_result(), **{name_option: module.params[name_option]}))
    for warning in getattr(backend, 'warnings', ()):
        module.warn(warning)
    diff = result.pop('diff', None)
    if diff is not None and module._diff:
        result['diff'] = diff
    module.exit_json(**result)


def require_boto3(module):
    """fail_json with missing_required_lib when boto3/botocore cannot be imported."""
    if not HAS_BOTO3:
        from ansible.module_utils.basic import missing_required_lib
        module.fail_json(msg=missing_required_lib('boto3 and botocore (on the controller: the tasks run with delegate_to: localhost)'),
                         exception=BOTO3_IMPORT_ERROR)


def retry_config(retries=DEFAULT_RETRIES, retry_mode='standard'):
    """botocore Config: standard/adaptive retry mode (exponential backoff with full jitter), bounded connect/read timeouts."""
    if retries < 0:
        raise AwsError('retries must be 0 or more (got %s).' % retries)
    return Config(
        retries={'total_max_attempts': retries + 1, 'mode': retry_mode},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra=USER_AGENT_EXTRA,
    )


class AwsConnection:
    """Clients for one set of connection options (one session, clients cached per service)."""

    def __init__(self, params):
        self.params = params
        self._session = None
        self._clients = {}

    @property
    def wait_timeout(self):
        return self.params.get('wait_timeout', DEFAULT_WAIT_TIMEOUT)

    def session(self):
        if self._session is None:
            params = self.params
            try:
                self._session = boto3.session.Session(
                    aws_access_key_id=params.get('access_key'),
                    aws_secret_access_key=params.get('secret_key'),
                    aws_session_token=params.get('session_token'),
                    profile_name=params.get('profile'),
                    region_name=params.get('region'),
                )
            except BotoCoreError as exc:
                raise map_aws_error(exc, 'open an AWS session', 'sts') from exc
        return self._session

    @property
    def region(self):
        return self.params.get('region') or self.session().region_name

    def client(self, service):
        """A boto3 client with the retry config; fails clearly without a region."""
        if service in self._clients:
            return self._clients[service]
        if self.params.get('wait_timeout', DEFAULT_WAIT_TIMEOUT) <= 0:
            raise AwsError('wait_timeout must be a positive number of seconds (got %s).' % self.params.get('wait_timeout'))
        session = self.session()
        if not self.region:
            raise AwsError('No AWS region: set the region option (the AWS_REGION Looker gets), or AWS_REGION/AWS_DEFAULT_REGION '
                           'in the environment, or region= in the AWS profile.', code='NoRegionError')
        kwargs = {'config': retry_config(self.params.get('retries', DEFAULT_RETRIES), self.params.get('retry_mode') or 'standard'),
                  'region_name': self.region}
        if self.params.get('endpoint_url'):
            kwargs['endpoint_url'] = self.params['endpoint_url']
        try:
            client = session.client(service, **kwargs)
        except BotoCoreError as exc:
            raise map_aws_error(exc, 'create the %s client' % service, service) from exc
        self._clients[service] = client
        return client

    def call(self, service, operation, remedy=None, absent_codes=(), **kwargs):
        """``client(service).<operation>(**kwargs)`` with errors mapped to :class:`AwsError`.

        Returns None instead when the AWS error code is one of ``absent_codes`` (for example NotFoundException on a lookup).
        """
        client = self.client(service)
        method = getattr(client, method_name(client, operation))
        try:
            return method(**kwargs)
        except ClientError as exc:
            if error_code(exc) in absent_codes:
                return None
            raise map_aws_error(exc, operation, service, remedy=remedy) from exc
        except BotoCoreError as exc:
            raise map_aws_error(exc, operation, service, remedy=remedy) from exc

    def paginate(self, service, operation, result_key, remedy=None, **kwargs):
        """Every item of a paginated list call."""
        client = self.client(service)
        items = []
        try:
            for page in client.get_paginator(method_name(client, operation)).paginate(**kwargs):
                items.extend(page.get(result_key, []))
        except (ClientError, BotoCoreError) as exc:
            raise map_aws_error(exc, operation, service, remedy=remedy) from exc
        return items


def method_name(client, operation):
    """The boto3 method of an AWS operation name (CreateKey -> create_key, DescribeDBInstances -> describe_db_instances)."""
    for method, api in client.meta.method_to_api_mapping.items():
        if api == operation:
            return method
    raise AwsError('The %s client has no operation %s (botocore too old?).' % (client.meta.service_model.service_name, operation),
                   code='UnknownOperation', operation=operation)


def aws_tags(mapping, style='Key'):
    """[{'Key': k, 'Value': v}] (style 'Key') or [{'TagKey': k, 'TagValue': v}] (KMS style 'TagKey'), sorted by key."""
    if style == 'TagKey':
        return [{'TagKey': k, 'TagValue': str(v)} for k, v in sorted(mapping.items())]
    return [{'Key': k, 'Value': str(v)} for k, v in sorted(mapping.items())]


def tags_dict(tag_list):
    """Inverse of :func:`aws_tags` for either style."""
    result = {}
    for tag in tag_list or []:
        key = tag.get('Key', tag.get('TagKey'))
        result[key] = tag.get('Value', tag.get('TagValue'))
    return result


def wall_time_iso(value):
    """ISO text of a datetime returned by boto3 (None stays None)."""
    if value is None:
        return None
    if hasattr(value, 'isoformat'):
        return value.isoformat()
    return str(value)
