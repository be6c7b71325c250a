# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _api_proof: one case per branch of the verdict on Looker's connection tests before and after."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.filter import api_proof as api_proof_filter
from ansible_collections.lookerops.encryption.plugins.plugin_utils._api_proof import api_proof, api_proof_result


def result(release='25.6.1', **connections):
    return {'configured': True, 'release': release,
            'connections': [{'name': n, 'ok': ok, 'message': 'Can connect' if ok else 'Cannot decrypt %s' % n}
                            for n, ok in sorted(connections.items())]}


def test_not_configured_is_skipped_and_says_how_to_configure():
    out = api_proof({'configured': False}, None, 'run1')
    assert out['status'] == 'skipped' and out['tested'] == 0 and out['msg'] == ''
    assert 'skipped' in out['text'] and 'lookerops_api_client_id' in out['text']
    assert api_proof(None)['status'] == 'skipped'


def test_before_only_counts_what_passed():
    out = api_proof(result(a=True, b=False, c=True))
    assert out['status'] == 'before' and out['tested'] == 3 and out['failing_before'] == ['b']
    assert out['text'] == 'Looker API proof: connections: 3 tested before the stop, 2 pass'


def test_every_connection_passes_before_and_after():
    out = api_proof(result(a=True, b=True), result(release='25.6.1', a=True, b=True), 'run1')
    assert out['status'] == 'pass' and out['pass_both'] == 2 and out['broken'] == [] and out['msg'] == ''
    assert out['text'] == 'Looker API proof: connections: 2 tested, 2 pass before and after'
    assert out['release_before'] == out['release_after'] == '25.6.1'


def test_a_connection_that_passed_before_and_fails_after_fails_the_run_with_its_name_and_the_rollback():
    out = api_proof(result(a=True, b=True), result(a=True, b=False), 'run-42')
    assert out['status'] == 'fail' and out['pass_both'] == 1
    assert out['broken'] == [{'name': 'b', 'message': 'Cannot decrypt b'}]
    assert 'for b, which passed before the stop: b: Cannot decrypt b' in out['msg']
    assert 'lookerops.encryption.rollback -e lookerops_run_id=run-42 -e lookerops_rollback_discard_changes_since_run=true' in out['msg']
    assert 'the legacy scheme' in out['msg'] and 'FAIL after the start: b' in out['text']


def test_a_rekey_rolls_back_to_the_old_key():
    out = api_proof(result(a=True), result(a=False), 'r', job='rekey')
    assert out['status'] == 'fail' and 'roll back to the old key' in out['msg']


def test_a_connection_gone_after_the_start_fails_the_run():
    out = api_proof(result(a=True, b=True), result(a=True), 'run1')
    assert out['status'] == 'fail' and out['broken'] == [{'name': 'b', 'message': 'not listed by Looker after the start'}]


def test_a_connection_that_failed_before_is_reported_not_held_against_the_run():
    out = api_proof(result(a=True, b=False), result(a=True, b=False), 'run1')
    assert out['status'] == 'pass' and out['failing_before'] == ['b'] and out['pass_both'] == 1
    assert "1 failed already before the stop (not this run's doing): b" in out['text']


def test_the_filter_is_exposed():
    assert api_proof_filter.FilterModule().filters()['api_proof'] is api_proof


def test_the_record_keeps_only_what_the_report_needs():
    registered = {'changed': False, 'configured': True, 'base_url': 'https://l:19999', 'release': '25.6.1',
                  'invocation': {'module_args': {'client_secret': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'}},
                  'connections': [{'name': 'a', 'ok': True, 'message': 'Can connect', 'extra': 1}]}
    assert api_proof_result(registered) == {'configured': True, 'base_url': 'https://l:19999', 'release': '25.6.1',
                                            'connections': [{'name': 'a', 'ok': True, 'message': 'Can connect'}]}


def test_not_configured_records_no_reason_and_a_skipped_task_records_why():
    assert api_proof_result({'changed': False, 'configured': False}) == {'configured': False, 'reason': ''}
    skipped = api_proof_result({'skipped': True, 'changed': False})
    assert skipped['configured'] is False and 'not running before the stop' in skipped['reason']
    assert api_proof(skipped, result(a=True))['text'].startswith('Looker API proof: skipped (Looker was not running')


def test_check_lines_say_pass_or_fail_with_lookers_message():
    lines = api_proof_filter.FilterModule().filters()['api_check_lines'](result(a=True, b=False)['connections'])
    assert lines == ['a: pass', 'b: FAIL (Cannot decrypt b)']
    assert api_proof_filter.FilterModule().filters()['api_check_lines'](None) == []


def test_due_after_the_start_always_and_before_the_stop_only_when_looker_runs():
    due = api_proof_filter.FilterModule().filters()['api_proof_due']
    assert due('after', []) is True and due('after', [False]) is True
    assert due('before', [False, True]) is True
    assert due('before', [False, False]) is False and due('before', None) is False


def test_text_of_a_run_record():
    text = api_proof_filter.FilterModule().filters()['api_proof_text']
    assert text({'job': 'migrate', 'run_id': 'r'}) == '' and text(None) == ''
    run = {'job': 'migrate', 'run_id': 'r', 'api_proof': {'before': result(a=True), 'after': result(a=True)}}
    assert text(run) == 'Looker API proof: connections: 1 tested, 1 pass before and after'
    assert text({'api_proof': {'before': result(a=True)}}) == 'Looker API proof: connections: 1 tested before the stop, 1 pass'
