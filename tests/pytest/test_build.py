# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built collection: ``ansible-galaxy collection build`` of this checkout holds what users run and read, and no tests or
development files (galaxy.yml ``build_ignore``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _ansible_galaxy():
    for candidate in (os.path.dirname(os.environ.get('LOOKEROPS_PYTHON', '')), os.path.join(REPO, '.venv', 'bin'),
                      os.path.dirname(sys.executable)):
        path = os.path.join(candidate, 'ansible-galaxy')
        if candidate and os.access(path, os.X_OK):
            return path
    raise RuntimeError('ansible-galaxy not found in the checkout\'s .venv/bin nor beside %s; run tests/scripts/setup.sh' % sys.executable)


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """Names in the tarball built from this checkout as it is (untracked files included, as a maintainer's build would)."""
    out = tmp_path_factory.mktemp('build')
    env = dict(os.environ, LC_ALL='C.UTF-8', ANSIBLE_LOCAL_TEMP=str(out / 'ansible-tmp'))
    proc = subprocess.run([_ansible_galaxy(), 'collection', 'build', REPO, '--output-path', str(out)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tarballs = [name for name in os.listdir(out) if name.endswith('.tar.gz')]
    assert len(tarballs) == 1, tarballs
    with tarfile.open(out / tarballs[0]) as archive:
        return sorted(member.name.rstrip('/') for member in archive.getmembers())


def _tracked(prefix):
    """Files git tracks under ``prefix`` (what the repository ships for users there)."""
    proc = subprocess.run(['git', '-C', REPO, 'ls-files', '--', prefix], capture_output=True, text=True, check=True)
    return proc.stdout.splitlines()


@pytest.mark.parametrize('prefix', ['plugins', 'roles', 'playbooks', 'meta', 'extensions/awx', 'docs/docsite'])
def test_everything_users_run_is_in_the_build(built, prefix):
    tracked = _tracked(prefix)
    assert tracked, prefix
    missing = sorted(set(tracked) - set(built))
    assert not missing, 'tracked files missing from the built collection: %s' % missing


def test_user_documents_are_in_the_build(built):
    for name in ('README.md', 'CHANGELOG.rst', 'LICENSE', 'docs/operator-guide.md', 'docs/aws.md', 'docs/awx.md', 'docs/iam-policy.json',
                 'docs/docsite/extra-docs.yml', 'docs/docsite/links.yml', 'changelogs/changelog.yaml', 'requirements.txt', 'bindep.txt',
                 'MANIFEST.json', 'FILES.json'):
        assert name in built, name


def test_the_awx_guide_ships_what_it_names(built):
    # docs/awx.md walks an AWX administrator through extensions/awx/ of the installed collection.
    for name in ('extensions/awx/execution-environment.yml', 'extensions/awx/setup.yml', 'extensions/awx/setup_object.yml',
                 'extensions/awx/job_templates.yml', 'extensions/awx/credential_types/lookerops_cmk.yml',
                 'extensions/awx/credential_types/lookerops_escrow_vault_password.yml', 'extensions/awx/surveys/migrate.json',
                 'extensions/awx/project/lookerops_migrate.yml'):
        assert name in built, name


def test_shipped_documents_point_only_at_shipped_files(built):
    # A repository path that the README or a guide of docs/ names in backticks is in the tarball: a reader of the installed
    # collection finds it. Files the tarball leaves out are named only in a section that gives the source repository's
    # address (galaxy.yml's repository) with them.
    with open(os.path.join(REPO, 'galaxy.yml'), encoding='utf-8') as handle:
        repository = re.search(r'^repository:\s*(\S+)', handle.read(), re.M).group(1)
    shipped = set(built)
    dirs = set(name.rsplit('/', 1)[0] for name in built if '/' in name)
    tops = ('tests', 'extensions', 'docs', 'plugins', 'roles', 'playbooks', 'meta', 'changelogs')
    found = []
    for doc in [name for name in built if name == 'README.md' or (name.startswith('docs/') and name.endswith(('.md', '.rst')))]:
        with open(os.path.join(REPO, doc), encoding='utf-8') as handle:
            text = handle.read()
        for section in re.split(r'^(?=#+ |\S.*\n[=^~-]{3,}$)', text, flags=re.M):
            if repository in section:
                continue
            for path in re.findall(r'`+([A-Za-z0-9_.-]+/[A-Za-z0-9_./-]*)`+', section):
                path = path.rstrip('/')
                if path.split('/', 1)[0] in tops and path not in shipped and path not in dirs:
                    found.append('%s: %s' % (doc, path))
    assert not found, 'shipped documents name files the built collection leaves out: %s' % found


@pytest.mark.parametrize('excluded', ['tests', '.venv', '.venv-floor', '.venv-docs', '.git', '.ci', '.ansible', '.pytest_cache',
                                      'extensions/molecule', 'changelogs/fragments', 'docs/design.md'])
def test_tests_and_development_files_stay_out(built, excluded):
    found = [name for name in built if name == excluded or name.startswith(excluded + '/')]
    assert not found, 'the built collection holds %s' % found[:10]


def test_nothing_but_the_collection_layout_is_in_the_build(built):
    top = sorted(set(name.split('/', 1)[0] for name in built))
    assert top == ['CHANGELOG.rst', 'FILES.json', 'LICENSE', 'MANIFEST.json', 'README.md', 'bindep.txt', 'changelogs', 'docs', 'extensions',
                   'meta', 'playbooks', 'plugins', 'requirements.txt', 'roles'], top
    assert sorted(set(name.split('/')[1] for name in built if name.startswith('extensions/'))) == ['awx']
