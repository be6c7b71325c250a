# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _mysql: option group, credentials sources, error messages, dump statement splitting."""

from __future__ import annotations

import io

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils import _mysql as my

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
    cfg = my.BackendConfig.from_params({'creds_file': str(path), 'connect_timeout': 10}, use_yaml=use_yaml)
    assert (cfg.host, cfg.port, cfg.user, cfg.password, cfg.database, cfg.ssl) == (
        'db.example.internal', 3307, 'looker', 'p#ss: \'w"rd', 'looker_prod', True)
    assert cfg.sources == ['creds_file']


def test_fallback_parser_plain_values_and_comments():
    data = my.parse_flat_yaml("host: h1 # comment\nport: 3306\npassword: a#b\nssl: false\nquoted: 'it''s'\n")
    assert data == {'host': 'h1', 'port': 3306, 'password': 'a#b', 'ssl': False, 'quoted': "it's"}
    with pytest.raises(ValueError):
        my.parse_flat_yaml('a:\n  nested: 1\n')


def test_explicit_options_override_file(tmp_path):
    path = tmp_path / 'creds.yml'
    path.write_text(CREDS)
    cfg = my.BackendConfig.from_params({'creds_file': str(path), 'host': '127.0.0.1', 'port': 3306, 'password': 'x',
                                        'ssl': False, 'connect_timeout': 3})
    assert (cfg.host, cfg.port, cfg.user, cfg.password, cfg.ssl, cfg.connect_timeout) == ('127.0.0.1', 3306, 'looker', 'x', False, 3)
    assert cfg.sources == ['creds_file', 'options']


def test_looker_db_format_and_defaults():
    cfg = my.BackendConfig.from_params({'looker_db': 'dialect=mysql&host=h&username=u&password=p%26q&database=d&port=3310'})
    assert (cfg.host, cfg.port, cfg.user, cfg.password, cfg.database) == ('h', 3310, 'u', 'p&q', 'd')
    cfg = my.BackendConfig.from_params({'host': 'h', 'user': 'u'})
    assert (cfg.port, cfg.database, cfg.ssl, cfg.connect_timeout) == (3306, 'looker', False, 10)


def test_wrong_dialect_and_incomplete():
    with pytest.raises(my.BackendError, match='dialect'):
        my.BackendConfig.from_params({'looker_db': 'dialect=hsqldb&host=h'})
    with pytest.raises(my.BackendError, match='no host'):
        my.BackendConfig.from_params({'user': 'u'})


def test_bad_creds_file_message_has_no_secret(tmp_path):
    path = tmp_path / 'creds.yml'
    path.write_text('password: "s3cr3t-unterminated\nhost: [\n')
    with pytest.raises(my.BackendError) as err:
        my.BackendConfig.from_params({'creds_file': str(path)})
    assert 's3cr3t' not in str(err.value) and str(path) in str(err.value)
    with pytest.raises(my.BackendError, match='cannot read'):
        my.BackendConfig.from_params({'creds_file': str(tmp_path / 'missing.yml')})


def test_argument_spec_shape():
    spec = my.backend_argument_spec()
    opts = spec['backend']['options']
    assert spec['backend']['type'] == 'dict'
    assert opts['password']['no_log'] and opts['looker_db']['no_log']
    assert 'default' not in opts['port'] and opts['connect_timeout']['default'] == 10
    assert set(opts) == {'creds_file', 'looker_db', 'host', 'port', 'user', 'password', 'database', 'ssl', 'ssl_ca',
                         'connect_timeout'}


class _FakeError(Exception):
    pass


@pytest.mark.parametrize('code, hint', [(1045, 'user/password'), (2003, 'host/port'), (1049, 'database'), (9999, 'server log')])
def test_describe_error_names_endpoint_code_and_hides_password(code, hint):
    cfg = my.BackendConfig(host='db1', port=3307, user='looker', password='hunter2', database='looker')
    msg = my.describe_error(_FakeError(code, "Access denied (password 'hunter2')"), cfg)
    assert 'db1:3307' in msg and "user 'looker'" in msg and str(code) in msg and hint in msg
    assert 'hunter2' not in msg


def test_connect_error_is_mapped():
    cfg = my.BackendConfig(host='127.0.0.1', port=1, user='looker', password='pw', database='looker', connect_timeout=2)
    with pytest.raises(my.BackendError, match='127.0.0.1:1.*2003'):
        with my.connect(cfg):
            pass


def test_missing_pymysql_message(monkeypatch):
    monkeypatch.setattr(my, 'HAS_PYMYSQL', False)
    with pytest.raises(my.BackendError, match='python3-pymysql'):
        with my.connect(my.BackendConfig(host='h', user='u')):
            pass


@pytest.mark.parametrize('host, client', [('10.0.0.5:51234', '10.0.0.5'), ('[::1]:3306', '::1'), ('::1:5555', '::1'),
                                          ('localhost', 'localhost')])
def test_split_host(host, client):
    assert my._split_host(host) == client  # pylint: disable=protected-access


def _dump_text(body):
    return ('-- %s\n%s%s: 1 tables, 0 views\n' % (my.DUMP_FORMAT, body, my.DUMP_TRAILER)).encode('utf-8')


def test_iter_statements_splits_on_unquoted_semicolons():
    body = ("SET NAMES utf8mb4;\n-- table: t\nDROP TABLE IF EXISTS `t`;\nCREATE TABLE `t` (\n  `a` int COMMENT 'x;\n  y',\n"
            "  `b` text DEFAULT 'q\\';'\n) ENGINE=InnoDB;\nINSERT INTO `t` (`a`) VALUES (1),('a;\\n');\n")
    stmts = list(my.iter_statements(io.BytesIO(_dump_text(body))))
    assert stmts[0] == b'SET NAMES utf8mb4'
    assert stmts[1] == b'DROP TABLE IF EXISTS `t`'
    assert stmts[2].startswith(b'CREATE TABLE `t`') and stmts[2].endswith(b'ENGINE=InnoDB')
    assert stmts[3] == b"INSERT INTO `t` (`a`) VALUES (1),('a;\\n')"
    assert len(stmts) == 4


def test_iter_statements_rejects_truncated_and_foreign():
    data = _dump_text('SET NAMES utf8mb4;\n')
    with pytest.raises(my.DumpFormatError, match='truncated'):
        list(my.iter_statements(io.BytesIO(data[:-30])))
    with pytest.raises(my.DumpFormatError, match='not a dump'):
        list(my.iter_statements(io.BytesIO(b'-- MySQL dump 10.13\n')))
