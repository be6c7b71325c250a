# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _looker_api: when the API counts as configured, where the SDK's settings come from, and the refusals
of a missing or partial configuration (the calls themselves run against the stand-in's API, end to end)."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils import _looker_api as api

NONE = {'base_url': None, 'client_id': None, 'client_secret': None, 'config_file': None, 'section': None,
        'verify_ssl': None, 'timeout': 120}
SDK_VARS = ('LOOKERSDK_BASE_URL', 'LOOKERSDK_CLIENT_ID', 'LOOKERSDK_CLIENT_SECRET', 'LOOKERSDK_VERIFY_SSL', 'LOOKERSDK_TIMEOUT')


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in SDK_VARS:
        monkeypatch.delenv(name, raising=False)


def params(**given):
    return dict(NONE, **given)


def test_nothing_given_is_not_configured():
    assert not api.is_configured(params(), environ={})


@pytest.mark.parametrize('given', [{'base_url': 'https://l:19999'}, {'client_id': 'x'}, {'config_file': '/x/looker.ini'}])
def test_any_option_configures(given):
    assert api.is_configured(params(**given), environ={})


def test_the_sdk_environment_configures():
    assert api.is_configured(params(), environ={'LOOKERSDK_CLIENT_ID': 'x'})


def test_options_over_the_sdk_environment(monkeypatch):
    monkeypatch.setenv('LOOKERSDK_BASE_URL', 'https://env:19999')
    monkeypatch.setenv('LOOKERSDK_CLIENT_ID', 'env-id')
    monkeypatch.setenv('LOOKERSDK_CLIENT_SECRET', 'env-secret')
    settings = api.settings_from(params(client_id='given-id', verify_ssl=False, timeout=30))
    data = settings.read_config()
    assert settings.base_url == 'https://env:19999' and data['client_id'] == 'given-id' and data['client_secret'] == 'env-secret'
    assert settings.verify_ssl is False and settings.timeout == 30


def test_a_named_looker_ini_is_read_with_the_options_over_it(tmp_path):
    ini = tmp_path / 'looker.ini'
    ini.write_text('[Looker]\nbase_url=https://ini:19999\nclient_id=ini-id\nclient_secret=ini-secret\nverify_ssl=false\n')
    settings = api.settings_from(params(config_file=str(ini), client_secret='given'))
    data = settings.read_config()
    assert settings.base_url == 'https://ini:19999' and settings.verify_ssl is False
    assert data['client_id'] == 'ini-id' and data['client_secret'] == 'given'


def test_no_looker_ini_is_read_unless_named(tmp_path, monkeypatch):
    (tmp_path / 'looker.ini').write_text('[Looker]\nbase_url=https://cwd:19999\nclient_id=a\nclient_secret=b\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(api.ApiProofError, match='lookerops_api_base_url, lookerops_api_client_id, lookerops_api_client_secret missing'):
        api.settings_from(params(verify_ssl=True))


def test_a_missing_looker_ini_is_refused(tmp_path):
    with pytest.raises(api.ApiProofError, match='does not exist'):
        api.settings_from(params(config_file=str(tmp_path / 'nope.ini')))


def test_a_partial_configuration_names_what_is_missing_and_never_the_secret():
    with pytest.raises(api.ApiProofError) as info:
        api.settings_from(params(base_url='https://l:19999', client_secret='s3cr3t-value'))
    assert 'lookerops_api_client_id missing' in str(info.value) and 'LOOKERSDK_CLIENT_ID' in str(info.value)
    assert 's3cr3t-value' not in str(info.value)


def test_an_unreachable_api_says_what_to_check():
    # A port nothing listens on (loopback): the SDK's transport error becomes the module's message.
    with pytest.raises(api.ApiProofError, match="did not answer .*lookerops_api_base_url") as info:
        api.prove(params(base_url='https://127.0.0.1:9', client_id='i', client_secret='never-shown', verify_ssl=False, timeout=5))
    assert 'never-shown' not in str(info.value)
