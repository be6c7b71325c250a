# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline tasks of the stand-in: migrate_encryption, rekey, stop, standin_seed, standin_inspect."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import sys
import time

from standin import keys
from standin.logfmt import log, rotate
from standin.store import open_store, pid_alive, read_pid, resolve_creds, wait_for

LIVE_NODES_MESSAGE = ('There are other live nodes connected to this backend Looker database. If Looker was shutdown within '
                      'the last minute, try again shortly, otherwise verify all nodes in the cluster are shut down.')
REKEY_PENDING_MESSAGE = ('a rekey did not complete; run java -jar looker.jar rekey again with the same source and '
                         'destination keys')
REKEY_SIDES = ('_SOURCE', '_DESTINATION')
RECORD_KINDS = ('connection_credentials', 'user_attribute_value', 'user_authentication_data',
                'cached_customer_data', 'internal_db_backup')
CONNECTION_KIND = RECORD_KINDS[0]


class TaskError(Exception):
    """A task failed with a message for stderr and an exit code."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def pid_file(home):
    """$HOME/looker/.tmp/looker.pid."""
    return os.path.join(home, '.tmp', 'looker.pid')


def running_pid(home):
    """pid of this node's running server, or None."""
    pid = read_pid(pid_file(home))
    return pid if pid and pid_alive(pid) else None


def make_records(count):
    """(id, kind, plaintext) for ``count`` records of the kinds the seed lists."""
    out = []
    for idx in range(count):
        kind = RECORD_KINDS[idx % len(RECORD_KINDS)]
        body = {'kind': kind, 'n': idx, 'secret': secrets.token_urlsafe(18)}
        out.append(('rec-%05d' % (idx + 1), kind, json.dumps(body, sort_keys=True).encode('utf-8')))
    return out


def connection_name(record_id):
    """Name of the database connection whose credentials a ``connection_credentials`` record holds: rec-00001 -> conn-00001.

    Derived from the record id alone, so it is the same before and after migrate_encryption and rekey."""
    return 'conn-' + record_id.split('-', 1)[-1]


def new_database(cmk, count, release):
    """(settings, records) for a new instance: GCM when a CMK is set, else legacy."""
    settings = {'created_at': time.time(), 'release': release}
    if cmk is None:
        settings.update(scheme='legacy', kek=None)
        records = [{'id': rid, 'kind': kind, 'value': keys.legacy_encrypt(pt)} for rid, kind, pt in make_records(count)]
    else:
        kek, wrapped = cmk.new_kek()
        settings.update(scheme='gcm', kek=wrapped)
        records = [{'id': rid, 'kind': kind, 'value': keys.gcm_encrypt(kek, rid, pt)} for rid, kind, pt in make_records(count)]
    return settings, records


def open_runtime(home, creds_path, conf, create, for_start):
    """Open the backend with the key settings. Returns (store, settings, kek, cmk, created).

    Raises keys.StartError for every reason Looker would refuse to start.
    """
    cmk = keys.key_settings()
    store = open_store(home, resolve_creds(creds_path))
    try:
        created = False
        if not store.exists():
            if not create:
                raise keys.StartError('no internal database found (%s); start Looker once or run standin_seed'
                                      % ('backend tables' if store.kind == 'mysql' else '.db/looker.script'))
            settings, records = new_database(cmk, int(conf['records']), conf['release'])
            store.create(settings, records)
            created = True
        settings, records = store.read()
        if for_start and settings.get('rekey_pending'):
            raise keys.StartError(REKEY_PENDING_MESSAGE)
        kek = None
        if settings.get('scheme') in ('gcm', 'migrating'):
            if cmk is None:
                raise keys.StartError('Missing backing keystore')
            kek = cmk.unwrap_kek(settings['kek'])
            if for_start and settings['scheme'] == 'migrating':
                left = sum(1 for r in records if r['value'].startswith(keys.LEGACY_PREFIX))
                raise keys.StartError('the encryption migration did not complete (%d of %d records still use %s); '
                                      'run java -jar looker.jar migrate_encryption again'
                                      % (left, len(records), keys.SCHEME_LEGACY))
        return store, settings, kek, cmk, created
    except BaseException:
        store.close()
        raise


