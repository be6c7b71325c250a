# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names of a cluster's keys and files, defined once and used by the nodes' helpers and the controller alike."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.filter.preflight import FilterModule
from ansible_collections.lookerops.encryption.plugins.module_utils import _escrow_files, _key_material, _node_env
from ansible_collections.lookerops.encryption.plugins.module_utils._aws import kms as _aws_kms
from ansible_collections.lookerops.encryption.plugins.module_utils import _cluster_names as names


def test_kms_identity_with_and_without_a_context():
    assert names.kms_identity('eu-west-1', 'alias/looker') == 'kms:eu-west-1/alias/looker/Looker_Encryption_Context'
    assert names.kms_identity('eu-west-1', 'alias/looker', 'ctx') == 'kms:eu-west-1/alias/looker/ctx'
    assert names.kms_identity(None, None, '') == 'kms://Looker_Encryption_Context'


def test_one_definition_of_the_kms_names():
    assert _key_material.kms_identity is names.kms_identity
    assert _node_env.DEFAULT_AWS_CMK_EC == _aws_kms.LOOKER_DEFAULT_EC == names.DEFAULT_KMS_CONTEXT == 'Looker_Encryption_Context'


def test_the_escrow_files_beside_the_escrow_in_force():
    assert names.next_escrow_path('/e/c-cmk.vault') == '/e/c-cmk-next.vault'
    assert names.next_escrow_path('/e/key') == '/e/key-next.vault'
    assert names.default_escrow_path('c1') == '~/.lookerops/escrow/c1-cmk.vault'
    assert _escrow_files.next_path is names.next_escrow_path
    assert _escrow_files.retired_path('/e/c-cmk.vault', 'kcv1:0123456789abcdef') == '/e/c-cmk-retired-0123456789abcdef.vault'


def test_the_files_beside_the_looker_home():
    assert names.lock_path('/home/looker/looker') == '/home/looker/.lookerops-run.lock'
    assert names.rekey_state_path('/home/looker/looker') == '/home/looker/.lookerops-rekey.json'
    assert FilterModule().filters()['rekey_state_path'] is names.rekey_state_path


def test_the_cluster_id():
    assert names.cluster_id('prod/eu 1', {'host': 'db'}, 'n1') == 'prod_eu_1'
    assert names.cluster_id('', {'host': 'db', 'port': 3307, 'database': 'lk'}, 'n1') == 'db-3307-lk'
    assert names.cluster_id('', {'host': 'db'}, 'n1') == 'db-3306-looker'
    assert names.cluster_id('', {'host': ''}, 'n1') == 'n1'
    assert names.cluster_id(None, None, 'node one') == 'node_one'
