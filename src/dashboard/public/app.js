/* rqctl dashboard: renders GET api/overview (docs/dashboard.md) every few seconds. No framework;
   every value from Redis is set as text, never as HTML. */
(function () {
  'use strict';
  var REFRESH_MS = 5000;
  var readOnly = document.body.getAttribute('data-read-only') === 'true';
  var range = 'hour';
  var last = null;
  var charts = {};
  var palette = ['#2f6fdf', '#d9480f', '#2b8a3e', '#ae3ec9', '#e67700', '#0b7285', '#c2255c', '#5c940d', '#364fc7', '#862e9c'];

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, attrs[k]);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child))
      child.forEach(function (c) {
        append(node, c);
      });
    else node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  function replace(id, content) {
    var node = document.getElementById(id);
    node.textContent = '';
    append(node, content);
  }
  function table(headers, rows, empty) {
    if (!rows.length) return el('p', { class: 'empty' }, empty || 'none');
    return el(
      'table',
      null,
      el(
        'thead',
        null,
        el(
          'tr',
          null,
          headers.map(function (h) {
            return el('th', { scope: 'col' }, h);
          }),
        ),
      ),
      el(
        'tbody',
        null,
        rows.map(function (r) {
          var attrs = r.attrs || null;
          var cells = r.cells || r;
          return el(
            'tr',
            attrs,
            cells.map(function (c) {
              return el('td', null, c);
            }),
          );
        }),
      ),
    );
  }
  function badge(text, kind) {
    return el('span', { class: 'badge ' + kind }, text);
  }
  function errorLine(text) {
    return el('p', { class: 'error' }, text);
  }

  function bytes(n) {
    if (n === null || n === undefined) return '–';
    var units = ['B', 'KB', 'MB', 'GB', 'TB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i ? n.toFixed(1) : n) + ' ' + units[i];
  }
  function duration(ms) {
    if (ms === null || ms === undefined) return '–';
    var s = Math.round(ms / 1000);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }
  function ago(iso) {
    return iso ? duration(Date.now() - Date.parse(iso)) + ' ago' : '–';
  }
  function pct(r) {
    return r === null || r === undefined ? '–' : (r * 100).toFixed(1) + ' %';
  }
  function num(n) {
    return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US');
  }
  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : '–';
  }

  function renderRoles(o) {
    replace(
      'roles',
      o.roles.map(function (r) {
        var mem = r.reachable ? bytes(r.usedMemory) + ' / ' + (r.maxmemory ? bytes(r.maxmemory) : 'no limit') : '–';
        return el(
          'div',
          { class: 'card ' + (r.reachable ? 'ok' : 'fail'), 'data-role': r.role },
          el('h3', null, r.role, ' ', r.reachable ? badge('reachable', 'ok') : badge('unreachable', 'fail')),
          el('p', { class: 'url' }, r.url),
          r.reachable
            ? el(
                'dl',
                null,
                el('dt', null, 'latency'),
                el('dd', null, r.latencyMs === null ? '–' : r.latencyMs + ' ms'),
                el('dt', null, 'version'),
                el('dd', null, r.version || '–'),
                el('dt', null, 'memory'),
                el('dd', null, mem),
                el('dt', null, 'policy'),
                el('dd', null, r.maxmemoryPolicy || '–'),
                el('dt', null, 'evicted keys'),
                el('dd', null, num(r.evictedKeys)),
                el('dt', null, 'keys'),
                el('dd', null, num(r.keys)),
                el('dt', null, 'AOF'),
                el('dd', null, r.aof ? (r.aof.enabled ? 'on (' + (r.aof.lastWriteStatus || '?') + ')' : 'off') : '–'),
              )
            : errorLine(r.error),
        );
      }),
    );
  }

  function renderQueues(o) {
    if (o.queuesError) return replace('queues', errorLine('queues: ' + o.queuesError));
    replace(
      'queues',
      table(
        ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed', 'paused', 'oldest ready', 'workers', ''],
        o.queues.map(function (q) {
          return {
            attrs: { 'data-queue': q.name },
            cells: [
              q.name,
              num(q.waiting),
              num(q.active),
              num(q.delayed),
              q.failed ? el('span', { class: 'bad' }, num(q.failed)) : '0',
              num(q.completed),
              q.isPaused ? badge('paused', 'warn') : 'no',
              q.oldestReadyMs === null ? '–' : duration(q.oldestReadyMs),
              String(q.workers),
              el('a', { href: 'queues/queue/' + encodeURIComponent(q.name) }, 'jobs'),
            ],
          };
        }),
        'no queue yet',
      ),
    );
  }

  function renderWorkers(o) {
    if (o.workersError) return replace('workers', errorLine('workers: ' + o.workersError));
    replace(
      'workers',
      table(
        ['name', 'host', 'pid', 'queues', 'concurrency', 'running', 'done', 'failed', 'last seen'],
        o.workers.map(function (w) {
          return {
            attrs: { 'data-worker': w.id, class: w.stale ? 'stale' : null },
            cells: [
              w.name,
              w.host,
              String(w.pid),
              w.queues.join(', '),
              String(w.concurrency),
              String(w.running),
              num(w.done),
              num(w.failed),
              w.stale ? el('span', { class: 'bad' }, ago(w.lastSeen) + ' (stale)') : ago(w.lastSeen),
            ],
          };
        }),
        'no worker has a live heartbeat',
      ),
    );
  }

  // `20/2s`, in the largest unit that divides the window (as `rqctl limits` writes it).
  function rateLimit(l) {
    var units = [
      ['d', 86400000],
      ['h', 3600000],
      ['min', 60000],
      ['s', 1000],
    ];
    for (var i = 0; i < units.length; i++) {
      var ms = units[i][1];
      if (l.windowMs % ms === 0) return l.max + '/' + (l.windowMs === ms ? '' : l.windowMs / ms) + units[i][0];
    }
    return l.max + '/' + l.windowMs + 'ms';
  }

  function renderLimits(o) {
    if (o.limitsError) return replace('limits', errorLine('provider limits: ' + o.limitsError));
    replace(
      'limits',
      table(
        ['provider', 'limit', 'used in window', 'paused until', 'throttled (1h)', '429s (1h)'],
        o.limits.map(function (p) {
          var paused = p.pausedUntil ? Date.parse(p.pausedUntil) - Date.now() : 0;
          return {
            attrs: { 'data-provider': p.name },
            cells: [
              p.name,
              p.limits.map(rateLimit).join(', '),
              p.limits
                .map(function (l) {
                  return l.used + '/' + l.max;
                })
                .join(', '),
              paused > 0 ? badge(when(p.pausedUntil) + ' (' + duration(paused) + ' left)', 'warn') : '–',
              num(p.throttled1h),
              p.http429_1h ? el('span', { class: 'bad' }, num(p.http429_1h)) : '0',
            ],
          };
        }),
        'no provider has rate limits (limits: in rqctl.config.yaml)',
      ),
    );
  }

  function renderSchedule(o) {
    var s = o.schedule;
    if (s.error) return replace('schedule', errorLine('schedule: ' + s.error));
    replace(
      'schedule',
      table(
        ['entry', 'when', 'runs', 'next run', 'last run', 'outcome'],
        s.entries.map(function (e) {
          var lr = e.lastRun;
          var outcome = lr ? badge(lr.status, /^(ok|completed)$/.test(lr.status) ? 'ok' : /fail|error|timed-out/.test(lr.status) ? 'fail' : 'info') : '–';
          return {
            attrs: { 'data-entry': e.name },
            cells: [
              e.name,
              e.schedule + (e.timezone !== 'UTC' ? ' (' + e.timezone + ')' : ''),
              e.target + (e.queue ? ' → ' + e.queue : ''),
              when(e.next),
              lr ? when(lr.at) : 'never',
              [outcome, lr && lr.error ? el('small', null, ' ' + lr.error) : null],
            ],
          };
        }),
        'no schedule entries',
      ),
    );
  }

  function renderCache(o) {
    var c = o.cache;
    if (c.error) return replace('cache', errorLine('cache: ' + c.error));
    replace('cache', [
      el(
        'p',
        null,
        num(c.totalKeys) +
          ' keys' +
          (c.prefix ? ' under "' + c.prefix + '"' : '') +
          ' · hit ratio ' +
          pct(c.hitRatio) +
          ' · evicted ' +
          num(c.evictedKeys) +
          ' · memory ' +
          bytes(c.usedMemory) +
          (c.maxmemory ? ' / ' + bytes(c.maxmemory) : '') +
          ' · counted ' +
          ago(c.at),
      ),
      table(
        ['family', 'keys', 'no TTL', 'TTL', 'TTL left (0–25 / 25–50 / 50–75 / 75–100 % / over)'],
        c.families.map(function (f) {
          var b = f.buckets;
          return [
            f.family,
            num(f.keys),
            num(f.noTtl),
            f.duration ? duration(f.duration * 1000) : '–',
            b ? [b['0-25%'], b['25-50%'], b['50-75%'], b['75-100%'], b.over].join(' / ') : '–',
          ];
        }),
        'no cache keys',
      ),
    ]);
  }

  function renderDoctor(o) {
    var d = o.doctor;
    if (d.error) return replace('doctor', errorLine('doctor: ' + d.error));
    var order = { fail: 0, warn: 1, ok: 2 };
    var checks = d.checks.slice().sort(function (a, b) {
      return order[a.status] - order[b.status];
    });
    replace(
      'doctor',
      el(
        'ul',
        { class: 'checks' },
        checks.map(function (c) {
          return el(
            'li',
            { class: c.status, 'data-check': c.id },
            badge(c.status, c.status === 'ok' ? 'ok' : c.status === 'warn' ? 'warn' : 'fail'),
            ' ',
            c.message,
            c.fix ? el('div', { class: 'fix' }, 'fix: ' + c.fix) : null,
          );
        }),
      ),
    );
  }

  function drawChart(id, times, series, windowSeconds) {
    var windowEnd = times.length ? times[times.length - 1] : Date.now() / 1000;
    var node = document.getElementById(id);
    var labels = series
      .map(function (s) {
        return s.label;
      })
      .join('\u0000');
    var data = [times].concat(
      series.map(function (s) {
        return s.values;
      }),
    );
    var points = 0;
    var total = 0;
    series.forEach(function (s) {
      s.values.forEach(function (v) {
        if (v !== null) {
          points++;
          total += v;
        }
      });
    });
    node.setAttribute('data-points', String(times.length ? points : 0));
    node.setAttribute('data-total', String(Math.round(total * 10) / 10));
    var c = charts[id];
    if (c && c.labels === labels && c.range === range) {
      c.plot.setData(data, false);
      c.plot.setScale('x', { min: windowEnd - windowSeconds, max: windowEnd });
      return;
    }
    if (c) c.plot.destroy();
    node.textContent = '';
    if (typeof uPlot === 'undefined') return;
    var opts = {
      width: Math.max(280, node.clientWidth || 420),
      height: 180,
      scales: {
        x: { time: true, auto: false, range: [windowEnd - windowSeconds, windowEnd] },
        y: {
          range: function (u, min, max) {
            return [0, Math.max(1, max)];
          },
        },
      },
      series: [{}].concat(
        series.map(function (s, i) {
          return { label: s.label, stroke: palette[i % palette.length], width: 1.5, spanGaps: true, points: { show: false } };
        }),
      ),
      axes: [{ space: 90 }, { size: 50 }],
      legend: { show: true },
    };
    charts[id] = { plot: new uPlot(opts, data, node), labels: labels, range: range };
  }

  function renderCharts(o) {
    var ch = o.charts;
    var ts = range === 'hour' ? ch.hour : ch.day;
    var span = range === 'hour' ? 3600 : 86400;
    drawChart(
      'chart-completed',
      ts.times,
      ts.series.map(function (s) {
        return { label: s.queue, values: s.completed };
      }),
      span,
    );
    drawChart(
      'chart-failed',
      ts.times,
      ts.series.map(function (s) {
        return { label: s.queue, values: s.failed };
      }),
      span,
    );
    drawChart(
      'chart-backlog',
      ch.backlog.times,
      ch.backlog.series.map(function (s) {
        return { label: s.queue, values: s.values };
      }),
      3600,
    );
  }

  function render(o) {
    last = o;
    var banner = document.getElementById('banner');
    if (!o.redis.ok) {
      banner.hidden = false;
      banner.textContent = 'Redis unreachable: ' + o.redis.error + ' (retrying)';
    } else banner.hidden = true;
    document.getElementById('status').textContent =
      'updated ' + new Date(o.generatedAt).toLocaleTimeString() + ' · ' + o.tookMs + ' ms' + (o.dashboard.readOnly ? ' · read-only' : '');
    renderRoles(o);
    renderQueues(o);
    renderCharts(o);
    renderWorkers(o);
    renderLimits(o);
    renderSchedule(o);
    renderCache(o);
    renderDoctor(o);
    document.body.setAttribute('data-loaded', 'true');
  }

  function refresh() {
    fetch('api/overview', { headers: { accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(render)
      .catch(function (e) {
        document.getElementById('status').textContent = 'cannot reach the dashboard: ' + e.message + ' (retrying)';
      })
      .then(function () {
        setTimeout(refresh, REFRESH_MS);
      });
  }

  Array.prototype.forEach.call(document.querySelectorAll('[data-range]'), function (b) {
    b.addEventListener('click', function () {
      range = b.getAttribute('data-range');
      Array.prototype.forEach.call(document.querySelectorAll('[data-range]'), function (x) {
        x.setAttribute('aria-pressed', String(x === b));
      });
      if (last) renderCharts(last);
    });
  });
  if (readOnly) document.getElementById('job-browser-link').textContent = 'Job browser (read-only)';
  refresh();
})();
