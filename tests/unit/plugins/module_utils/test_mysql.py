# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _mysql: option group, credentials sources, error messages, the client runs (with stand-in programs)."""

from __future__ import annotations

import io
import os
import tempfile

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import client as mysql_client
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import config as mysql_config
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import flat_yaml as mysql_flat_yaml
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import server as mysql_server

CREDS = '''# Looker backend
dialect: mysql
host: db.example.internal
username: looker
password: "p#ss: 'w\\"rd"
database: looker_prod
port: 3307
ssl: true
'''


@pytest.mark.parametrize('use_yaml', [True, False])
def test_creds_file_yaml_and_fallback_parser(tmp_path, use_yaml):
    path = tmp_path / 'creds.yml'
    path.write_text(CREDS)
    cfg = mysql_config.BackendConfig.from_params({'creds_file': str(path), 'connect_timeout': 10}, use_yaml=use_yaml)
    assert (cfg.host, cfg.port, cfg.user, cfg.password, cfg.database, cfg.ssl) == (
        'db.example.internal', 3307, 'looker', 'p#ss: \'w"rd', 'looker_prod', True)
    assert cfg.sources == ['creds_file']


def test_fallback_parser_plain_values_and_comments():
    data = mysql_flat_yaml.parse_flat_yaml("host: h1 # comment\nport: 3306\npassword: a#b\nssl: false\nquoted: 'it''s'\n")
    assert data == {'host': 'h1', 'port': 3306, 'password': 'a#b', 'ssl': False, 'quoted': "it's"}
    with pytest.raises(ValueError):
        mysql_flat_yaml.parse_flat_yaml('a:\n  nested: 1\n')


def test_explicit_options_override_file(tmp_path):
    path = tmp_path / 'creds.yml'
    path.write_text(CREDS)
    cfg = mysql_config.BackendConfig.from_params({'creds_file': str(path), 'host': '127.0.0.1', 'port': 3306, 'password': 'x',
                                                  'ssl': False, 'connect_timeout': 3})
    assert (cfg.host, cfg.port, cfg.user, cfg.password, cfg.ssl, cfg.connect_timeout) == ('127.0.0.1', 3306, 'looker', 'x', False, 3)
    assert cfg.sources == ['creds_file', 'options']


def test_looker_db_format_and_defaults():
    cfg = mysql_config.BackendConfig.from_params({'looker_db': 'dialect=mysql&host=h&username=u&password=p%26q&database=d&port=3310'})
    assert (cfg.host, cfg.port, cfg.user, cfg.password, cfg.database) == ('h', 3310, 'u', 'p&q', 'd')
    cfg = mysql_config.BackendConfig.from_params({'host': 'h', 'user': 'u'})
    assert (cfg.port, cfg.database, cfg.ssl, cfg.connect_timeout) == (3306, 'looker', False, 10)


def test_wrong_dialect_and_incomplete():
    with pytest.raises(mysql_config.BackendError, match='dialect'):
        mysql_config.BackendConfig.from_params({'looker_db': 'dialect=hsqldb&host=h'})
    with pytest.raises(mysql_config.BackendError, match='no host'):
        mysql_config.BackendConfig.from_params({'user': 'u'})


def test_bad_creds_file_message_has_no_secret(tmp_path):
    path = tmp_path / 'creds.yml'
    path.write_text('password: "s3cr3t-unterminated\nhost: [\n')
    with pytest.raises(mysql_config.BackendError) as err:
        mysql_config.BackendConfig.from_params({'creds_file': str(path)})
    assert 's3cr3t' not in str(err.value) and str(path) in str(err.value)
    with pytest.raises(mysql_config.BackendError, match='cannot read'):
        mysql_config.BackendConfig.from_params({'creds_file': str(tmp_path / 'missing.yml')})


def test_argument_spec_shape():
    spec = mysql_config.backend_argument_spec()
    opts = spec['backend']['options']
    assert spec['backend']['type'] == 'dict'
    assert opts['password']['no_log'] and opts['looker_db']['no_log']
    assert 'default' not in opts['port'] and opts['connect_timeout']['default'] == 10
    assert set(opts) == {'creds_file', 'looker_db', 'host', 'port', 'user', 'password', 'database', 'ssl', 'ssl_ca',
                         'connect_timeout', 'tools_dir', 'looker_home', 'looker_user'}


