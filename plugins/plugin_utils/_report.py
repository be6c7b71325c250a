# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): the report of a run for the change record.

Not a public API. Exposed to the playbooks as the filters ``lookerops.encryption.run_report`` and
``lookerops.encryption.node_stop_text`` (the per-node stop line, which the summary prints too). A pure function of the run
record (roles/lookerops/meta/run_record.yml: ``lookerops_run`` and each node's ``lookerops_node``) and the summary the
run printed; it returns a self-contained HTML page (inline style and SVG, no script, no reference to anything outside
the file) and a plain-text copy for ticket systems. The run record never holds key material (keys are named by their
key check value or KMS identity), and every value is escaped, so the report cannot carry the key or break the page.
"""

from __future__ import annotations

import datetime
import html

from ansible_collections.lookerops.encryption.plugins.plugin_utils._api_proof import api_proof_text
from ansible_collections.lookerops.encryption.plugins.plugin_utils._change_plan import change_plan
from ansible_collections.lookerops.encryption.plugins.plugin_utils._forecast import forecast_error

# Each phase's segment in the timeline: its label and colour.
PHASES = (
    ('stop', 'stop', '#c0392b'),
    ('backup', 'backup', '#2e86c1'),
    ('migrate', 'migrate_encryption', '#8e44ad'),
    ('rekey', 'rekey', '#8e44ad'),
    ('start', 'start (to /alive)', '#27ae60'),
)
PHASE_COLOURS = {name: colour for name, _label, colour in PHASES}
PHASE_LABELS = {name: label for name, label, _colour in PHASES}
OUTCOMES = {
    'completed': 'completed',
    'failed': 'failed',
    'check': 'check mode: nothing was changed',
}


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _segment(phase, start, seconds):
    start, seconds = _number(start), _number(seconds)
    if start is None or seconds is None or seconds < 0:
        return None
    return {'phase': phase, 'start': start, 'end': start + seconds}


def report_timeline(run, hosts, nodes):
    """What each node went through, as segments on the controller's clock (epoch seconds), in the run's own order.

    ``hosts`` are the nodes in inventory order and ``nodes`` each one's ``lookerops_node``. Returns ``{rows, window}``:
    ``rows`` a list of ``{node, segments}`` (each segment ``{phase, start, end}``), ``window`` the downtime window
    ``{start, end}`` (``end`` none while the nodes are still down) or none when no node was stopped. Only what the record
    holds is drawn: a phase the run did not reach, or whose time was not recorded, has no segment.
    """
    run = run or {}
    stop = run.get('stop') or {}
    backup = run.get('backup') or {}
    start = run.get('start') or {}
    first = run.get('first_node')
    node_of = dict(zip(hosts or [], nodes or []))
    window_start = _number(stop.get('window_started'))
    window_end = _number(start.get('window_ended')) or _number((run.get('restore_service') or {}).get('window_ended'))
    first_alive = None
    if first is not None:
        first_start = ((node_of.get(first) or {}).get('start') or {}).get('alive_after_seconds')
        segment = _segment('start', start.get('started_at'), first_start)
        first_alive = segment['end'] if segment else None
    rows = []
    for host in hosts or []:
        node = node_of.get(host) or {}
        segments = []
        node_stop = node.get('stop') or {}
        seconds = node_stop.get('stop_seconds')
        if seconds is None and _number(stop.get('stopped_at')) is not None and window_start is not None:
            seconds = _number(stop['stopped_at']) - window_start
        segments.append(_segment('stop', window_start, seconds))
        segments.append(_segment('backup', backup.get('started_at'), backup.get('seconds')))
        if host == first:
            for job in ('migrate', 'rekey'):
                result = (run.get(job) or {}).get('result') or {}
                ended, duration = _number(result.get('ended_at')), _number(result.get('duration_seconds'))
                if ended is not None and duration is not None:
                    segments.append(_segment(job, ended - duration, duration))
        alive_after = (node.get('start') or {}).get('alive_after_seconds')
        if host == first:
            segments.append(_segment('start', start.get('started_at'), alive_after))
        elif first_alive is not None:
            segments.append(_segment('start', first_alive, alive_after))
        rows.append({'node': host, 'segments': [segment for segment in segments if segment]})
    window = {'start': window_start, 'end': window_end} if window_start is not None else None
    return {'rows': rows, 'window': window}


def _utc(epoch):
    if epoch is None:
        return '-'
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')


def _seconds(value):
    value = _number(value)
    return '-' if value is None else '%.1f s' % value


def _size(value):
    value = _number(value)
    if value is None:
        return '-'
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if value < 1024 or unit == 'TiB':
            return ('%d %s' % (value, unit)) if unit == 'B' else ('%.1f %s' % (value, unit))
        value /= 1024.0
    return '-'  # pragma: no cover - the loop always returns


def _timeline_svg(timeline):
    """The timeline as an inline SVG: one row per node, one segment per phase, seconds from the first stop on the axis."""
    rows = timeline['rows']
    segments = [segment for row in rows for segment in row['segments']]
    if not segments:
        return ''
    origin = min(segment['start'] for segment in segments)
    if timeline['window'] and timeline['window']['start'] is not None:
        origin = min(origin, timeline['window']['start'])
    span = max(max(segment['end'] for segment in segments) - origin, 1.0)
    label_w, plot_w, row_h, top = 160, 720, 22, 28
    scale = plot_w / span
    height = top + row_h * len(rows) + 40
    out = ['<svg class="timeline" role="img" width="%d" height="%d" '
           'viewBox="0 0 %d %d"><title>Timeline: seconds from the first stop</title>'
           % (label_w + plot_w + 20, height, label_w + plot_w + 20, height)]
    window = timeline['window']
    if window and window['start'] is not None:
        x0 = label_w + (window['start'] - origin) * scale
        end = window['end'] if window['end'] is not None else origin + span
        out.append('<rect class="window" x="%.1f" y="%d" width="%.1f" height="%d" fill="#f9e79f" opacity="0.5">'
                   '<title>downtime window: %s</title></rect>'
                   % (x0, top - 6, max((end - window['start']) * scale, 1.0), row_h * len(rows) + 6,
                      html.escape(_seconds(end - window['start']) if window['end'] is not None else 'not ended')))
    for index, row in enumerate(rows):
        y = top + index * row_h
        out.append('<text x="4" y="%d" font-size="12">%s</text>' % (y + 14, html.escape(str(row['node']))))
        for segment in row['segments']:
            x = label_w + (segment['start'] - origin) * scale
            width = max((segment['end'] - segment['start']) * scale, 2.0)
            out.append('<rect class="segment %s" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>'
                       % (segment['phase'], x, y + 3, width, row_h - 8, PHASE_COLOURS[segment['phase']],
                          html.escape('%s %s' % (row['node'], PHASE_LABELS[segment['phase']])),
                          html.escape(_seconds(segment['end'] - segment['start']))))
    axis_y = top + row_h * len(rows) + 14
    steps = 5
    for step in range(steps + 1):
        seconds = span * step / steps
        out.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>'
                   % (label_w + seconds * scale, axis_y, html.escape('%.0f s' % seconds)))
    legend_x = label_w
    for name, label, colour in PHASES:
        if any(segment['phase'] == name for segment in segments):
            out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" font-size="11">%s</text>'
                       % (legend_x, axis_y + 10, colour, legend_x + 14, axis_y + 19, html.escape(label)))
            legend_x += 30 + 7 * len(label)
    out.append('</svg>')
    return ''.join(out)


def node_stop_text(stop):
    """One node's stop as one line of text, from its stop result in the run record (``lookerops_node.stop``): how it
    stopped, how long it took and the proof that it is down. The summary and the report print the same line."""
    if not isinstance(stop, dict) or not stop:
        return 'no stop recorded'
    evidence = stop.get('evidence') or {}
    alive = evidence.get('alive')
    alive = alive.get('state') if isinstance(alive, dict) else alive
    sessions = evidence.get('backend_sessions')
    return 'fenced, %s in %s; pid gone, /alive %s, backend sessions left %s' % (
        'stopped' if stop.get('was_running') else 'was already stopped', _seconds(stop.get('stop_seconds')),
        alive or 'refused', 'not checked' if sessions is None else len(sessions))


def _api_lines(run):
    """The proof through Looker's API: the verdict's line, then each connection before -> after."""
    proof = run.get('api_proof') or {}
    if not proof:
        return ['not run']
    lines = [api_proof_text(run)]
    after = {c['name']: c for c in (proof.get('after') or {}).get('connections') or []}
    for conn in (proof.get('before') or {}).get('connections') or []:
        then = after.get(conn['name'])
        lines.append('%s: %s before, %s after%s' % (
            conn['name'], 'pass' if conn.get('ok') else 'FAIL', '-' if then is None else ('pass' if then.get('ok') else 'FAIL'),
            ' (%s)' % then.get('message') if then is not None and not then.get('ok') else ''))
    return lines


def _node_rows(run, hosts, nodes):
    node_of = dict(zip(hosts or [], nodes or []))
    rows = []
    for host in hosts or []:
        node = node_of.get(host) or {}
        backup = node.get('backup_home') or {}
        rows.append({
            'node': host,
            'first': host == (run or {}).get('first_node'),
            'stop': node_stop_text(node.get('stop')),
            'backup': backup.get('path') or '-',
            'size': _size(backup.get('size')) if backup.get('path') else '-',
            'sha256': backup.get('sha256') or '-',
            'alive_after': _seconds((node.get('start') or {}).get('alive_after_seconds')),
        })
    return rows


def _forecast_line(forecast, window):
    """The forecast made in preflight, beside the actual window when the run has one."""
    if not forecast:
        return 'none (no downtime window of this kind)'
    line = str(forecast.get('text') or '%.0f s' % (_number(forecast.get('window_seconds')) or 0))
    if window and window.get('end') is not None:
        actual = window['end'] - window['start']
        error = forecast_error(forecast, actual)
        if error is not None:
            line += '; actual %.0f s (forecast %+.0f %%)' % (actual, error * 100)
    return line


def _stop_gate_line(stop):
    """How the nodes were stopped: at one instant set ahead (the stop gate), or each when the controller reached it."""
    gate = (stop or {}).get('gate')
    if not isinstance(gate, dict):
        return '-'
    ahead, spread = _number(gate.get('ahead')), _number(gate.get('spread'))
    if not ahead:
        return 'none: each node stopped when the controller reached it (no round to every node was measured)'
    return ('every node stopped at one instant, set %s ahead (preflight\'s round to every node took %s)'
            % (_seconds(ahead), _seconds(spread or 0)))


def _start_gate_line(plan):
    """Whether the other nodes started as soon as the first node answered (the start gate), and why."""
    if not isinstance(plan, dict) or not plan:
        return '-'
    return '%s: %s' % ('used' if plan.get('gated') else 'not used', plan.get('reason') or '-')


def _key_line(run):
    cmk = run.get('cmk') or {}
    rekey = run.get('rekey') or {}
    if run.get('job') == 'rekey' and rekey:
        text = 'rekey %s -> %s' % (rekey.get('old') or '-', rekey.get('new') or '-')
        escrow = rekey.get('escrow') or rekey.get('new_escrow')
    else:
        text = cmk.get('kcv') or cmk.get('fingerprint') or '-'
        escrow = cmk.get('escrow_path')
    return '%s; escrow %s (the key itself is never written into a report)' % (text, escrow or 'not recorded')


def run_report(run, hosts, nodes, summary, outcome='completed', settings=None):
    """``{html, text, name}``: the report of the run ``run`` (its record), for the change record.

    ``hosts`` are the nodes in inventory order, ``nodes`` each one's ``lookerops_node``, ``summary`` the lines (or text)
    the run printed as its summary, ``outcome`` completed, failed or check. A check run's report holds the change plan
    (``_change_plan.py``), for which ``settings`` gives ``backup_dir``, ``cmk_path`` and ``systemd_dropin``. ``name`` is
    the file name without its extension: ``<cluster id>-<run id>-<job>``.
    """
    run = run or {}
    if isinstance(summary, (list, tuple)):
        summary = '\n'.join(str(line) for line in summary)
    summary = str(summary or '').rstrip('\n')
    outcome_text = OUTCOMES.get(outcome, str(outcome))
    timeline = report_timeline(run, hosts, nodes)
    window = timeline['window']
    window_text = '-'
    if window and window['end'] is not None:
        window_text = '%s (%s to %s)' % (_seconds(window['end'] - window['start']), _utc(window['start']), _utc(window['end']))
    elif window:
        window_text = 'not ended: the nodes were left stopped (%s onwards)' % _utc(window['start'])
    facts = [
        ('job', run.get('job') or '-'),
        ('run id', run.get('run_id') or '-'),
        ('cluster', run.get('cluster_id') or '-'),
        ('outcome', outcome_text),
        ('started', (run.get('started_utc') + ' UTC') if run.get('started_utc') else '-'),
        ('controller', run.get('controller') or '-'),
        ('nodes', ', '.join(hosts or []) or '-'),
        ('first node', run.get('first_node') or '-'),
        ('downtime window', window_text),
        ('downtime forecast', _forecast_line(run.get('forecast'), window)),
        ('stop gate', _stop_gate_line(run.get('stop'))),
        ('start gate', _start_gate_line(run.get('start_gate'))),
        ('key', _key_line(run)),
    ]
    evidence = list((run.get('start') or {}).get('evidence') or [])
    api_lines = _api_lines(run)
    node_rows = _node_rows(run, hosts, nodes)
    backend = (run.get('backup') or {}).get('backend') or {}
    rds = (run.get('backup') or {}).get('rds') or {}
    name = '%s-%s-%s' % (run.get('cluster_id') or 'cluster', run.get('run_id') or 'run', run.get('job') or 'run')

    text = ['lookerops.encryption report: %s' % name, '']
    text += ['%-16s %s' % (label + ':', value) for label, value in facts]
    plan = change_plan(run, hosts, nodes, settings) if outcome == 'check' else []
    for title, lines in plan:
        text += ['', 'change plan, %s:' % title.lower()] + ['  - ' + line for line in lines]
    text += ['', 'nodes:']
    for row in node_rows:
        text.append('  %s%s: %s; backup %s %s sha256 %s; start to /alive %s' % (
            row['node'], ' (first)' if row['first'] else '', row['stop'], row['backup'], row['size'], row['sha256'],
            row['alive_after']))
    if backend.get('path'):
        text.append('backend backup: %s %s sha256 %s' % (backend['path'], _size(backend.get('size')), backend.get('sha256') or '-'))
    if rds.get('snapshot_id'):
        text.append('backend backup: RDS snapshot %s' % rds['snapshot_id'])
    text += ['', 'timeline (seconds from the first stop):']
    segments = [segment for row in timeline['rows'] for segment in row['segments']]
    origin = min([segment['start'] for segment in segments] or [0.0])
    for row in timeline['rows']:
        for segment in row['segments']:
            text.append('  %-20s %-20s %8.1f %8.1f' % (
                row['node'], PHASE_LABELS[segment['phase']], segment['start'] - origin, segment['end'] - origin))
    if not segments:
        text.append('  (no node was stopped)')
    text += ['', 'proof in the log of the first node:']
    text += ['  ' + line for line in evidence] or ['  (none recorded)']
    text += ['', "proof through Looker's API (connection tests before the stop and after the start):"]
    text += ['  ' + line for line in api_lines]
    text += ['', 'summary as the run printed it:', summary, '']

    esc = html.escape
    page = [
        '<!DOCTYPE html>',
        '<html lang="en"><head><meta charset="utf-8">',
        '<title>%s</title>' % esc('lookerops.encryption: %s' % name),
        '<style>body{font-family:sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse}'
        'td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}'
        'pre{background:#f4f4f4;padding:1em;white-space:pre-wrap}.outcome-failed{color:#c0392b}'
        '.outcome-completed{color:#1e8449}</style>',
        '</head><body>',
        '<h1>lookerops.encryption: %s run %s</h1>' % (esc(str(run.get('job') or '-')), esc(str(run.get('run_id') or '-'))),
        '<p class="outcome outcome-%s"><strong>%s</strong></p>' % (esc(str(outcome)), esc(outcome_text)),
        '<h2>The run</h2><table class="facts">',
    ]
    page += ['<tr><th>%s</th><td>%s</td></tr>' % (esc(label), esc(str(value))) for label, value in facts]
    page.append('</table>')
    if plan:
        page.append('<h2>Change plan</h2>')
        for title, lines in plan:
            page.append('<h3>%s</h3><ul class="plan">%s</ul>' % (esc(title), ''.join('<li>%s</li>' % esc(line) for line in lines)))
    page.append('<h2>Timeline</h2>')
    svg = _timeline_svg(timeline)
    page.append(svg or '<p>No node was stopped.</p>')
    page.append('<h2>Nodes</h2><table class="nodes"><tr><th>node</th><th>stop</th><th>backup of the Looker home</th>'
                '<th>size</th><th>sha256</th><th>start to /alive</th></tr>')
    for row in node_rows:
        page.append('<tr><td>%s%s</td><td>%s</td><td>%s</td><td>%s</td><td><code>%s</code></td><td>%s</td></tr>' % (
            esc(row['node']), ' (first)' if row['first'] else '', esc(row['stop']), esc(row['backup']), esc(row['size']),
            esc(row['sha256']), esc(row['alive_after'])))
    page.append('</table>')
    if backend.get('path'):
        page.append('<p>Backend backup: %s, %s, sha256 <code>%s</code></p>' % (
            esc(backend['path']), esc(_size(backend.get('size'))), esc(backend.get('sha256') or '-')))
    if rds.get('snapshot_id'):
        page.append('<p>Backend backup: RDS snapshot %s</p>' % esc(rds['snapshot_id']))
    page.append('<h2>Proof in the log of the first node</h2>')
    if evidence:
        page.append('<pre class="evidence">%s</pre>' % esc('\n'.join(evidence)))
    else:
        page.append('<p>None recorded.</p>')
    page.append("<h2>Proof through Looker's API</h2><ul class=\"api-proof\">%s</ul>" % ''.join('<li>%s</li>' % esc(line) for line in api_lines))
    page.append('<h2>Summary as the run printed it</h2><pre class="summary">%s</pre>' % esc(summary))
    page.append('</body></html>')
    return {'html': '\n'.join(page) + '\n', 'text': '\n'.join(text), 'name': name}
