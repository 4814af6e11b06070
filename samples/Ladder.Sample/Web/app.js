// The ladder page: plain JavaScript over the JSON API under /api, no build step and nothing from the network but the
// host itself. Two views: the front page (/) and a player's page (/players/{id}). Each view is a list of panels that
// one timer refreshes; a new panel (the cluster's hosts, say) is one more loader in that list.
'use strict';

const $ = (selector) => document.querySelector(selector);
const REFRESH_MS = 3000;

// Re-render a panel only when its data changed: no flicker, and a button is not replaced under the pointer.
const shown = {};
function changed(panel, data) {
  const json = JSON.stringify(data);
  if (shown[panel] === json) return false;
  shown[panel] = json;
  return true;
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== ''));
  return node;
}

// A table cell; `label` names the column on narrow screens, where a row is shown as a block of cells.
function cell(content, className, label) {
  const td = el('td', { class: className, 'data-label': label });
  if (content instanceof Node) td.append(content); else td.textContent = content ?? '';
  return td;
}

// A path is one long word to the browser: a line may break after each '/' (a <wbr>, which a copy leaves out).
function breakAfterSlashes(text) {
  return text.split('/').flatMap((part, i, parts) => i < parts.length - 1 ? [part + '/', el('wbr')] : [part]);
}
function raceSpan(race) { return el('span', { class: 'race ' + race, text: race }); }
function playerLink(id, name) { return el('a', { href: '/players/' + encodeURIComponent(id), class: 'player', text: name }); }
function signed(n) { return n === null || n === undefined ? '' : (n > 0 ? '+' + n : String(n)); }
function time(iso) { return iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : ''; }
function dateTime(iso) { return iso ? new Date(iso).toLocaleString([], { hour12: false, dateStyle: 'short', timeStyle: 'short' }) : ''; }

function setState(selector, text, isError) {
  const node = $(selector);
  node.textContent = text || '';
  node.classList.toggle('error', !!isError);
}

