// The ladder page: plain JavaScript over the JSON API under /api.
'use strict';

const state = { race: '', country: '', page: 1, pages: 1 };

const $ = (selector) => document.querySelector(selector);

// Re-render a section only when its data changed: no flicker, and a button is not replaced under the pointer.
const shown = {};
function changed(section, data) {
  const json = JSON.stringify(data);
  if (shown[section] === json) return false;
  shown[section] = json;
  return true;
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

async function getJson(url, init) {
  const response = await fetch(url, init);
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error((body && (body.detail || body.title)) || response.statusText);
  return body;
}

async function loadLeaderboard() {
  const query = new URLSearchParams({ page: String(state.page) });
  if (state.race) query.set('race', state.race);
  if (state.country) query.set('country', state.country);
  const tbody = $('#leaderboard tbody');
  try {
    const board = await getJson('/api/leaderboard?' + query);
    state.pages = Math.max(1, Math.ceil(board.total / board.pageSize));
    if (!changed('leaderboard', board)) return;
    tbody.replaceChildren(...board.rows.map((row) => {
      const tr = document.createElement('tr');
      tr.dataset.playerId = row.playerId;
      tr.append(cell(row.rank, 'num'), cell(row.name), cell(row.country), cell(row.race),
        cell(row.rating, 'num'), cell(row.games, 'num'), cell(row.wins + '-' + row.losses));
      return tr;
    }));
    $('#page-info').textContent = 'page ' + board.page + ' of ' + state.pages + ' (' + board.total + ' rows)';
    $('#leaderboard-note').textContent = board.stale ? 'showing the last good value while it refreshes' : '';
    document.body.dataset.leaderboardLoaded = 'true';
  } catch (e) {
    $('#leaderboard-note').textContent = 'leaderboard: ' + e.message;
  }
}

async function loadCountries() {
  const countries = await getJson('/api/countries');
  const select = $('#country-filter');
  for (const code of countries) {
    const option = document.createElement('option');
    option.value = code;
    option.textContent = code;
    select.append(option);
  }
}

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
    const [counts, dead] = await Promise.all([getJson('/api/jobs'), getJson('/api/jobs/dead')]);
    if (!changed('queue', [counts, dead])) return;
    $('#queue-counts tbody').replaceChildren(...Object.entries(counts.byState).map(([name, count]) => {
      const tr = document.createElement('tr');
      tr.dataset.state = name;
      tr.append(cell(name), cell(count, 'num'));
      return tr;
    }));
    $('#dead-jobs tbody').replaceChildren(...dead.map((job) => {
      const tr = document.createElement('tr');
      tr.dataset.jobId = job.id;
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'retry';
      button.textContent = 'Retry';
      button.addEventListener('click', () => retry(job.id, button));
      const action = document.createElement('td');
      action.append(button);
      tr.append(cell(job.id), cell((job.replayHash || '').slice(0, 12)), cell(job.attempts, 'num'), cell(job.reason, 'reason'), action);
      return tr;
    }));
  } catch (e) {
    $('#queue-note').textContent = 'queue: ' + e.message;
  }
}

async function loadWorkers() {
  try {
    const pool = await getJson('/api/workers');
    if (!changed('workers', pool)) return;
    $('#worker-stats tbody').replaceChildren(...Object.entries(pool).map(([name, value]) => {
      const tr = document.createElement('tr');
      tr.append(cell(name), cell(value, 'num'));
      return tr;
    }));
  } catch (e) {
    $('#worker-stats tbody').replaceChildren(cell('workers: ' + e.message, 'error'));
  }
}

$('#race-filter').addEventListener('change', (e) => { state.race = e.target.value; state.page = 1; loadLeaderboard(); });
$('#country-filter').addEventListener('change', (e) => { state.country = e.target.value; state.page = 1; loadLeaderboard(); });
$('#prev-page').addEventListener('click', () => { if (state.page > 1) { state.page--; loadLeaderboard(); } });
$('#next-page').addEventListener('click', () => { if (state.page < state.pages) { state.page++; loadLeaderboard(); } });

loadCountries().catch(() => {});
loadLeaderboard();
loadQueue();
loadWorkers();
setInterval(() => { loadLeaderboard(); loadQueue(); loadWorkers(); }, 3000);
