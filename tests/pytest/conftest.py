# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pytest fixtures: the multi-host test bed.

- ``bed_factory`` (session): ``bed_factory(name='pytest', **Bed kwargs)`` returns that bed, up.
  Only one bed can be up at a time (fixed addresses), so asking for another one tears the
  current one down first. Every bed it made is torn down at the end of the session, also when
  tests fail or the run is interrupted.
- ``bed`` : the default bed (3 cluster nodes, name ``pytest``), brought up once per session and
  re-checked with the idempotent ``up()`` (about 0.15 s) for each test that uses it, so a test
  that used ``bed_factory`` for another topology does not break later tests.

Beds are exclusive per machine: the factory holds /tmp/lookerops-bed/.pytest.lock for the whole
session, so parallel pytest processes (xdist workers) that use the bed wait for each other.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time

import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

from bed import Bed  # noqa: E402  pylint: disable=wrong-import-position

DEFAULT_BED = {'name': 'pytest', 'nodes': 3, 'cluster': True}
LOCK_PATH = '/tmp/lookerops-bed/.pytest.lock'
LOCK_TIMEOUT = 3600


class BedFactory:
    """Creates beds on demand, one up at a time; downs them all at the end."""

    def __init__(self):
        self.beds = {}
        self.current = None
        self._lock = None

    def _acquire(self):
        if self._lock is not None:
            return
        os.makedirs(os.path.dirname(LOCK_PATH), mode=0o755, exist_ok=True)
        handle = open(LOCK_PATH, 'a+', encoding='ascii')  # pylint: disable=consider-using-with
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() > deadline:
                    handle.close()
                    raise RuntimeError('another pytest session holds the test bed (%s) for over %ss'
                                       % (LOCK_PATH, LOCK_TIMEOUT)) from exc
                time.sleep(0.5)
        self._lock = handle

    def __call__(self, name=DEFAULT_BED['name'], **kwargs):
        self._acquire()
        if self.current is not None and self.current.name != name:
            self.current.down()
            self.current = None
        bed = self.beds.get(name)
        if bed is None:
            bed = Bed(name=name, **kwargs)
            bed.down()  # leftovers of an earlier, killed session
            self.beds[name] = bed
        self.current = bed
        try:
            bed.up()
        except BaseException:
            bed.down()
            raise
        return bed

    def hold(self):
        """Hold the machine-wide bed lock without touching the beds: for tests that run Looker tasks on this host
        (the nodes' host-wide scan for running Looker tasks would see them)."""
        self._acquire()

    def exclusive(self):
        """Hold the machine-wide bed lock and down the current bed, for tests that make beds of their own."""
        self._acquire()
        if self.current is not None:
            self.current.down()
            self.current = None

    def close(self):
        """Down every bed made in this session (errors are collected and raised at the end)."""
        errors = []
        for bed in self.beds.values():
            try:
                bed.down()
            except Exception as exc:  # pylint: disable=broad-except
                errors.append('%s: %s' % (bed.name, exc))
        self.beds = {}
        self.current = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if errors:
            raise RuntimeError('bed teardown failed: ' + '; '.join(errors))


def pytest_configure(config):
    """The long tier: tests marked ``full`` run under ``tests/scripts/test.sh --full``; the gate deselects them."""
    config.addinivalue_line('markers', 'full: long tier (fault rows, further topologies, refusals the gate proves once); '
                                       'runs under tests/scripts/test.sh --full')


# tests/scripts/test.sh runs the tests that need no bed (HOST_LANE) in a second pytest beside the bed's: the bed's
# end-to-end runs leave most of a core idle. Only tests that start no Looker task process on this host belong there (the
# nodes share the host's process table, and their scan for running Looker tasks would see them).
HOST_LANE = ('test_awx_extensions.py', 'test_aws_modules.py', 'test_backup_mysql.py', 'test_build.py', 'test_collection_meta.py',
             'test_escrow_group.py', 'test_key_playbooks.py', 'test_key_replacements.py', 'test_playbook_decisions.py',
             'test_report_failure.py', 'test_run_record.py')


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    """``LOOKEROPS_PYTEST_LANE=host`` keeps the HOST_LANE files, ``bed`` the others (unset: every test)."""
    lane = os.environ.get('LOOKEROPS_PYTEST_LANE')
    if lane not in ('host', 'bed'):
        return
    keep = [item for item in items if (os.path.basename(str(item.fspath)) in HOST_LANE) == (lane == 'host')]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep


@pytest.fixture(scope='session')
def bed_factory():
    """Session-wide bed factory; tears every bed down at the end, even on failure."""
    if os.environ.get('LOOKEROPS_PYTEST_LANE') == 'host':
        pytest.fail('this test uses the bed: it cannot run in the host lane (remove its file from HOST_LANE in conftest.py)')
    factory = BedFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def bed(bed_factory):  # pylint: disable=redefined-outer-name
    """The default 3-node cluster bed (up once per session, idempotent up() per test)."""
    return bed_factory(**DEFAULT_BED)
