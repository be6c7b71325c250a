# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS connection options shared by the collection's AWS modules (plugins/module_utils/_aws/)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Documentation of the AWS connection option group."""

    DOCUMENTATION = r'''
requirements:
  - boto3 and botocore on the controller (the AWS modules run there, with C(delegate_to=localhost))
options:
  region:
    description:
      - AWS region, for example C(eu-west-1). Default from the environment (C(AWS_REGION), C(AWS_DEFAULT_REGION)) or the profile.
    type: str
    aliases: [aws_region]
  endpoint_url:
    description:
      - URL of the AWS endpoint, for a VPC endpoint or an emulator. Default the public endpoint of the region (or C(AWS_ENDPOINT_URL)).
    type: str
  profile:
    description: Named profile of the controller user's C(~/.aws/config) to take credentials and region from.
    type: str
    aliases: [aws_profile]
  access_key:
    description:
      - AWS access key id. Default the standard credential chain of boto3 (environment, profile, container or instance role).
    type: str
    aliases: [aws_access_key_id]
  secret_key:
    description: AWS secret access key; required with O(access_key).
    type: str
    aliases: [aws_secret_access_key]
  session_token:
    description: AWS session token of temporary credentials.
    type: str
    aliases: [aws_session_token]
  retries:
    description:
      - How many times botocore retries a throttled or failed call (exponential backoff with full jitter).
    type: int
    default: 10
  retry_mode:
    description:
      - botocore retry mode. V(adaptive) adds client-side rate limiting on top of V(standard).
    type: str
    choices: [standard, adaptive]
    default: standard
  wait_timeout:
    description:
      - Upper bound in seconds of every wait of this task (polls with growing, jittered delays; never unbounded).
    type: int
    default: 900
'''