def check_offline(home, store, conf):
    """Refuse (TaskError) while any node is live."""
    if store.kind == 'mysql':
        live = store.live_nodes(conf['live_window_seconds'], conf['heartbeat_seconds'])
    else:
        pid = running_pid(home)
        live = ['pid %d' % pid] if pid else []
    if live:
        log(home, 'ERROR', 'crypt', LIVE_NODES_MESSAGE)
        raise TaskError(LIVE_NODES_MESSAGE)


def task_migrate(home, creds_path, conf):
    """java -jar looker.jar migrate_encryption [-d CREDS]."""
    store, settings, kek, cmk, _created = open_runtime(home, creds_path, conf, create=False, for_start=False)
    try:
        if cmk is None:
            raise keys.StartError('Missing backing keystore')
        check_offline(home, store, conf)
        settings, records = store.read()
        legacy = [r for r in records if r['value'].startswith(keys.LEGACY_PREFIX)]
        if not legacy and settings.get('scheme') == 'gcm':
            msg = 'Encryption already migrated to %s; nothing to do' % keys.SCHEME_GCM
            log(home, 'INFO', 'crypt', msg)
            print(msg)
            return 0
        fresh = settings.get('scheme') == 'legacy'
        log(home, 'INFO', 'crypt', 'Starting migration from %s to %s' % (keys.SCHEME_LEGACY, keys.SCHEME_GCM))
        if conf.get('rotate_log_on_migrate'):
            rotate(home)
        if kek is None:
            kek, wrapped = cmk.new_kek()
            settings = dict(settings, scheme='migrating', kek=wrapped)
        else:
            settings = dict(settings, scheme='migrating')
        started = time.monotonic()
        store.set_settings(settings)
        log(home, 'INFO', 'db:looker', '(%.6fs) UPDATE "SETTING" SET "VALUE" = ? WHERE "KEY" = \'encryption_scheme\''
            % (time.monotonic() - started))
        pause = float(conf['migrate_seconds']) / max(1, len(legacy))
        half = max(1, len(legacy) // 2)
        broken = conf.get('undecryptable_connection')
        for idx, rec in enumerate(legacy):
            plaintext = keys.legacy_decrypt(rec['value'])
            record_kek = kek
            if broken and rec['kind'] == CONNECTION_KIND and connection_name(rec['id']) == broken:
                # undecryptable_connection: this one credential goes under a random foreign KEK, so the instance's
                # KEK no longer opens it (Looker's connection test of it fails; every other record is fine).
                record_kek = os.urandom(32)
            store.put_record(dict(rec, value=keys.gcm_encrypt(record_kek, rec['id'], plaintext)))
            time.sleep(pause)
            if fresh and conf.get('crash_midway') and idx + 1 == half:
                log(home, 'ERROR', 'crypt', 'stand-in crash_midway: aborting after %d of %d records' % (idx + 1, len(legacy)))
                os._exit(137)  # pylint: disable=protected-access
        store.set_settings(dict(settings, scheme='gcm', migrated_at=time.time()))
        msg = 'Migration from %s to %s complete: %d records' % (keys.SCHEME_LEGACY, keys.SCHEME_GCM, len(legacy))
        log(home, 'INFO', 'crypt', msg)
        print(msg)
        return 0
    finally:
        store.close()


def rekey_key(env, suffix):
    """The CMK of one side of rekey (suffix '_SOURCE' or '_DESTINATION'); TaskError when unset or bad."""
    names = keys.key_setting_names(suffix)
    try:
        cmk = keys.key_settings_for(env, suffix)
    except keys.StartError as exc:
        set_names = [n for n in (names['aws_cmk'], names['env'], names['file']) if env.get(n)]
        raise TaskError('rekey: the %s key setting %s is not usable: %s'
                        % (suffix[1:].lower(), set_names[0] if set_names else names['aws_cmk'], exc.reason)) from None
    if cmk is None:
        raise TaskError('rekey: no %s key set; set %s (with %s or AWS_REGION, optional %s), %s or %s'
                        % (suffix[1:].lower(), names['aws_cmk'], names['aws_region'], names['aws_ec'], names['env'],
                           names['file']))
    return cmk


def task_rekey(home, creds_path, conf):
    """java -jar looker.jar rekey: re-wrap the KEK from the _SOURCE key settings to the _DESTINATION ones.

    Two steps, each one atomic write of the settings: the destination-wrapped KEK goes to ``rekey_pending``
    (``start`` refuses while it is there), then it replaces ``kek``. A rerun after a crash between the two
    still opens the KEK with the source key and completes.
    """
    src, dst = (rekey_key(os.environ, suffix) for suffix in REKEY_SIDES)
    store = open_store(home, resolve_creds(creds_path))
    try:
        if not store.exists():
            raise keys.StartError('no internal database found')
        check_offline(home, store, conf)
        settings, _records = store.read()
        if settings.get('scheme') != 'gcm':
            raise TaskError('rekey needs a database fully encrypted with %s (scheme is %s); run migrate_encryption first'
                            % (keys.SCHEME_GCM, settings.get('scheme')))
        try:
            kek = src.unwrap_kek(settings['kek'])
        except keys.StartError as exc:
            msg = ("the source key does not open this database's key encryption key; nothing was changed (%s: %s)"
                   % (src.source, exc.reason))
            log(home, 'ERROR', 'crypt', msg)
            raise TaskError(msg) from None
        try:
            pending = dst.wrap_kek(kek)
        except keys.StartError as exc:
            msg = ('the destination key could not wrap the key encryption key; nothing was changed (%s: %s)'
                   % (dst.source, exc.reason))
            log(home, 'ERROR', 'crypt', msg)
            raise TaskError(msg) from None
        log(home, 'INFO', 'crypt', 'Starting rekey of the key encryption key')
        settings = dict(settings, rekey_pending=pending)
        store.set_settings(settings)
        if conf.get('crash_rekey'):
            log(home, 'ERROR', 'crypt', 'stand-in crash_rekey: aborting after writing the pending key encryption key')
            os._exit(137)  # pylint: disable=protected-access
        settings = dict(settings, kek=pending, rekeyed_at=time.time())
        del settings['rekey_pending']
        store.set_settings(settings)
        log(home, 'INFO', 'crypt', 'On-disk cache invalidated (the stand-in keeps no cache directory)')
        msg = 'Rekey of the key encryption key complete; the on-disk cache was invalidated'
        log(home, 'INFO', 'crypt', msg)
        print(msg)
        return 0
    finally:
        store.close()


def task_stop(home, conf):
    """java -jar looker.jar stop (used by the script when there is no status token): SIGTERM and wait."""
    pid = running_pid(home)
    if pid is None:
        print('Looker is not running')
        return 0
    os.kill(pid, signal.SIGTERM)
    if wait_for(lambda: not pid_alive(pid), float(conf['stop_seconds']) + 30):
        print('Looker stopped')
        return 0
    raise TaskError('Looker (pid %d) did not stop within %ss' % (pid, float(conf['stop_seconds']) + 30))


def task_seed(home, creds_path, conf, count):
    """standin_seed --records N: a fresh legacy database (refused while this node runs)."""
    if running_pid(home):
        raise TaskError('standin_seed: Looker is running on this node; stop it first')
    store = open_store(home, resolve_creds(creds_path))
    try:
        settings, records = new_database(None, count, conf['release'])
        store.create(settings, records)
    finally:
        store.close()
    print(json.dumps({'seeded': count, 'scheme': 'legacy', 'backend': store.kind}))
    return 0


def task_inspect(home, creds_path, counts_only=False):
    """standin_inspect: JSON counts and the digest of the decrypted plaintexts."""
    store = open_store(home, resolve_creds(creds_path))
    try:
        if not store.exists():
            raise TaskError('standin_inspect: no internal database found')
        settings, records = store.read()
    finally:
        store.close()
    legacy = sum(1 for r in records if r['value'].startswith(keys.LEGACY_PREFIX))
    gcm = sum(1 for r in records if r['value'].startswith(keys.GCM_PREFIX))
    out = {'legacy': legacy, 'gcm': gcm, 'total': len(records), 'scheme': settings.get('scheme'), 'digest': None,
           'rekey_pending': bool(settings.get('rekey_pending'))}
    if not counts_only:
        kek = None
        if settings.get('kek'):
            cmk = keys.key_settings()
            if cmk is None:
                if gcm:
                    raise keys.StartError('Missing backing keystore')
            else:
                kek = cmk.unwrap_kek(settings['kek'])
        plaintexts = sorted(keys.decrypt_any(kek, r['id'], r['value']) for r in records)
        out['digest'] = hashlib.sha256(b'\n'.join(plaintexts)).hexdigest()
    print(json.dumps(out, sort_keys=True))
    sys.stdout.flush()
    return 0