class _FakeError(Exception):
    pass


@pytest.mark.parametrize('code, hint', [(1045, 'user/password'), (2003, 'host/port'), (1049, 'database'), (9999, 'server log')])
def test_describe_error_names_endpoint_code_and_hides_password(code, hint):
    cfg = mysql_config.BackendConfig(host='db1', port=3307, user='looker', password='hunter2', database='looker')
    msg = mysql_server.describe_error(_FakeError(code, "Access denied (password 'hunter2')"), cfg)
    assert 'db1:3307' in msg and "user 'looker'" in msg and str(code) in msg and hint in msg
    assert 'hunter2' not in msg


def test_config_repr_leaves_the_password_out():
    cfg = mysql_config.BackendConfig(host='db1', user='looker', password='hunter2')
    assert 'hunter2' not in repr(cfg) and "host='db1'" in repr(cfg)
    assert cfg.sources == [] and mysql_config.BackendConfig(host='db1', sources=None).sources == []


def test_connect_error_is_mapped():
    cfg = mysql_config.BackendConfig(host='127.0.0.1', port=1, user='looker', password='pw', database='looker', connect_timeout=2)
    with pytest.raises(mysql_config.BackendError, match='127.0.0.1:1.*2003'):
        with mysql_server.connect(cfg):
            pass


def test_missing_pymysql_message(monkeypatch):
    monkeypatch.setattr(mysql_server, 'HAS_PYMYSQL', False)
    with pytest.raises(mysql_config.BackendError, match='python3-pymysql'):
        with mysql_server.connect(mysql_config.BackendConfig(host='h', user='u')):
            pass


@pytest.mark.parametrize('host, client', [('10.0.0.5:51234', '10.0.0.5'), ('[::1]:3306', '::1'), ('::1:5555', '::1'),
                                          ('localhost', 'localhost')])
def test_split_host(host, client):
    assert mysql_server._split_host(host) == client  # pylint: disable=protected-access


def _fake_tool(directory, name, body, version='mariadb-dump  Ver 10.19 Distrib 10.11.6-MariaDB, for debian-linux-gnu'):
    """A stand-in client program: prints ``version`` for --version, else runs the shell ``body``."""
    path = directory / name
    path.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo "%s"; exit 0; fi\n%s\n' % (version, body), encoding='utf-8')
    path.chmod(0o755)
    return str(path)


def _cfg(tools_dir=None, password='pa"ss\\wo rd\n#x'):
    return mysql_config.BackendConfig(host='db1', port=3307, user='looker', password=password, database='looker_db',
                                      tools_dir=tools_dir)


def test_argument_spec_lists_tools_dir_and_looker_home():
    opts = mysql_config.backend_argument_spec()['backend']['options']
    assert opts['tools_dir']['type'] == 'path' and opts['looker_home']['type'] == 'path'
    assert opts['looker_user']['default'] == 'looker'


def test_option_file_quotes_every_special_character():
    tool = mysql_client.ClientTool('/usr/bin/mariadb-dump', 'mariadb-dump  Ver 10.19 Distrib 10.11.6-MariaDB')
    text = mysql_client.option_file_text(_cfg(), tool)
    assert text.startswith('[client]\n')
    assert 'password="pa\\"ss\\\\wo rd\\n#x"\n' in text
    assert 'host="db1"' in text and 'port=3307' in text and 'protocol=TCP' in text
    ssl_cfg = mysql_config.BackendConfig(host='h', user='u', ssl=True, ssl_ca='/ca.pem')
    assert 'ssl-verify-server-cert' in mysql_client.option_file_text(ssl_cfg, tool)
    mysql_tool = mysql_client.ClientTool('/usr/bin/mysqldump', 'mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)')
    assert mysql_tool.flavor == 'mysql' and mysql_tool.version == '8.0.36'
    assert 'ssl-mode=VERIFY_IDENTITY' in mysql_client.option_file_text(ssl_cfg, mysql_tool)


