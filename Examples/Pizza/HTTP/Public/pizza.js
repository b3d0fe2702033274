'use strict';
// The pizza page: the menu, an order form, and this customer's orders moving through their statuses
// (read again, with ?after=, whenever the live feed shows a pizza event).
(() => {
  const $ = (selector) => document.querySelector(selector);
  // Identification, not authentication: a random id kept in this browser.
  let customer = localStorage.getItem('pizza-customer-id');
  if (!customer || !/^[A-Za-z0-9_.-]{1,64}$/.test(customer)) {
    customer = `c-${Math.random().toString(36).slice(2, 12)}`;
    localStorage.setItem('pizza-customer-id', customer);
  }
  $('#customer-id').textContent = customer;
  let knownPosition = 0;
  let timer = null;

  function option(select, value, text) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = text;
    select.append(o);
  }

  async function loadMenu() {
    const menu = await (await fetch('/pizza/menu')).json();
    for (const [id, items] of [['sauce', menu.sauces], ['cheese', menu.cheeses], ['main_topping', menu.main_toppings]]) {
      const select = document.getElementById(id);
      option(select, '', 'none');
      for (const item of items) option(select, item, item);
      select.selectedIndex = items.length ? 1 : 0;
    }
    for (const item of menu.extra_toppings) {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.name = 'extra';
      box.value = item;
      label.append(box, item);
      $('#extra_toppings').append(label);
    }
  }

  async function refresh() {
    const after = knownPosition > 0 ? `?after=${knownPosition}` : '';
    try {
      const orders = await (await fetch(`/pizza/customers/${encodeURIComponent(customer)}/orders${after}`)).json();
      $('#orders').replaceChildren(...orders.map((order) => {
        const li = document.createElement('li');
        li.dataset.order = order.order_id;
        const what = [order.sauce, order.cheese, order.main_topping, ...order.extra_toppings].filter(Boolean).join(', ') || 'nothing';
        const status = document.createElement('span');
        status.className = `status status-${order.status}`;
        status.textContent = order.status.replaceAll('_', ' ');
        li.append(status, ` ${what}`);
        if (order.reasons) {
          const reasons = document.createElement('div');
          reasons.className = 'reasons';
          reasons.textContent = order.reasons.join('; ');
          li.append(reasons);
        }
        return li;
      }));
      document.body.dataset.ready = 'true';
    } catch (_) { /* the next event reads again */ }
  }

  function scheduleRefresh() {
    if (timer) return;
    timer = setTimeout(() => { timer = null; refresh(); }, 60);
  }

  $('#order-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const body = {
      customer_id: customer, sauce: form.get('sauce') || '', cheese: form.get('cheese') || '',
      main_topping: form.get('main_topping') || '', extra_toppings: form.getAll('extra'),
    };
    const response = await fetch('/pizza/orders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await response.json();
    if (response.status === 202) {
      $('#outcome').textContent = 'Ordered: the kitchen checks it against the menu now.';
      knownPosition = Math.max(knownPosition, answer.position);
      refresh();
    } else {
      $('#outcome').textContent = answer.error || `refused (${response.status})`;
    }
  });

  // The shared live feed (/chronicle/live.js): from the position shown, or the server's head.
  function connectLive() {
    ChronicleLive.follow({
      categories: ['pizza'],
      after: () => knownPosition,
      onOpen: refresh,
      onPosition: (position) => { knownPosition = Math.max(knownPosition, position); },
      onEvent: scheduleRefresh,
      onStatus: (text) => { $('#live-status').textContent = text; },
    });
  }

  loadMenu().then(refresh);
  connectLive();
})();
