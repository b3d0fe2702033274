'use strict';
// The bank page: commands go to POST /commands/:type; the tables read /bank/accounts and
// /bank/transfers, read again (with ?after=) whenever the live feed shows a bank event.
(() => {
  const $ = (selector) => document.querySelector(selector);
  let knownPosition = 0;
  let timer = null;

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows.map((cells) => {
      const tr = document.createElement('tr');
      tr.append(...cells);
      return tr;
    }));
  }

  async function refresh() {
    const after = knownPosition > 0 ? `?after=${knownPosition}` : '';
    try {
      const [accounts, transfers] = await Promise.all([
        fetch(`/bank/accounts${after}`).then((r) => r.json()),
        fetch(`/bank/transfers${after}`).then((r) => r.json()),
      ]);
      fill($('#accounts tbody'), (accounts.accounts || []).map((a) => {
        const row = [cell(a.account_id), cell(a.balance, 'amount')];
        row[0].dataset.account = a.account_id;
        return row;
      }));
      fill($('#transfers tbody'), (transfers.transfers || []).map((t) => [
        cell(t.transfer_id), cell(t.from_account_id), cell(t.to_account_id), cell(t.amount, 'amount'),
        cell(t.status.replace('_', ' ') + (t.reason && t.status !== 'completed' ? ` (${t.reason})` : ''), `status status-${t.status}`),
      ]));
      document.body.dataset.ready = 'true';
    } catch (_) { /* the next event or reconnect reads again */ }
  }

  function scheduleRefresh() {
    if (timer) return;
    timer = setTimeout(() => { timer = null; refresh(); }, 60);
  }

  async function send(type, body) {
    const outcome = $('#outcome');
    try {
      const response = await fetch(`/commands/${type}`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (response.ok) {
        outcome.className = 'accepted';
        outcome.textContent = `${type}: accepted (${answer.events.join(', ') || 'nothing new'})`;
        if (answer.position) knownPosition = Math.max(knownPosition, answer.position);
        refresh();
      } else {
        outcome.className = 'rejected';
        outcome.textContent = `${type}: ${answer.error || response.status}`;
      }
    } catch (error) {
      outcome.className = 'rejected';
      outcome.textContent = `${type}: ${error}`;
    }
  }

  function fields(form) {
    return Object.fromEntries(new FormData(form).entries());
  }

  $('#create-form').addEventListener('submit', (e) => {
    e.preventDefault();
    send('CreateAccount', fields(e.target));
  });
  $('#money-form').addEventListener('submit', (e) => {
    e.preventDefault();
    send(e.submitter ? e.submitter.value : 'DepositMoney', fields(e.target));
  });
  $('#transfer-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const id = (crypto.randomUUID ? crypto.randomUUID() : `t-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    send('TransferMoney', { transfer_id: id, ...fields(e.target) });
  });

  // The shared live feed (/chronicle/live.js): from the position shown, or the server's head.
  function connectLive() {
    ChronicleLive.follow({
      categories: ['account', 'transfer'],
      after: () => knownPosition,
      onOpen: refresh,
      onPosition: (position) => { knownPosition = Math.max(knownPosition, position); },
      onEvent: scheduleRefresh,
      onStatus: (text) => { $('#live-status').textContent = text; },
    });
  }

  refresh();
  connectLive();
})();
