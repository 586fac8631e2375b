// DOM helpers. Every piece of text goes in through textContent or a Text
// node; nothing here (or anywhere in the app) parses HTML from data.

// h builds an element. props: "class", "text", "on<event>" handlers, "dataset"
// (object), boolean/DOM properties (value, checked, disabled, ...) and any other
// attribute via setAttribute. children: nodes, strings (as text), arrays,
// null/undefined/false (skipped).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in PROPS) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

// Properties set as DOM properties rather than attributes (read-only table).
const PROPS = { value: 1, checked: 1, disabled: 1, selected: 1, hidden: 1, required: 1, readOnly: 1 };

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// clear removes all children of el and appends the given ones.
export function clear(el, ...children) {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, children);
  return el;
}

// toast shows a short message in the corner; kind is "ok" or "error".
export function toast(message, kind = 'ok') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', text: message });
  box.appendChild(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 3000);
}

// copyButton copies text to the clipboard when clicked.
export function copyButton(getText, label = 'Copy') {
  const b = h('button', { class: 'btn btn-small', type: 'button', text: label });
  b.addEventListener('click', async () => {
    const text = typeof getText === 'function' ? getText() : getText;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API needs a secure context; fall back to a selected textarea.
      const ta = h('textarea', { class: 'offscreen', readOnly: true, value: text });
      document.body.appendChild(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    b.textContent = 'Copied';
    setTimeout(() => { b.textContent = label; }, 1200);
  });
  return b;
}

// secretField shows a masked secret with Show and Copy buttons.
export function secretField(value, label) {
  const input = h('input', { class: 'mono secret', type: 'password', readOnly: true, value, 'aria-label': label });
  const show = h('button', { class: 'btn btn-small', type: 'button', text: 'Show' });
  show.addEventListener('click', () => {
    const hidden = input.type === 'password';
    input.type = hidden ? 'text' : 'password';
    show.textContent = hidden ? 'Hide' : 'Show';
  });
  return h('div', { class: 'field-row' }, input, show, copyButton(() => input.value));
}

// modal opens a <dialog> with a title, body nodes and footer buttons. It
// returns {el, close}; the dialog is removed from the document when closed.
export function modal(title, body, footer = []) {
  const dlg = h('dialog', { class: 'modal', 'aria-label': title },
    h('header', { class: 'modal-head' },
      h('h2', { text: title }),
      h('button', { class: 'btn btn-icon', type: 'button', 'aria-label': 'Close', text: '\u00d7', onclick: () => close() })),
    h('div', { class: 'modal-body' }, body),
    footer.length ? h('footer', { class: 'modal-foot' }, footer) : null);
  const close = () => { if (dlg.open) dlg.close(); };
  dlg.addEventListener('close', () => dlg.remove());
  document.body.appendChild(dlg);
  dlg.showModal();
  return { el: dlg, close };
}

// confirmDialog resolves true when the user confirms.
export function confirmDialog(title, message, okLabel = 'Delete') {
  return new Promise((resolve) => {
    let answer = false;
    const ok = h('button', { class: 'btn btn-danger', type: 'button', text: okLabel });
    const cancel = h('button', { class: 'btn', type: 'button', text: 'Cancel' });
    const m = modal(title, h('p', { text: message }), [cancel, ok]);
    ok.addEventListener('click', () => { answer = true; m.close(); });
    cancel.addEventListener('click', () => m.close());
    m.el.addEventListener('close', () => resolve(answer));
  });
}

// badge renders a state word with a colour class chosen from its meaning;
// label, when given, is shown instead of the word.
export function badge(text, label) {
  const t = String(text || 'Unknown');
  const l = t.toLowerCase();
  let kind = 'neutral';
  if (/^(succeeded|online|generallyavailable|generally available|ga|enabled|ready|true)$/.test(l)) kind = 'ok';
  else if (/(fail|retired|error|suspended)/.test(l)) kind = 'bad';
  else if (/(creating|updating|deleting|preview|legacy|pending|reinstating|suspending)/.test(l)) kind = 'warn';
  else if (/deprecated/.test(l)) kind = 'bad';
  return h('span', { class: `badge badge-${kind}`, text: label || t });
}

// spinner is a small inline loading indicator with a label for screen readers.
export function spinner(label = 'Loading') {
  return h('span', { class: 'spinner', role: 'status', 'aria-label': label });
}

// emptyState is the placeholder shown when a list has nothing to show.
export function emptyState(title, detail, ...actions) {
  return h('div', { class: 'empty' }, h('h3', { text: title }), detail ? h('p', { text: detail }) : null, actions);
}

// errorBox renders an error (ApiError or Error) inline.
export function errorBox(err) {
  const code = err && err.code ? `${err.code}: ` : '';
  return h('div', { class: 'alert alert-error', role: 'alert', text: code + (err && err.message ? err.message : String(err)) });
}
