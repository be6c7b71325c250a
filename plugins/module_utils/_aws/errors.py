# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: AWS errors, mapped to one operator-facing message (the AWS error code, the
operation, the IAM action that is missing and the remedy).

Not a public API; it may change without notice.
"""

from __future__ import annotations

import re

try:
    from botocore.exceptions import ClientError
except ImportError:
    ClientError = None  # pylint: disable=invalid-name


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
