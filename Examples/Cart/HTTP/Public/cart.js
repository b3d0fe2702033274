'use strict';
// The cart page: commands to /cart/:cart_id/…; the warehouse's and marketing's views side by side,
// read again (with ?after=) whenever the live feed shows a cart event.
(() => {
  const $ = (selector) => document.querySelector(selector);
  let knownPosition = 0;
  let timer = null;
  $('#cart-id').value = `cart-${Math.random().toString(36).slice(2, 8)}`;

  function items(list, texts) {
    list.replaceChildren(...texts.map((text) => {
      const li = document.createElement('li');
      li.textContent = text;
      return li;
    }));
  }

  async function refresh() {
    const after = knownPosition > 0 ? `?after=${knownPosition}` : '';
    try {
      const [orders, removed] = await Promise.all([
        fetch(`/cart/warehouse/orders${after}`).then((r) => r.json()),
        fetch(`/cart/marketing/removed-items${after}`).then((r) => (r.ok ? r.json() : [])),
      ]);
      items($('#warehouse'), orders.map((o) => `${o.cart_id}: ${o.lines.map((l) => `${l.quantity} × ${l.product_id}`).join(', ')}`));
      items($('#marketing'), removed.map((r) => `${r.product_id}: removed ${r.count} time${r.count === 1 ? '' : 's'}`));
      document.body.dataset.ready = 'true';
    } catch (_) { /* the next event reads again */ }
  }

  function scheduleRefresh() {
    if (timer) return;
    timer = setTimeout(() => { timer = null; refresh(); }, 60);
  }

  $('#cart-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const action = e.submitter ? e.submitter.value : 'add';
    const cart = encodeURIComponent($('#cart-id').value);
    const product = $('#product-id').value;
    let response;
    if (action === 'add') {
      response = await fetch(`/cart/${cart}/items`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ product_id: product, quantity: Number($('#quantity').value) }),
      });
    } else if (action === 'remove') {
      response = await fetch(`/cart/${cart}/items/${encodeURIComponent(product)}`, { method: 'DELETE' });
    } else {
      response = await fetch(`/cart/${cart}/checkout`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    }
    const answer = await response.json();
    const outcome = $('#outcome');
    outcome.className = response.ok ? 'accepted' : 'rejected';
    outcome.textContent = response.ok ? `${action}: ${answer.events.join(', ')}` : `${action}: ${answer.error}`;
    if (response.ok && answer.position) knownPosition = Math.max(knownPosition, answer.position);
    refresh();
  });

  // The shared live feed (/chronicle/live.js): from the position shown, or the server's head.
  function connectLive() {
    ChronicleLive.follow({
      categories: ['cart'],
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
