# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end on the bed: faults of the field that a run must survive or refuse before it changes anything."""

from __future__ import annotations

import pytest

from e2e.runner import Controller, run_playbook
from test_e2e_migrate import CLUSTER, SINGLE, all_alive, fences, fresh

# Faults of the field beyond the fault matrix rows the gate runs: the long tier.
pytestmark = pytest.mark.full


def test_nodes_sharing_one_backup_filesystem_must_fit_together(bed_factory, tmp_path):
    # 100 MiB shared by three nodes: each node's backup (estimate plus the 64 MiB margin) fits alone, not all three.
    bed = fresh(bed_factory, dict(CLUSTER, name='e2e-sharedfs', shared_backup_fs=True, backup_fs_mb=100))
    before = bed.inspect()
    free = bed.backup_fs_free(bed.nodes[0])
    assert free == bed.backup_fs_free(bed.nodes[2]), 'the bed did not share the backup filesystem'
    proc = run_playbook(bed, 'migrate', Controller(str(tmp_path / 'c')))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'looker1, looker2, looker3 write their backups to one shared filesystem' in out, out[-5000:]
    assert bed.inspect() == before and all(all_alive(bed).values()) and not any(fences(bed).values())
    assert bed.backup_fs_free(bed.nodes[0]) == free, 'something was left on the backup filesystem'


def test_a_node_clock_ten_minutes_off_does_not_hide_the_evidence(bed_factory, tmp_path):
    bed = fresh(bed_factory, dict(SINGLE, name='e2e-clock'))
    # The node's clock is 10 minutes behind the controller's: every line Looker logs is stamped 10 minutes early.
    bed.set_standin(None, clock_offset_seconds=-600)
    before = bed.inspect()
    proc = run_playbook(bed, 'migrate', Controller(str(tmp_path / 'c')))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert 'evidence: ' in out and 'Starting migration from AES-128-CBC Legacy to AES-GCM-256' in out
    after = bed.inspect()
    assert after['legacy'] == 0 and after['digest'] == before['digest']
