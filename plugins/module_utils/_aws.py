# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the common AWS layer (connection options, client factory, error mapper, bounded
waiter, tags, the main() of an AWS module).

Not a public API. Every AWS call of the collection goes through :class:`AwsConnection`; the service backends beside this file
(``_aws_kms``, ``_aws_rds``, ``_aws_iam``) hold the decisions of one module each.
"""

from __future__ import annotations

import copy
import random
import re
import time
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


class AwsError(Exception):
    """An AWS step failed; ``str()`` is the operator-facing message (code, operation, remedy)."""

    def __init__(self, msg, code=None, operation=None, iam_action=None):
        super().__init__(msg)
        self.code = code
        self.operation = operation
        self.iam_action = iam_action

    def to_result(self):
        """Extra result keys for fail_json."""
        return {'aws_error_code': self.code, 'aws_operation': self.operation, 'aws_iam_action': self.iam_action}


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


def error_code(exc):
    """The AWS error code of a ClientError (None for anything else)."""
    response = getattr(exc, 'response', None) or {}
    return (response.get('Error') or {}).get('Code')


ACCESS_DENIED_CODES = frozenset([
    'AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError', 'NotAuthorized',
    'UnauthorizedException', 'AuthorizationErrorException',
])

CREDENTIAL_CODES = frozenset([
    'UnrecognizedClientException', 'InvalidClientTokenId', 'SignatureDoesNotMatch', 'ExpiredToken', 'ExpiredTokenException',
    'InvalidAccessKeyId', 'InvalidSignatureException', 'RequestExpired',
])

REMEDIES = {
    # KMS
    'NotFoundException': 'check the alias or key id and the region (a KMS key and its alias live in one region)',
    'DisabledException': 'the key is disabled; enable it (aws kms enable-key --key-id KEY) if it is the right key',
    'KMSInvalidStateException': 'the key is not usable in its current state (pending deletion or import?); '
                                'cancel a scheduled deletion (aws kms cancel-key-deletion) and enable it',
    'InvalidCiphertextException': 'the ciphertext does not match the key or the encryption context; check LKR_AWS_CMK_EC '
                                  '(encryption_context) and how it maps to the KMS encryption context (encryption_context_key)',
    'IncorrectKeyException': 'the ciphertext was made under another key; check the alias (LKR_AWS_CMK)',
    'AlreadyExistsException': 'the alias already exists (maybe on another key); check the alias name',
    'InvalidAliasNameException': "an alias must look like alias/<letters, digits, '/', '_', '-'> and must not start with alias/aws/",
    'LimitExceededException': 'an AWS quota was reached; raise the quota or remove unused resources',
    'TagException': 'check the tags (keys and values up to 128/256 characters)',
    'DependencyTimeoutException': 'KMS was temporarily unavailable; run again',
    'KMSInternalException': 'KMS had an internal error; run again',
    # RDS
    'DBInstanceNotFound': 'check db_instance_identifier (or the backend host it was derived from) and the region',
    'DBInstanceNotFoundFault': 'check db_instance_identifier (or the backend host it was derived from) and the region',
    'DBSnapshotNotFound': 'check the snapshot id and the region',
    'DBSnapshotNotFoundFault': 'check the snapshot id and the region',
    'DBSnapshotAlreadyExists': 'a snapshot with this id exists for another instance; choose another run id or snapshot_identifier',
    'DBSnapshotAlreadyExistsFault': 'a snapshot with this id exists for another instance; choose another run id or snapshot_identifier',
    'InvalidDBInstanceState': 'the instance must be "available" to be snapshotted; wait for its current operation to end',
    'InvalidDBInstanceStateFault': 'the instance must be "available" to be snapshotted; wait for its current operation to end',
    'InvalidDBSnapshotState': 'the snapshot must be "available" to be restored; wait for it',
    'InvalidDBSnapshotStateFault': 'the snapshot must be "available" to be restored; wait for it',
    'DBInstanceAlreadyExists': 'the restore target instance id exists; choose a new restore_instance_identifier',
    'DBInstanceAlreadyExistsFault': 'the restore target instance id exists; choose a new restore_instance_identifier',
    'SnapshotQuotaExceeded': 'the account reached its manual snapshot quota; delete old snapshots or raise the quota',
    'SnapshotQuotaExceededFault': 'the account reached its manual snapshot quota; delete old snapshots or raise the quota',
    'StorageQuotaExceeded': 'the account reached its storage quota; raise it or free storage',
    'InsufficientDBInstanceCapacity': 'the instance class is not available in this zone; choose another restore_instance_class',
    # IAM
    'NoSuchEntity': 'the IAM entity does not exist; check the name',
    'EntityAlreadyExists': 'an IAM entity with this name exists; choose another name or adopt it',
    'MalformedPolicyDocument': 'the policy document was refused; check the key ARN it was rendered with',
    'LimitExceeded': 'an IAM quota was reached (for example 5 versions of a managed policy); clean up and run again',
    'DeleteConflict': 'the IAM entity is still in use; detach it first',
    # Throttling (after botocore's own jittered retries)
    'ThrottlingException': 'AWS throttled the calls and the retries ran out; run again later or raise retries / use retry_mode=adaptive',
    'Throttling': 'AWS throttled the calls and the retries ran out; run again later or raise retries / use retry_mode=adaptive',
    'RequestLimitExceeded': 'AWS throttled the calls and the retries ran out; run again later or raise retries',
}

BOTOCORE_REMEDIES = {
    'NoCredentialsError': 'no AWS credentials were found: give access_key/secret_key (from Ansible Vault or an AWX "Amazon Web Services" '
                          'credential), a profile, the AWS_* environment variables, or run on a host with an instance role',
    'PartialCredentialsError': 'the AWS credentials are incomplete: give both access_key and secret_key',
    'NoRegionError': 'set the region option (or AWS_REGION / AWS_DEFAULT_REGION)',
    'ProfileNotFound': 'the AWS profile does not exist in ~/.aws/config or ~/.aws/credentials of the controller user',
    'EndpointConnectionError': 'AWS could not be reached; check endpoint_url, the region name, proxies and the network of the controller',
    'ConnectTimeoutError': 'AWS could not be reached in time; check the network of the controller (proxy, firewall)',
    'ReadTimeoutError': 'AWS did not answer in time; run again',
    'ConnectionClosedError': 'AWS closed the connection; run again',
    'SSLError': 'TLS to AWS failed; check the CA bundle (AWS_CA_BUNDLE) and any TLS-intercepting proxy',
    'ParamValidationError': 'a parameter was refused before the call; this is a bug of the calling module, please report it',
}


def iam_action_for(service, operation):
    """IAM action a call needs, for example ('kms', 'GenerateRandom') -> 'kms:GenerateRandom'."""
    if not service or not operation or ' ' in operation:
        return None
    return '%s:%s' % (service, operation)


_DENIED_ACTION = re.compile(r'(?:perform|to call|action)[: ]+([a-z0-9-]+:[A-Za-z0-9*]+)')


_XML_CODE = re.compile(r'<Code>([^<]+)</Code>')
_XML_MESSAGE = re.compile(r'<Message>([^<]*)</Message>')


def _code_and_message(exc):
    """(code, message) of a ClientError.

    When botocore could not parse the error body (an XML error from a proxy or an emulator answering a JSON-protocol service),
    the code is the bare HTTP status and the message the raw body: take Code/Message out of the body, else name the status
    (HTTP 403 counts as access denied).
    """
    response = exc.response or {}
    code = error_code(exc) or 'Unknown'
    message = (response.get('Error') or {}).get('Message') or ''
    if code.isdigit():
        found_code, found_msg = _XML_CODE.search(message), _XML_MESSAGE.search(message)
        if found_code:
            return found_code.group(1).strip(), (found_msg.group(1).strip() if found_msg else '')
        status = int(code)
        return ('AccessDenied' if status == 403 else 'HTTP%d' % status), message.strip()[:300]
    return code, message


def map_aws_error(exc, operation, service=None, remedy=None):
    """Turn a ClientError/BotoCoreError into an :class:`AwsError` naming the AWS error code, the operation and the remedy.

    AccessDenied and friends name the IAM action that is missing (taken from AWS's message when it says, else service:Operation).
    """
    op_name = getattr(exc, 'operation_name', None) or operation
    if ClientError is not None and isinstance(exc, ClientError):
        code, aws_msg = _code_and_message(exc)
        action = None
        if code in ACCESS_DENIED_CODES or 'AccessDenied' in code:
            found = _DENIED_ACTION.search(aws_msg)
            action = found.group(1) if found else iam_action_for(service, op_name)
            fix = remedy or ('the AWS identity running the task lacks the IAM permission %s; grant it (see docs/iam-policy.json '
                             'and docs/aws.md of lookerops.encryption) and check the key policy and any SCP or permission boundary' % action)
            msg = 'AWS refused %s (%s): %s. %s.' % (op_name, code, aws_msg.rstrip('.') or 'access denied', fix[0].upper() + fix[1:])
            return AwsError(msg, code=code, operation=op_name, iam_action=action)
        if code in CREDENTIAL_CODES:
            fix = remedy or ('the AWS credentials are invalid or expired; check access_key/secret_key/session_token, the profile, '
                             'or the AWX AWS credential, and the clock of the controller')
        else:
            fix = remedy or REMEDIES.get(code) or 'see the AWS message'
        msg = 'AWS call %s failed (%s): %s. %s.' % (op_name, code, aws_msg.rstrip('.') or 'no message', fix[0].upper() + fix[1:])
        return AwsError(msg, code=code, operation=op_name)
    name = type(exc).__name__
    for klass in type(exc).__mro__:
        if klass.__name__ in BOTOCORE_REMEDIES:
            name = klass.__name__
            break
    fix = remedy or BOTOCORE_REMEDIES.get(name) or 'check the AWS connection options'
    return AwsError('AWS call %s failed (%s): %s. %s.' % (op_name, name, str(exc).rstrip('.'), fix[0].upper() + fix[1:]),
                    code=name, operation=op_name)


def wait_for(check, what, timeout, label=str, delay=5.0, max_delay=30.0, clock=None, sleep=None):
    """Poll ``check()`` until it returns ``(True, state)``; bounded by ``timeout`` seconds (wait_timeout), never unbounded.

    ``check()`` returns ``(done, state)``; it may raise AwsError to stop at once (a failed state). ``label(state)`` is the text
    of the last state in the timeout message.
    Delays grow by half each poll, with jitter, and never run past the deadline.
    Returns the last state; raises AwsError naming ``what``, the last state and the timeout.
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    if timeout is None or timeout <= 0:
        raise AwsError('wait_timeout must be a positive number of seconds (got %s).' % timeout)
    deadline = clock() + timeout
    state = None
    polls = 0
    while True:
        done, state = check()
        polls += 1
        if done:
            return state
        remaining = deadline - clock()
        if remaining <= 0:
            raise AwsError('Timed out after %ss (wait_timeout) waiting for %s; last state: %s (%d polls). Nothing was undone: run the '
                           'task again to keep waiting, or raise wait_timeout.' % (timeout, what, label(state), polls), code='WaitTimeout')
        pause = min(max_delay, delay * (1.5 ** min(polls - 1, 10)))
        pause = pause * random.uniform(0.75, 1.25)  # nosec - jitter, not a secret
        sleep(max(0.0, min(pause, remaining)))


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