// Every answer says which host served it (X-Ladder-Host); the header shows the latest.
async function getJson(url, init) {
  const response = await fetch(url, init);
  const host = response.headers.get('X-Ladder-Host');
  if (host) { $('#served-by').textContent = host; document.body.dataset.servedBy = host; }
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const error = new Error((body && (body.detail || body.title)) || response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

// Readable names for the API's keys.
const jobStateLabels = {
  scheduled: 'Scheduled', ready: 'Waiting to run', running: 'Running', succeeded: 'Done',
  failed: 'Retry scheduled', dead: 'Dead (gave up)', cancelled: 'Cancelled',
};
const workerLabels = {
  workers: 'Workers', busy: 'Busy', idle: 'Idle', starting: 'Starting', queuedCalls: 'Parses waiting for a worker',
  calls: 'Parses run', succeeded: 'Parsed', timeouts: 'Timed out', crashes: 'Worker crashes',
  remoteErrors: 'Parser errors', kills: 'Workers killed', recycles: 'Workers recycled', spawns: 'Workers started',
  breakerOpen: 'Restarts paused (breaker)',
};

function jobStatus(job) {
  const attempt = 'attempt ' + job.attempts + ' of ' + job.maxAttempts;
  switch (job.state) {
    case 'running': return 'parsing now, ' + attempt + (job.startedAt ? ', since ' + time(job.startedAt) : '');
    case 'failed': {
      const seconds = Math.max(0, Math.round((new Date(job.runAt) - Date.now()) / 1000));
      return 'retry in ' + seconds + ' s (at ' + time(job.runAt) + '); ' + attempt + ' failed' + (job.reason ? ': ' + job.reason : '');
    }
    case 'ready': return 'waiting to parse';
    case 'scheduled': return 'scheduled for ' + time(job.runAt);
    case 'succeeded': return 'parsed';
    case 'dead': return 'dead after ' + attempt + (job.reason ? ': ' + job.reason : '');
    case 'purged': return 'job purged';
    default: return jobStateLabels[job.state] || job.state;
  }
}

// ---- Front page --------------------------------------------------------------------------------------------------

const board = { race: '', country: '', name: '', sort: 'rank', dir: 'asc', page: 1, pages: 1 };
const numericColumns = new Set(['rating', 'games', 'wins']);

function filtered() { return board.race || board.country || board.name; }

async function loadLeaderboard() {
  const query = new URLSearchParams({ page: String(board.page), sort: board.sort, dir: board.dir });
  if (board.race) query.set('race', board.race);
  if (board.country) query.set('country', board.country);
  if (board.name) query.set('name', board.name);
  try {
    const data = await getJson('/api/leaderboard?' + query);
    board.pages = Math.max(1, Math.ceil(data.total / data.pageSize));
    $('#prev-page').disabled = board.page <= 1;
    $('#next-page').disabled = board.page >= board.pages;
    if (!changed('leaderboard', [data.rows, data.total, data.stale, board.sort, board.dir])) return;
    $('#leaderboard tbody').replaceChildren(...data.rows.map((row) => {
      const tr = el('tr', { 'data-player-id': row.playerId });
      tr.append(cell(row.rank, 'num', '#'), cell(playerLink(row.playerId, row.name), 'name'), cell(row.country),
        cell(raceSpan(row.race)), cell(row.rating, 'num', 'Rating'), cell(row.games, 'num', 'Games'),
        cell(row.wins + '-' + row.losses, 'num', 'W-L'));
      return tr;
    }));
    $('#page-info').textContent = data.total === 0 ? '' : 'page ' + data.page + ' of ' + board.pages + ' (' + data.total + ' rows)';
    setState('#leaderboard-state', data.total > 0 ? ''
      : filtered() ? 'No rows match these filters.' : 'No ratings yet: a player appears here after a first rated match.');
    $('#leaderboard-note').textContent = data.stale ? 'Showing the last good leaderboard while it refreshes.' : '';
    for (const button of document.querySelectorAll('#leaderboard button.sort')) {
      const active = button.dataset.sort === board.sort;
      if (active) {
        button.setAttribute('aria-sort', board.dir === 'asc' ? 'ascending' : 'descending');
        button.dataset.arrow = board.dir === 'asc' ? '\u25B2' : '\u25BC';
      } else {
        button.removeAttribute('aria-sort');
      }
    }
    document.body.dataset.leaderboardLoaded = 'true';
  } catch (e) {
    setState('#leaderboard-state', 'Could not load the leaderboard: ' + e.message, true);
  }
}

// The country list follows the data: a country appears once a player from it exists, and the choice is kept.
async function loadCountries() {
  const countries = await getJson('/api/countries');
  const select = $('#country-filter');
  const codes = new Set(countries);
  if (board.country) codes.add(board.country);
  if (!changed('countries', [...codes])) return;
  select.replaceChildren(el('option', { value: '', text: 'all' }),
    ...[...codes].sort().map((code) => el('option', { value: code, text: code })));
  select.value = board.country;
}

async function loadResults() {
  try {
    const results = await getJson('/api/matches/recent?limit=8');
    if (!changed('results', results)) return;
    $('#results-feed').replaceChildren(...results.map((r) => {
      const li = el('li', { 'data-match-id': r.matchId });
      const side = (p) => el('span', {}, playerLink(p.id, p.name), ' ', raceSpan(p.race), p.change === null ? '' : ' ' + signed(p.change));
      if (r.state === 'aborted') {
        li.append(side(r.player1), ' vs ', side(r.player2), ': aborted');
      } else {
        const [winner, loser] = r.winnerId === r.player1.id ? [r.player1, r.player2] : [r.player2, r.player1];
        li.append(side(winner), ' beat ', side(loser));
      }
      li.append(el('span', { class: 'when', text: time(r.at) + ' \u00B7 ' + r.map + ' \u00B7 ' + (r.source === 'replay' ? 'from the replay' : r.state === 'aborted' ? 'aborted' : 'reported') }));
      return li;
    }));
    setState('#results-state', results.length ? '' : 'No results yet.');
  } catch (e) {
    setState('#results-state', 'Could not load the results: ' + e.message, true);
  }
}

const dead = { cursors: [null], index: 0, pageSize: 25 };

async function retry(jobId, button) {
  button.disabled = true;
  try {
    await getJson('/api/jobs/' + encodeURIComponent(jobId) + '/retry', { method: 'POST' });
    $('#queue-note').textContent = 'job ' + jobId + ' queued again';
  } catch (e) {
    $('#queue-note').textContent = 'retry failed: ' + e.message;
  }
  await loadQueue();
}

async function loadQueue() {
  try {
    const after = dead.cursors[dead.index];
    const query = new URLSearchParams({ pageSize: String(dead.pageSize) });
    if (after != null) query.set('after', String(after));
    const [counts, active, deadPage] = await Promise.all([
      getJson('/api/jobs'), getJson('/api/jobs/active'), getJson('/api/jobs/dead?' + query)]);
    $('#dead-prev').disabled = dead.index === 0;
    $('#dead-next').disabled = deadPage.nextAfter === null;
    dead.cursors[dead.index + 1] = deadPage.nextAfter;
    if (changed('counts', counts)) {
      $('#queue-counts').replaceChildren(...Object.entries(counts.byState).map(([name, count]) =>
        el('div', { 'data-state': name }, el('dt', { text: jobStateLabels[name] || name }), el('dd', { text: String(count) }))));
    }

    // Redrawn on every refresh: the time to the next retry counts down.
    const activeRows = [...active.running, ...active.retrying];
    $('#active-jobs tbody').replaceChildren(...activeRows.map((job) => el('tr', { 'data-job-id': job.id },
      cell(job.id, 'num', 'Job'), cell(job.label, 'wide'), cell(jobStatus(job), 'reason wide'))));
    const more = (active.runningCount + active.retryingCount) - activeRows.length;
    setState('#active-state', activeRows.length === 0 ? 'Nothing running or waiting for a retry.' : more > 0 ? '... and ' + more + ' more' : '');

    if (!changed('dead', [deadPage, dead.index])) return;
    $('#dead-jobs tbody').replaceChildren(...deadPage.jobs.map((job) => {
      const button = el('button', { type: 'button', class: 'retry', text: 'Retry' });
      button.addEventListener('click', () => retry(job.id, button));
      return el('tr', { 'data-job-id': job.id }, cell(job.id, 'num', 'Job'), cell(job.label, 'wide'),
        cell(job.attempts + ' of ' + job.maxAttempts, 'num', 'Attempts'), cell(job.reason, 'reason wide'), cell(button));
    }));
    const start = dead.index * dead.pageSize;
    $('#dead-info').textContent = deadPage.total === 0 ? '' : (deadPage.jobs.length === 0 ? 'no more'
      : (start + 1) + '\u2013' + (start + deadPage.jobs.length) + ' of ' + deadPage.total);
    setState('#dead-state', deadPage.total === 0 ? 'No dead jobs.' : deadPage.jobs.length === 0 ? 'This page is empty now: go back.' : '');
  } catch (e) {
    $('#queue-note').textContent = 'queue: ' + e.message;
  }
}

// The hosts sharing this ladder (their heartbeat rows): a SQLite host is a cluster of one.
async function loadCluster() {
  try {
    const cluster = await getJson('/api/cluster');
    // Redrawn on every refresh only when something but the heartbeat times changed.
    const key = cluster.hosts.map((h) => [h.name, h.alive, h.self, h.workers, h.busyWorkers, h.running.map((r) => r.jobId)]);
    if (!changed('cluster', [key, cluster.queue, cluster.database])) return;
    const alive = cluster.hosts.filter((h) => h.alive).length;
    $('#cluster-note').replaceChildren(alive + (alive === 1 ? ' host' : ' hosts') + ' on ', ...breakAfterSlashes(cluster.database),
      '. Every answer names the host that served it; open another host to see the same ladder.');
    $('#cluster-hosts').replaceChildren(...cluster.hosts.map((h) => el('li',
      { class: 'host' + (h.alive ? ' alive' : ' gone') + (h.self ? ' self' : ''), 'data-host': h.name },
      el('a', { href: h.url + '/', text: h.name }),
      el('span', { class: 'badge', text: h.self ? 'this host' : (h.alive ? 'up' : 'gone') }),
      el('span', { class: 'detail', text: h.alive
        ? 'pid ' + h.processId + ', ' + h.workers + (h.workers === 1 ? ' worker (' : ' workers (') + h.busyWorkers + ' busy), '
          + (h.running.length === 0 ? 'no job running' : 'running ' + h.running.map((r) => 'job ' + r.jobId + ' (' + r.label + ')').join(', '))
        : 'last seen ' + time(h.seenAt) + ' (pid ' + h.processId + ')' }))));
    const q = cluster.queue;
    $('#cluster-queue').textContent = q.ready + ' ready, ' + q.running + ' running, ' + q.failed + ' retrying, '
      + q.dead + ' dead, ' + q.succeeded + ' done';
    setState('#cluster-state', cluster.hosts.length === 0 ? 'No host has registered yet.' : '');
  } catch (e) {
    setState('#cluster-state', 'Could not load the cluster: ' + e.message, true);
  }
}

async function loadWorkers() {
  try {
    const [pool, processes, incidents] = await Promise.all([
      getJson('/api/workers'), getJson('/api/workers/processes'), getJson('/api/workers/incidents')]);
    if (!changed('workers', [pool, processes, incidents])) return;
    $('#worker-processes').textContent = (processes.processIds.length === 0 ? 'No worker process is running.'
      : 'Worker processes: ' + processes.processIds.join(', ') + '.' + ' (Every live one: serving, spare, starting or exiting.)')
      + (processes.spareProcessId ? ' Warm spare: ' + processes.spareProcessId + '.' : '')
      + (processes.lastStartError ? ' Last start failed: ' + processes.lastStartError : '');
    $('#worker-stats').replaceChildren(...Object.entries(pool).map(([name, value]) =>
      el('div', { 'data-stat': name }, el('dt', { text: workerLabels[name] || name }),
        el('dd', { text: name === 'breakerOpen' ? (value ? 'yes' : 'no') : String(value) }))));
    $('#worker-incidents').replaceChildren(...incidents.map((i) => el('li', { 'data-kind': i.kind },
      el('strong', { text: i.kind === 'timeout' ? 'Timed out' : 'Crashed' }),
      (i.replay ? ': ' + i.replay : '') + (i.workerProcessId ? ', worker ' + i.workerProcessId : '') + ', ' + i.detail,
      el('span', { class: 'when', text: time(i.at) }))));
    setState('#incidents-state', incidents.length ? '' : 'None since this host started.');
  } catch (e) {
    setState('#incidents-state', 'Could not load the pool: ' + e.message, true);
  }
}

function startFrontPage() {
  $('#front-page').hidden = false;
  let typing;
  $('#name-search').addEventListener('input', (e) => {
    clearTimeout(typing);
    typing = setTimeout(() => { board.name = e.target.value.trim(); board.page = 1; loadLeaderboard(); }, 250);
  });
  $('#filters').addEventListener('submit', (e) => e.preventDefault());
  $('#race-filter').addEventListener('change', (e) => { board.race = e.target.value; board.page = 1; loadLeaderboard(); });
  $('#country-filter').addEventListener('change', (e) => { board.country = e.target.value; board.page = 1; loadLeaderboard(); });
  $('#prev-page').addEventListener('click', () => { if (board.page > 1) { board.page--; loadLeaderboard(); } });
  $('#next-page').addEventListener('click', () => { if (board.page < board.pages) { board.page++; loadLeaderboard(); } });
  for (const button of document.querySelectorAll('#leaderboard button.sort')) {
    button.addEventListener('click', () => {
      const column = button.dataset.sort;
      if (board.sort === column) board.dir = board.dir === 'asc' ? 'desc' : 'asc';
      else { board.sort = column; board.dir = numericColumns.has(column) ? 'desc' : 'asc'; }
      board.page = 1;
      loadLeaderboard();
    });
  }
  $('#dead-prev').addEventListener('click', () => { if (dead.index > 0) { dead.index--; loadQueue(); } });
  $('#dead-next').addEventListener('click', () => { if (dead.cursors[dead.index + 1] != null) { dead.index++; loadQueue(); } });
  return [loadLeaderboard, () => loadCountries().catch(() => {}), loadCluster, loadResults, loadQueue, loadWorkers];
}

// ---- Player page -------------------------------------------------------------------------------------------------

const player = { id: 0, page: 1, pages: 1, series: [] };

async function loadPlayer() {
  try {
    const data = await getJson('/api/players/' + player.id + '/history?page=' + player.page);
    player.pages = Math.max(1, Math.ceil(data.totalMatches / data.pageSize));
    $('#matches-prev').disabled = player.page <= 1;
    $('#matches-next').disabled = player.page >= player.pages;
    if (!changed('player', data)) return;
    document.title = data.player.name + ' \u00B7 Ladder';
    setState('#player-state', '');
    $('#player-body').hidden = false;
    $('#player-name').textContent = data.player.name;
    $('#player-meta').textContent = data.player.country + ' \u00B7 ' + data.totalMatches + (data.totalMatches === 1 ? ' match' : ' matches');
    $('#player-ratings').replaceChildren(...data.ratings.map((r) => el('li', { 'data-race': r.race },
      raceSpan(r.race), el('span', { class: 'rating', text: String(r.rating) }),
      r.wins + '-' + r.losses + ' in ' + r.games + (r.games === 1 ? ' game' : ' games'))));
    if (data.ratings.length === 0) $('#player-ratings').append(el('li', { class: 'state', text: 'No rated games yet.' }));
    player.series = data.series;
    renderChart();
    $('#player-matches tbody').replaceChildren(...data.matches.map((m) => el('tr', { 'data-match-id': m.id },
      cell('#' + m.id + ' ' + dateTime(m.at), 'wide'), cell(raceSpan(m.race), null, 'as'),
      cell(el('span', {}, playerLink(m.opponentId, m.opponentName), ' ', raceSpan(m.opponentRace)), null, 'vs'),
      cell(m.result, m.result), cell(signed(m.change), 'num', 'Change'), cell(m.ratingAfter ?? '', 'num', 'Rating after'),
      cell(m.replay ? jobStatus(m.replay) : m.result === 'pending' ? 'no replay yet' : 'reported, no replay', 'reason', 'Replay'))));
    $('#matches-info').textContent = data.totalMatches === 0 ? '' : 'page ' + data.page + ' of ' + player.pages;
    setState('#matches-state', data.totalMatches === 0 ? 'No matches yet.' : '');
    document.body.dataset.playerLoaded = 'true';
  } catch (e) {
    $('#player-body').hidden = true;
    setState('#player-state', e.status === 404 ? e.message : 'Could not load the player: ' + e.message, true);
  }
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Round steps for the axes: 1, 2 or 5 times a power of ten, about `count` of them over `span`.
function niceStep(span, count) {
  const raw = Math.max(span, 1) / Math.max(count, 1);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
}

// The rating after each rated game, one line per race, drawn to the chart's real width (so the text stays legible
// on a phone) and redrawn when the width changes.
function renderChart() {
  const container = $('#rating-chart');
  const points = player.series.flatMap((s) => s.points);
  const legend = $('#chart-legend');
  if (points.length === 0) {
    container.replaceChildren(el('p', { class: 'state', text: 'No rated games yet: the chart starts with the first.' }));
    legend.replaceChildren();
    return;
  }
  const width = Math.max(260, Math.floor(container.clientWidth || 600));
  const height = Math.round(Math.min(320, Math.max(190, width * 0.42)));
  const m = { left: 46, right: 14, top: 12, bottom: 40 };
  const games = points.map((p) => p.game);
  const ratings = points.map((p) => p.rating);
  const [gMin, gMax] = [Math.min(...games), Math.max(...games)];
  const yStep = niceStep(Math.max(...ratings) - Math.min(...ratings) + 20, Math.max(2, Math.floor((height - m.top - m.bottom) / 45)));
  const [yMin, yMax] = [Math.floor((Math.min(...ratings) - 5) / yStep) * yStep, Math.ceil((Math.max(...ratings) + 5) / yStep) * yStep];
  const [x0, x1] = gMin === gMax ? [gMin - 1, gMax + 1] : [gMin, gMax];
  const x = (g) => m.left + (g - x0) / (x1 - x0) * (width - m.left - m.right);
  const y = (r) => height - m.bottom - (r - yMin) / (yMax - yMin) * (height - m.top - m.bottom);

  const root = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, width, height, role: 'img',
    'aria-label': 'Rating after each rated game, per race' });
  for (let r = yMin; r <= yMax; r += yStep) {
    root.append(svg('line', { class: 'grid', x1: m.left, x2: width - m.right, y1: y(r), y2: y(r) }),
      svg('text', { x: m.left - 6, y: y(r) + 4, 'text-anchor': 'end' }, String(r)));
  }
  const xStep = Math.max(1, niceStep(x1 - x0, Math.max(1, Math.floor((width - m.left - m.right) / 70))));
  for (let g = Math.ceil(x0 / xStep) * xStep; g <= x1; g += xStep) {
    if (g < 1) continue;
    root.append(svg('text', { x: x(g), y: height - m.bottom + 16, 'text-anchor': 'middle' }, String(g)));
  }
  root.append(svg('text', { x: (m.left + width - m.right) / 2, y: height - 4, 'text-anchor': 'middle' }, 'rated games of this player'),
    svg('line', { class: 'axis', x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom }),
    svg('line', { class: 'axis', x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom }));
  for (const series of player.series) {
    const color = getComputedStyle(document.documentElement).getPropertyValue('--' + series.race).trim() || '#555';
    root.append(svg('polyline', { stroke: color, points: series.points.map((p) => x(p.game) + ',' + y(p.rating)).join(' '), 'data-race': series.race }));
    for (const p of series.points) {
      const dot = svg('circle', { class: 'point', cx: x(p.game), cy: y(p.rating), r: 3.5, fill: color, 'data-race': series.race, 'data-match-id': p.matchId });
      dot.append(svg('title', {}, 'Game ' + p.game + ' (' + series.race + ') vs ' + p.opponentName + ': ' + signed(p.change) + ' \u2192 ' + p.rating));
      root.append(dot);
    }
  }
  container.replaceChildren(root);
  legend.replaceChildren(...player.series.map((s) => el('li', {}, raceSpan(s.race),
    ' ' + s.points.length + (s.points.length === 1 ? ' game, now ' : ' games, now ') + s.points[s.points.length - 1].rating)));
}

function startPlayerPage(id) {
  player.id = id;
  $('#player-page').hidden = false;
  $('#matches-prev').addEventListener('click', () => { if (player.page > 1) { player.page--; loadPlayer(); } });
  $('#matches-next').addEventListener('click', () => { if (player.page < player.pages) { player.page++; loadPlayer(); } });
  let resizing;
  let lastWidth = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      const width = $('#rating-chart').clientWidth;
      if (width !== lastWidth) { lastWidth = width; renderChart(); }
    }, 100);
  });
  return [loadPlayer];
}

// ---- Start -------------------------------------------------------------------------------------------------------

const playerPath = location.pathname.match(/^\/players\/(\d+)\/?$/);
const panels = playerPath ? startPlayerPage(Number(playerPath[1])) : startFrontPage();
const refresh = () => { for (const load of panels) load(); };
refresh();
setInterval(refresh, REFRESH_MS);