def test_dump_options_per_flavor():
    maria = mysql_client.ClientTool('/usr/bin/mariadb-dump', 'mariadb-dump  Ver 10.19 Distrib 10.11.6-MariaDB')
    mysql = mysql_client.ClientTool('/usr/bin/mysqldump', 'mysqldump  Ver 8.0.36 for Linux on x86_64')
    for opts in (mysql_client.dump_options(maria, '10.11.6-MariaDB'), mysql_client.dump_options(mysql, '8.0.36')):
        for opt in ('--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--tz-utc',
                    '--default-character-set=utf8mb4', '--no-tablespaces'):
            assert opt in opts
    assert '--set-gtid-purged=OFF' in mysql_client.dump_options(mysql, '8.0.36')
    assert '--column-statistics=0' not in mysql_client.dump_options(mysql, '8.0.36')
    assert '--column-statistics=0' in mysql_client.dump_options(mysql, '10.11.6-MariaDB')
    assert not [o for o in mysql_client.dump_options(maria, '10.11.6-MariaDB') if 'gtid' in o or 'column-statistics' in o]


def test_find_tool_prefers_the_servers_flavor_and_names_the_package(tmp_path):
    _fake_tool(tmp_path, 'mariadb-dump', 'exit 0')
    _fake_tool(tmp_path, 'mysqldump', 'exit 0', version='mysqldump  Ver 8.0.36 for Linux on x86_64')
    assert mysql_client.find_tool('dump', str(tmp_path), '10.11.6-MariaDB').path.endswith('/mariadb-dump')
    assert mysql_client.find_tool('dump', str(tmp_path), '8.0.36').path.endswith('/mysqldump')
    with pytest.raises(mysql_config.BackendError) as err:
        mysql_client.find_tool('client', str(tmp_path / 'missing'))
    assert 'mariadb-client' in str(err.value) and 'lookerops_backend_tools_dir' in str(err.value)
    assert 'lookerops_backend_backup=none' in str(err.value)


def _private_dirs():
    return sorted(n for n in os.listdir(tempfile.gettempdir()) if n.startswith('lookerops-mysql-'))


@pytest.fixture
def own_tmp(tmp_path, monkeypatch):
    """A temporary directory of this test's own: the unit tests run in parallel workers, and another worker's
    option-file directory in the shared /tmp must not count as one this test left behind."""
    own = tmp_path / 'tmp'
    own.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(own))
    return own


def test_credentials_only_in_a_private_option_file_that_is_removed(tmp_path, own_tmp):  # pylint: disable=unused-argument
    seen = tmp_path / 'seen'
    body = ('opt="${1#--defaults-extra-file=}"; echo "argv: $*" > %s; stat -c "%%a" "$opt" "$(dirname "$opt")" >> %s; '
            'env >> %s; cat "$opt" >> %s\n'
            'printf -- "-- MariaDB dump 10.19\\nCREATE TABLE t (a int);\\n-- Dump completed on 2026-01-01\\n"') % (seen, seen, seen, seen)
    _fake_tool(tmp_path, 'mariadb-dump', body)
    cfg = _cfg(str(tmp_path))
    before = _private_dirs()
    out = io.BytesIO()
    res = mysql_client.run_dump(cfg, out, server_version='10.11.6-MariaDB')
    assert res.complete() and out.getvalue().startswith(b'-- MariaDB dump')
    text = seen.read_text(encoding='utf-8')
    argv_line, modes = text.splitlines()[0], text.splitlines()[1:3]
    assert modes == ['600', '700']
    assert 'pa"ss' not in argv_line and argv_line.endswith('-- looker_db')
    env_part = text.split('[client]')[0]
    assert 'pa"ss' not in env_part and 'MYSQL_PWD' not in env_part
    assert 'password="pa\\"ss' in text.split('[client]')[1]
    assert _private_dirs() == before


