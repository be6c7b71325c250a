# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Looker node options shared by the modules built on plugins/module_utils/_looker/node.py."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Documentation of the Looker node option group."""

    DOCUMENTATION = r'''
options:
  looker_home:
    description: Looker directory on the node, holding C(looker.jar), C(looker-dependencies.jar) and the startup script C(looker).
    type: path
    default: /home/looker/looker
  looker_user:
    description: The user that runs Looker. Looker commands run as this user (HOME, USER, LOGNAME of that user, cwd O(looker_home)).
    type: str
    default: looker
  java:
    description:
      - The C(java) command for Looker tasks. An absolute path also puts its directory first on the PATH of Looker commands, so
        that the startup script (which calls plain C(java)) uses the same one.
    type: str
    default: java
  looker_port:
    description:
      - Port of Looker's web server, for C(/alive) and the stop call on 127.0.0.1.
      - Default from the effective settings, C(--port) in C(LOOKERARGS), else C(LOOKERPORT), else 9999.
    type: int
  looker_path:
    description:
      - PATH for Looker commands. Default the Looker user's login PATH (C(/bin/sh -l)), else C(/usr/local/bin:/usr/bin:/bin).
    type: str
'''
