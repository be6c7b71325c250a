# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MySQL backend option group shared by the modules built on plugins/module_utils/_mysql/config.py."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Documentation of the backend option group."""

    DOCUMENTATION = r'''
options:
  backend:
    description:
      - Connection to the Looker backend database (MySQL).
      - Settings come from O(backend.creds_file), else O(backend.looker_db), else the C(LOOKER_DB) that
        O(backend.looker_home)'s C(lookerstart.cfg) gives Looker; explicit options override them.
    type: dict
    suboptions:
      creds_file:
        description:
          - Looker's C(-d)/C(--internal-db-creds) YAML file (C(dialect), C(host), C(username), C(password),
            C(database), C(port), optional C(ssl)), read on the node.
        type: path
      looker_db:
        description:
          - Looker's C(LOOKER_DB) value, C(dialect=mysql&host=..&username=..&password=..&database=..&port=..)
            (values percent-decoded).
        type: str
      looker_home:
        description:
          - A Looker home whose C(lookerstart.cfg) exports C(LOOKER_DB). The file is sourced on the node as
            O(backend.looker_user) and the value read through a pipe; it is never returned or written anywhere.
          - Used only when neither O(backend.creds_file) nor O(backend.looker_db) is given.
        type: path
      looker_user:
        description: The user that runs Looker, for O(backend.looker_home).
        type: str
        default: looker
      host:
        description: Server host name or address.
        type: str
      port:
        description: Server port; 3306 when given nowhere.
        type: int
      user:
        description: User name.
        type: str
      password:
        description: Password.
        type: str
      database:
        description: Database name; C(looker) when given nowhere.
        type: str
      ssl:
        description: Use TLS (verified against the system CAs, or O(backend.ssl_ca)).
        type: bool
      ssl_ca:
        description: CA bundle to verify the server certificate with; implies O(backend.ssl).
        type: path
      connect_timeout:
        description: Connect timeout in seconds.
        type: int
        default: 10
      tools_dir:
        description:
          - Directory holding the database's own clients (C(mariadb-dump) or C(mysqldump), C(mariadb) or C(mysql)).
          - By default they are looked up on the PATH and in the usual directories; when both MariaDB's and MySQL's
            programs are there, the ones matching the server are used.
        type: path
'''
