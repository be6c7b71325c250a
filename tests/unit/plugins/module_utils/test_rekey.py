# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rekey settings: documented names, inferred names, overrides, and the refusals."""

from __future__ import annotations

import base64
import os

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils import _rekey as rk

OLD = base64.b64encode(os.urandom(32)).decode()
NEW = base64.b64encode(os.urandom(32)).decode()


def test_local_to_local_uses_the_documented_names_only():
    env = rk.rekey_environment(rk.key_settings('local_env', key=OLD), rk.key_settings('local_env', key=NEW),
                               source_kcv='aaaaaa', destination_kcv='bbbbbb')
    assert env == {'LKR_MASTER_KEY_ENV_SOURCE': OLD, 'LKR_MASTER_KEY_ENV_DESTINATION': NEW}
    assert rk.inferred_names(env) == []


def test_local_to_kms_infers_the_kms_names_and_says_so():
    env = rk.rekey_environment(rk.key_settings('local_env', key=OLD),
                               rk.key_settings('aws_kms', region='eu-west-1', cmk='looker', context='ctx'),
                               source_kcv='aaaaaa')
    # the region also as plain AWS_REGION (the name Looker reads at start): only one key has a region, so nothing is guessed
    assert env == {'LKR_MASTER_KEY_ENV_SOURCE': OLD, 'AWS_REGION_DESTINATION': 'eu-west-1', 'AWS_REGION': 'eu-west-1',
                   'LKR_AWS_CMK_DESTINATION': 'alias/looker', 'LKR_AWS_CMK_EC_DESTINATION': 'ctx'}
    assert rk.inferred_names(env) == ['AWS_REGION_DESTINATION', 'LKR_AWS_CMK_DESTINATION', 'LKR_AWS_CMK_EC_DESTINATION']


def test_kms_keys_in_one_region_get_the_region_in_every_form():
    env = rk.rekey_environment(rk.key_settings('aws_kms', region='us-east-1', cmk='alias/a'),
                               rk.key_settings('aws_kms', region='us-east-1', cmk='alias/b'))
    assert env['AWS_REGION'] == env['AWS_REGION_SOURCE'] == env['AWS_REGION_DESTINATION'] == 'us-east-1'
    env = rk.rekey_environment(rk.key_settings('aws_kms', region='us-east-1', cmk='alias/a'), rk.key_settings('local_env', key=NEW),
                               destination_kcv='bbbbbb')
    assert env['AWS_REGION'] == env['AWS_REGION_SOURCE'] == 'us-east-1'


def test_kms_keys_in_two_regions_get_no_plain_region():
    env = rk.rekey_environment(rk.key_settings('aws_kms', region='us-east-1', cmk='alias/a'),
                               rk.key_settings('aws_kms', region='eu-west-1', cmk='alias/a'))
    assert 'AWS_REGION' not in env and env['AWS_REGION_SOURCE'] == 'us-east-1' and env['AWS_REGION_DESTINATION'] == 'eu-west-1'


@pytest.mark.parametrize('overrides', [
    {'LKR_MASTER_KEY_ENV': {'destination': 'LD_PRELOAD'}},
    {'LKR_MASTER_KEY_ENV': {'destination': 'JAVA_TOOL_OPTIONS'}},
    {'LKR_MASTER_KEY_ENV': {'destination': 'LKR_X=1 LKR_Y'}},
    {'LKR_MASTER_KEY_ENV': {'destination': 'LKR_MASTER_KEY_FILE'}},
    {'LKR_MASTER_KEY_ENV': {'destination': 'LKR_MASTER_KEY_ENV_SOURCE'}},
    {'LKR_MASTER_KEY_ENV': {'new': 'LKR_NEW_KEY'}},
    {'HOME': {'source': 'LKR_HOME'}},
    'LKR_NEW_KEY',
])
def test_renames_that_are_not_plain_names_of_the_pattern_are_refused(overrides):
    with pytest.raises(rk.RekeyError) as err:
        rk.rekey_environment(rk.key_settings('local_env', key=OLD), rk.key_settings('local_env', key=NEW),
                             overrides=overrides, source_kcv='aaaaaa', destination_kcv='bbbbbb')
    assert OLD not in str(err.value) and NEW not in str(err.value)


def test_kms_key_a_to_b_and_a_new_context_are_different_keys():
    a = rk.key_settings('aws_kms', region='us-east-1', cmk='alias/a')
    assert rk.rekey_environment(a, rk.key_settings('aws_kms', region='us-east-1', cmk='alias/b'))
    assert rk.rekey_environment(a, rk.key_settings('aws_kms', region='us-east-1', cmk='alias/a', context='new'))


def test_overrides_rename_any_variable():
    overrides = {'LKR_MASTER_KEY_FILE': {'source': 'LKR_OLD_KEY_FILE'}}
    env = rk.rekey_environment(rk.key_settings('local_file', key_file='/k/old'), rk.key_settings('local_file', key_file='/k/new'),
                               overrides=overrides, source_kcv='aaaaaa', destination_kcv='bbbbbb')
    assert env == {'LKR_OLD_KEY_FILE': '/k/old', 'LKR_MASTER_KEY_FILE_DESTINATION': '/k/new'}


@pytest.mark.parametrize('source, destination, kcvs', [
    (rk.key_settings('local_env', key=OLD), rk.key_settings('local_env', key=OLD), ('aaaaaa', 'aaaaaa')),
    (rk.key_settings('aws_kms', region='r', cmk='a'), rk.key_settings('aws_kms', region='r', cmk='alias/a'), (None, None)),
])
def test_the_same_key_is_refused_without_its_text(source, destination, kcvs):
    with pytest.raises(rk.RekeyError) as err:
        rk.rekey_environment(source, destination, source_kcv=kcvs[0], destination_kcv=kcvs[1])
    assert 'key in force' in str(err.value) and OLD not in str(err.value)


@pytest.mark.parametrize('kind, kwargs', [('local_env', {}), ('local_file', {}), ('aws_kms', {'region': 'r'}), ('gpg', {})])
def test_incomplete_settings_are_refused(kind, kwargs):
    with pytest.raises(rk.RekeyError):
        rk.key_settings(kind, **kwargs)


def test_unknown_setting_and_missing_side_are_refused():
    with pytest.raises(rk.RekeyError, match='not a Looker key setting'):
        rk.rekey_environment({'LKR_SOMETHING': 'x'}, rk.key_settings('local_env', key=NEW))
    with pytest.raises(rk.RekeyError, match='old key and of the new key'):
        rk.rekey_environment({}, rk.key_settings('local_env', key=NEW))
    with pytest.raises(rk.RekeyError):
        rk.variable_name('LKR_MASTER_KEY_ENV', 'sideways')