@pytest.mark.parametrize('body, match', [
    ('printf -- "-- MariaDB dump 10.19\\nINSERT INTO t VALUES (1);\\n"; echo "mariadb-dump: Got error: 1044: Access denied '
     'for user \'looker\'@\'%%\' to database \'looker_db\' when using LOCK TABLES" >&2; exit 2', 'GRANT|privileges'),
    ('printf -- "-- MariaDB dump 10.19\\nINSERT INTO t VALUES (1);\\n"; exit 0', 'Dump completed'),
    ('printf -- "-- MariaDB dump 10.19\\n"; echo "mariadb-dump: Error 2020: Got packet bigger than '
     '\'max_allowed_packet\' bytes when dumping table" >&2; exit 3', 'max_allowed_packet'),
    ('echo "mariadb-dump: Couldn\'t execute \'show events\': Access denied for user (1044)" >&2; exit 2', 'EVENT privilege'),
    ('echo "mariadb-dump: Lock wait timeout exceeded; try restarting transaction (1205)" >&2; exit 2', 'stop every node'),
    ('kill -9 $$', 'signal 9'),
])
def test_failed_or_truncated_dump_is_an_error_and_leaves_nothing(tmp_path, body, match, own_tmp):  # pylint: disable=unused-argument
    _fake_tool(tmp_path, 'mariadb-dump', body)
    before = _private_dirs()
    with pytest.raises(mysql_config.BackendError, match=match) as err:
        mysql_client.run_dump(_cfg(str(tmp_path)), io.BytesIO(), server_version='10.11.6-MariaDB')
    assert 'pa"ss' not in str(err.value) and 'db1:3307' in str(err.value)
    assert _private_dirs() == before


def test_restore_client_failure_is_mapped(tmp_path):
    body = ('cat > /dev/null; echo "ERROR 1227 (42000) at line 40: Access denied; you need (at least '
            'one of) the SUPER, SET USER privilege(s) for this operation" >&2; exit 1')
    _fake_tool(tmp_path, 'mariadb', body, version='mariadb  Ver 15.1 Distrib 10.11.6-MariaDB')
    with pytest.raises(mysql_config.BackendError, match='SET_USER_ID|SUPER') as err:
        mysql_client.run_restore(_cfg(str(tmp_path)), io.BytesIO(b'-- MariaDB dump\nSELECT 1;\n' * 10000), server_version='10.11.6-MariaDB')
    assert 'partly restored' in str(err.value)


def test_backend_summary_modes(tmp_path):
    path = tmp_path / 'creds.yml'
    path.write_text(CREDS, encoding='utf-8')
    out = mysql_config.backend_summary(creds_file=str(path))
    assert out['mode'] == 'mysql_creds_file' and out['host'] == 'db.example.internal' and out['port'] == 3307
    assert out['database'] == 'looker_prod' and out['source'] == str(path) and 'password' not in out
    out = mysql_config.backend_summary(looker_db='dialect=mysql&host=h&username=u&password=secret&database=d2&port=3310')
    assert out == {'mode': 'looker_db_env', 'host': 'h', 'port': 3310, 'database': 'd2', 'user': 'u', 'source': 'LOOKER_DB',
                   'error': None, 'ssl': False}
    assert mysql_config.backend_summary()['mode'] == 'internal'
    bad = mysql_config.backend_summary(creds_file=str(tmp_path / 'missing.yml'))
    assert bad['mode'] == 'mysql_creds_file' and 'cannot read' in bad['error']


def test_looker_home_reads_looker_db_through_the_reader():
    calls = []

    def reader(home, user):
        calls.append((home, user))
        return 'dialect=mysql&host=h&username=u&password=p&database=d&port=3306'

    cfg = mysql_config.BackendConfig.from_params({'looker_home': '/home/looker/looker', 'looker_user': 'looker'}, read_looker_db=reader)
    assert (cfg.host, cfg.database, cfg.password) == ('h', 'd', 'p') and calls == [('/home/looker/looker', 'looker')]
    with pytest.raises(mysql_config.BackendError, match='no LOOKER_DB'):
        mysql_config.BackendConfig.from_params({'looker_home': '/x'}, read_looker_db=lambda h, u: None)
