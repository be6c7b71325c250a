# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Looker's own proof that its stored credentials decrypt: its release and a connection test of every database connection,
through Looker's API 4.0 with Looker's official Python SDK (looker-sdk). Runs on the controller.

The SDK's settings come from where the SDK itself reads them (its ``LOOKERSDK_*`` environment variables, a ``looker.ini``
file), with the values given to the module over them. The client secret is never returned or put in a message.
"""

from __future__ import annotations

import os
import traceback

SDK_ENV_PREFIX = 'LOOKERSDK'
SDK_ENV = ('LOOKERSDK_BASE_URL', 'LOOKERSDK_CLIENT_ID', 'LOOKERSDK_CLIENT_SECRET')
# The settings the SDK reads from LOOKERSDK_<NAME> (looker_sdk.rtl.api_settings).
SDK_SETTINGS = ('BASE_URL', 'CLIENT_ID', 'CLIENT_SECRET', 'VERIFY_SSL', 'TIMEOUT')

try:
    import looker_sdk
    from looker_sdk.rtl import api_settings
    from looker_sdk import error as sdk_error
except ImportError:
    looker_sdk = None
    api_settings = None
    sdk_error = None
    SDK_IMPORT_ERROR = traceback.format_exc()
else:
    SDK_IMPORT_ERROR = None


class ApiProofError(Exception):
    """Looker's API cannot give the proof: the message says what is wrong and what to do."""


def is_configured(params, environ=None):
    """True when the operator gave the API to the collection: an option, a looker.ini named, or the SDK's environment."""
    environ = os.environ if environ is None else environ
    given = [params.get(k) for k in ('base_url', 'client_id', 'client_secret', 'config_file')]
    return any(given) or any(environ.get(k) for k in SDK_ENV)


def settings_from(params):
    """The SDK's settings: what the SDK reads itself (looker.ini named by config_file, LOOKERSDK_* variables), then the
    module's options over them. Raises ApiProofError when something needed is missing."""
    overrides = {k: params[k] for k in ('base_url', 'client_id', 'client_secret') if params.get(k)}
    if params.get('verify_ssl') is not None:
        overrides['verify_ssl'] = 'true' if params['verify_ssl'] else 'false'
    if params.get('timeout'):
        overrides['timeout'] = str(int(params['timeout']))
    config_file = params.get('config_file')
    if config_file and not os.path.isfile(config_file):
        raise ApiProofError('the Looker API settings file %s does not exist (lookerops_api_config_file): give the path of a '
                            'looker.ini readable on the controller, or leave it empty' % config_file)

    class _Settings(api_settings.ApiSettings):  # pylint: disable=too-few-public-methods
        def read_config(self):
            if config_file:
                # The SDK's own reading: the named looker.ini, then its LOOKERSDK_* variables over it.
                data = dict(super().read_config())
            else:
                # No looker.ini named: none is read (a module's working directory is not the operator's).
                data = {name.lower(): os.environ[SDK_ENV_PREFIX + '_' + name] for name in SDK_SETTINGS
                        if os.environ.get(SDK_ENV_PREFIX + '_' + name)}
            data.update(overrides)
            return data

    try:
        settings = _Settings(filename=config_file or 'looker.ini', section=params.get('section') or None,
                             env_prefix=SDK_ENV_PREFIX)
    except Exception as exc:  # pylint: disable=broad-except
        # configparser's errors of a looker.ini
        raise ApiProofError('cannot read the Looker API settings from %s: %s' % (config_file or 'the environment', exc)) from None
    data = settings.read_config()
    missing = [name for name, setting in (('lookerops_api_base_url', 'base_url'), ('lookerops_api_client_id', 'client_id'),
                                          ('lookerops_api_client_secret', 'client_secret')) if not data.get(setting)]
    if missing:
        raise ApiProofError('the Looker API is only partly configured: %s missing (set it, or LOOKERSDK_%s in the '
                            "controller's environment, or in the looker.ini named by lookerops_api_config_file)"
                            % (', '.join(missing), missing[0].split('_api_', 1)[1].upper()))
    return settings


# The SDK reports a transport failure (refused, TLS, time-out) as an SDKError carrying requests' text.
TRANSPORT_WORDS = ('ConnectionPool', 'SSLError', 'CERTIFICATE_VERIFY_FAILED', 'timed out', 'Timeout', 'Connection refused',
                   'Name or service not known')


def _sdk_message(exc):
    """What Looker or the transport said, on one line, without the request's secrets (the SDK's errors carry none)."""
    text = ' '.join(str(exc).split())
    return text[:400] if text else exc.__class__.__name__


def _unanswered(base_url, message):
    return ApiProofError("Looker's API at %s did not answer (%s): check lookerops_api_base_url (Looker's API, port 19999 by "
                         'default) and lookerops_api_verify_ssl' % (base_url, message))


def prove(params):
    """Login, then GET /versions, GET /connections and PUT /connections/{name}/test for each connection.

    Returns {'base_url', 'release', 'connections': [{'name', 'ok', 'message'}]} (sorted by name). Raises ApiProofError when
    the API cannot be reached or refuses the login."""
    settings = settings_from(params)
    base_url = settings.base_url
    if not settings.verify_ssl:
        # requests lets these variables override verify=False on a session (the SDK's way of not verifying): without this,
        # a controller that sets them for its own CAs could never reach a Looker with its self-signed certificate. This
        # module's own process only.
        for name in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
            os.environ.pop(name, None)
    try:
        sdk = looker_sdk.init40(config_settings=settings)
        release = sdk.versions().looker_release_version
        connections = sorted(c.name for c in sdk.all_connections(fields='name') if c.name)
    except sdk_error.SDKError as exc:
        message = _sdk_message(exc)
        if any(word in message for word in TRANSPORT_WORDS):
            raise _unanswered(base_url, message) from None
        raise ApiProofError("Looker's API at %s refused the login or the call (%s): check lookerops_api_client_id and "
                            'lookerops_api_client_secret (an API key of a Looker admin user, who may list and test every '
                            'connection)' % (base_url, message)) from None
    except Exception as exc:  # pylint: disable=broad-except
        # requests' connection and TLS errors that the SDK did not wrap
        raise _unanswered(base_url, _sdk_message(exc)) from None
    results = []
    for name in connections:
        try:
            tests = sdk.test_connection(name)
        except sdk_error.SDKError as exc:
            results.append({'name': name, 'ok': False, 'message': _sdk_message(exc)})
            continue
        failed = [t for t in tests if (t.status or '').lower() != 'success']
        message = '; '.join('%s: %s' % (t.name, t.message or t.status) for t in (failed or tests))
        results.append({'name': name, 'ok': not failed, 'message': message})
    return {'base_url': base_url, 'release': release, 'connections': results}
