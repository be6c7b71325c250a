# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install the Looker stand-in on a node: looker.jar, looker-dependencies.jar, ./looker, and a java shim."""

from __future__ import annotations

import json
import os
import pwd
import shlex
import tempfile
import zipfile

from standin.config import DEFAULTS
from standin.java import MARKER, MARKER_TEXT, RELEASE_ENTRY

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The startup script, written for /bin/sh (dash). It mimics the public Looker script as FACTS.md
# describes it, including its two quirks under a POSIX sh: the exit status of `start` ignores
# java's, and the `{1..30}` stop loop runs once (then SIGTERM and, at once, SIGKILL).
STARTUP_SCRIPT = r'''#!/bin/sh
# Looker startup script (lookerops.encryption test stand-in; mimics the public script)
cd "$(dirname "$0")" || exit 1

JAVAMEM="2300m"
METAMEM="800m"
JAVAARGS=""
LOOKERARGS=""
if [ -r ./lookerstart.cfg ]; then
    . ./lookerstart.cfg
fi
LOOKERPORT=${LOOKERPORT:-9999}
export LOOKERPORT

PROTOCOL=https
case " $LOOKERARGS " in
    *" --no-ssl "*) PROTOCOL=http ;;
esac

pid_is_live() {
    [ -n "$1" ] && { kill -0 "$1" 2>/dev/null || [ -d "/proc/$1" ]; }
}

start() {
    if [ -e .deploying ]; then
        echo "Looker is being deployed (.deploying exists); not starting."
        exit 1
    fi
    if [ -r .starting ]; then
        starter=$(cat .starting 2>/dev/null)
        if pid_is_live "$starter"; then
            echo "Looker is already starting (.starting holds live pid $starter); not starting."
            exit 1
        fi
    fi
    echo $$ > .starting
    java \
        -XX:+UseG1GC -XX:MaxGCPauseMillis=2000 -XX:MaxMetaspaceSize=$METAMEM \
        -Xms$JAVAMEM -Xmx$JAVAMEM \
        -verbose:gc -XX:+PrintGCDetails -XX:+PrintGCTimeStamps -Xloggc:/tmp/gc.log \
        $JAVAARGS \
        -jar looker.jar start $LOOKERARGS
    rm -f .starting
}

stop() {
    if [ -e .status_server_token ]; then
        state="running"
        token=$(cat .status_server_token)
        curl -m 10 -s -k -o /dev/null "$PROTOCOL://127.0.0.1:$LOOKERPORT/control/stop?token=$token"
        for i in {1..30}; do
            sleep 1
            curl -m 10 -s -k -o /dev/null "$PROTOCOL://127.0.0.1:$LOOKERPORT/alive"
            if [ $? -eq 7 ]; then
                state="stopped"
                break
            fi
        done
        if [ "$state" = "running" ]; then
            echo "Force Stop Looker Web Application"
            if [ -r .tmp/looker.pid ]; then
                pid=$(cat .tmp/looker.pid)
                kill "$pid" 2>/dev/null
                kill -9 "$pid" 2>/dev/null
            fi
        fi
    else
        java -jar looker.jar stop
    fi
}

status() {
    curl -m 10 -s -k -o /dev/null "$PROTOCOL://127.0.0.1:$LOOKERPORT/alive"
    if [ $? -eq 7 ]; then
        echo "Status:Looker Web Application stopped"
        exit 7
    fi
    echo "Status:Looker Web Application running"
    exit 0
}

case "$1" in
    start)
        start
        ;;
    stop)
        stop
        ;;
    restart)
        stop
        start
        ;;
    status)
        status
        ;;
    *)
        java -jar looker.jar "$@"
        ;;
esac
'''

JAVA_SHIM = '''#!/bin/sh
# java of the Looker stand-in (lookerops.encryption test bed)
LOOKER_STANDIN_CONFIG=%(config)s
export LOOKER_STANDIN_CONFIG
PYTHONPATH=%(tests)s${PYTHONPATH:+:$PYTHONPATH}
export PYTHONPATH
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
exec %(python)s -m standin.java "$@"
'''


def _atomic(path, data, mode):
    dirname = os.path.dirname(os.path.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', dir=dirname)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def build_jar(path, release, title='Looker', marker=True, manifest_release=True):
    """A real jar (zip) with a manifest; ``marker`` adds the stand-in marker the java shim checks.

    ``manifest_release=False`` builds a jar whose manifest names no release (as some older Looker builds):
    the stand-in still knows it, and tells it only through the API's ``GET /versions``."""
    fd, tmp = tempfile.mkstemp(prefix='.jar.', dir=os.path.dirname(os.path.abspath(path)))
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as jar:
            version_line = 'Implementation-Version: %s\r\n' % release if manifest_release else ''
            jar.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\r\nImplementation-Title: %s\r\n'
                         '%sMain-Class: com.looker.LookerStandIn\r\n\r\n' % (title, version_line))
            if marker:
                jar.writestr(MARKER, MARKER_TEXT + '\n')
            if not manifest_release:
                jar.writestr(RELEASE_ENTRY, release + '\n')
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_config(config_path, **tunables):
    """Write the stand-in tunables (JSON) over the defaults; returns the full dict."""
    unknown = sorted(set(tunables) - set(DEFAULTS))
    if unknown:
        raise ValueError('unknown stand-in tunables: %s' % ', '.join(unknown))
    conf = dict(DEFAULTS)
    conf.update(tunables)
    _atomic(config_path, (json.dumps(conf, indent=2, sort_keys=True) + '\n').encode('utf-8'), 0o644)
    return conf


def install_node(home, bin_dir, config_path, python, release='23.0.0', user=None):
    """Install the stand-in into ``home`` and ``bin_dir/java``; returns a dict of the paths."""
    os.makedirs(home, exist_ok=True)
    jar = os.path.join(home, 'looker.jar')
    deps = os.path.join(home, 'looker-dependencies.jar')
    script = os.path.join(home, 'looker')
    java = os.path.join(bin_dir, 'java')
    build_jar(jar, release)
    build_jar(deps, release, title='Looker Dependencies', marker=False)
    _atomic(script, STARTUP_SCRIPT.encode('ascii'), 0o755)
    shim = JAVA_SHIM % {'config': shlex.quote(os.path.abspath(config_path)), 'tests': shlex.quote(TESTS_DIR),
                        'python': shlex.quote(python)}
    _atomic(java, shim.encode('utf-8'), 0o755)
    if not os.path.exists(config_path):
        write_config(config_path, release=release)
    if user is not None:
        ent = pwd.getpwnam(user)
        for path in (home, jar, deps, script):
            os.chown(path, ent.pw_uid, ent.pw_gid)
    return {'home': home, 'jar': jar, 'dependencies': deps, 'script': script, 'java': java, 'config': config_path}
